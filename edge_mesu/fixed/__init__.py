"""Fixed-point MESU: formats, rounding, counter-based randomness, integer kernels and the learner."""

from __future__ import annotations

from .formats import FixedFormats
from .learner import FixedMESULearner
from .plan import FixedPlan
from .qformat import QFormat, Rounding, SaturationCounter

__all__ = ["FixedFormats", "FixedMESULearner", "FixedPlan", "QFormat", "Rounding", "SaturationCounter"]
