"""edge-mesu: lifelong on-device learning with MESU, in float and fixed point."""

from __future__ import annotations

from .errors import BudgetExceededError, EdgeMesuError, StateFileError
from .fixed import FixedMESULearner, QFormat, Rounding
from .mesu import MESULearner
from .mesu_rule import MESUConfig, mesu_update
from .pipeline import SensorPipeline
from .sgd import SGDLearner
from .uncertainty import Uncertainty

__all__ = ["BudgetExceededError", "EdgeMesuError", "FixedMESULearner", "MESUConfig", "MESULearner", "QFormat",
           "Rounding", "SensorPipeline", "SGDLearner", "StateFileError", "Uncertainty", "mesu_update"]
__version__ = "0.1.0"
