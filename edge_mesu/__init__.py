"""edge-mesu: lifelong on-device learning with MESU, in float and fixed point.

The core: learners (:class:`MESULearner`, :class:`FixedMESULearner`, :class:`SGDLearner`), the sensor
pipeline, state files, and the two contracts callers rely on (:mod:`edge_mesu.interface`): the
streaming-learner protocol and the read-only :class:`NetworkDescription` that ``export`` and
``firmware_sim`` read. Names of learners resolve in one registry (:mod:`edge_mesu.registry`).
"""

from __future__ import annotations

from .errors import BudgetExceededError, EdgeMesuError, StateFileError
from .fixed import FixedFormats, FixedMESULearner, QFormat, Rounding
from .interface import (
    Arithmetic,
    Describable,
    FixedNetwork,
    FrontEndDescription,
    NetworkDescription,
    StreamingLearner,
    describe,
)
from .loading import learner_from_bytes, load_learner
from .mesu import MESULearner
from .mesu_rule import MESUConfig, mesu_update
from .pipeline import SensorPipeline
from .presets import PRESETS, LearnerOptions, Preset
from .registry import LEARNERS, VARIANTS, learner_class, make_learner
from .sgd import SGDLearner
from .uncertainty import Uncertainty

__all__ = [
    "Arithmetic",
    "BudgetExceededError",
    "Describable",
    "EdgeMesuError",
    "FixedFormats",
    "FixedMESULearner",
    "FixedNetwork",
    "FrontEndDescription",
    "LEARNERS",
    "LearnerOptions",
    "MESUConfig",
    "MESULearner",
    "NetworkDescription",
    "PRESETS",
    "Preset",
    "QFormat",
    "Rounding",
    "SensorPipeline",
    "SGDLearner",
    "StateFileError",
    "StreamingLearner",
    "Uncertainty",
    "VARIANTS",
    "describe",
    "learner_class",
    "learner_from_bytes",
    "load_learner",
    "make_learner",
    "mesu_update",
]
__version__ = "0.1.0"
