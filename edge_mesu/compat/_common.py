"""What both adapters share: the hyper-parameters they pass on and the construction of the inner learner.

Only the public learner API is used (constructor, ``learn_one``, ``predict_proba``, ``uncertainty``,
``state_nbytes``), so this module neither imports river nor scikit-learn.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..presets import PRESETS
from ..registry import make_learner

__all__ = ["LEARNERS", "DEFAULTS", "PRESET", "build_learner", "check_hidden", "is_real"]

#: the adapters' learner= values and the registry's variant each one builds
LEARNERS = {"float": "mesu", "fixed": "fixed"}
#: one configuration for every small tabular stream (docs/ecosystem.md says how it was chosen): the
#: ``"tabular"`` preset, and one hidden layer of 32
PRESET = "tabular"
_P = PRESETS[PRESET]
DEFAULTS: dict[str, Any] = {
    "hidden": (32,),
    "N": _P.rule.N,
    "sigma_init": _P.options.sigma_init,
    "sigma_prior": _P.rule.sigma_prior,
    "train_samples": _P.options.train_samples,
    "predict_samples": _P.options.predict_samples,
}


def check_hidden(hidden: object) -> tuple[int, ...]:
    """The hidden layer widths as a tuple of positive ints (``()`` means no hidden layer)."""
    items: Any = (hidden,) if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool) else hidden
    try:
        sizes = tuple(int(h) for h in items)
    except (TypeError, ValueError):
        raise ValueError(f"hidden must be an int or a sequence of ints, got {hidden!r}") from None
    if any(s < 1 for s in sizes) or any(isinstance(h, bool) for h in items):
        raise ValueError(f"hidden layer widths must be integers >= 1, got {hidden!r}")
    return sizes


def build_learner(
    learner: str,
    n_in: int,
    hidden: object,
    n_out: int,
    *,
    N: float,
    sigma_init: float,
    sigma_prior: float,
    train_samples: int,
    predict_samples: int,
    seed: int,
    learner_params: dict | None,
) -> Any:
    """A fresh ``MESULearner`` (``learner="float"``) or ``FixedMESULearner`` (``"fixed"``).

    Every argument is validated here (by the learner's own constructor for the rule's hyper-parameters),
    so the adapters can store their constructor arguments unchanged and fail at the first ``learn``.
    """
    if learner not in LEARNERS:
        raise ValueError(f"learner must be one of {sorted(LEARNERS)}, got {learner!r}")
    if learner_params is not None and not isinstance(learner_params, dict):
        raise TypeError(f"learner_params must be a dict or None, got {type(learner_params).__name__}")
    extra = dict(learner_params or {})
    clash = {"layers", "N", "sigma_init", "sigma_prior", "train_samples", "predict_samples", "seed", "preset"} & set(
        extra
    )
    if clash:
        raise ValueError(f"learner_params must not repeat the adapter's own arguments: {sorted(clash)}")
    layers = (int(n_in), *check_hidden(hidden), max(int(n_out), 2))
    return make_learner(
        LEARNERS[learner],
        preset=PRESET,
        layers=layers,
        N=N,
        sigma_init=sigma_init,
        sigma_prior=sigma_prior,
        train_samples=train_samples,
        predict_samples=predict_samples,
        seed=seed,
        **extra,
    )


def is_real(value: object) -> bool:
    """True for real numbers (Python or numpy, bools included); False for strings, None, complex, ..."""
    return isinstance(value, (numbers.Real, np.bool_)) and not isinstance(value, complex)


def as_finite(value: object, key: object) -> float:
    """``float(value)`` for a finite real number, or ``TypeError``/``ValueError`` naming the feature."""
    if not is_real(value):
        raise TypeError(f"feature {key!r} must be a real number, got {type(value).__name__} {value!r}")
    v = float(value)  # type: ignore[arg-type]
    if not math.isfinite(v):
        raise ValueError(f"feature {key!r} is not finite ({v!r})")
    return v
