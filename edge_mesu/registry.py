"""The one registry of learners: state-file kinds to classes, and the short names used on the command line.

Loading a state file (:func:`edge_mesu.load_learner`), the sensor pipeline (the learner inside it), the
benchmarks and the sweeps all turn names into learners here.

- :data:`LEARNERS` — the class of each kind a state file can name (``"MESULearner"``, ...).
- :data:`VARIANTS` — short names (``mesu``, ``mesu10``, ``mesu-weights``, ``mesu-lrt``, ``fixed``,
  ``fixed-nearest``, ``fixed-c``, ``fixed-weights``, ``fixed-c-weights``, ``fixed-lrt``, ``fixed-c-lrt``,
  ``sgd``): a kind plus the constructor options that make the variant. The plain names take the learners'
  default preset (``device``: local reparameterisation); ``-weights`` names sample weights instead.

Example
-------
>>> m = make_learner("fixed-nearest", layers=(4, 3, 2), seed=1)
>>> type(m).__name__, m.rounding.value
('FixedMESULearner', 'nearest_even')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .fixed import FixedMESULearner
from .learner_base import BaseLearner
from .mesu import MESULearner
from .sgd import SGDLearner

__all__ = ["LEARNERS", "VARIANTS", "Variant", "learner_class", "make_learner"]

LEARNERS: dict[str, type[BaseLearner]] = {cls.__name__: cls for cls in (MESULearner, FixedMESULearner, SGDLearner)}


@dataclass(frozen=True)
class Variant:
    """A named learner: its kind (a key of :data:`LEARNERS`), the options that define it, a line for --help."""

    kind: str
    options: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


VARIANTS: dict[str, Variant] = {
    "mesu": Variant("MESULearner", {}, "float MESU, one pre-activation sample per update (the device preset's LRT)"),
    "mesu10": Variant(
        "MESULearner", {"train_samples": 10, "sampling": "weights"}, "float MESU, 10 weight samples (the paper's)"
    ),
    "mesu-weights": Variant("MESULearner", {"sampling": "weights"}, "float MESU, one weight sample per update"),
    "mesu-lrt": Variant(
        "MESULearner", {"sampling": "lrt"}, "float MESU, local reparameterisation (pre-activations sampled)"
    ),
    "fixed": Variant("FixedMESULearner", {}, "fixed-point MESU (numpy), the device preset's LRT"),
    "fixed-nearest": Variant(
        "FixedMESULearner", {"rounding": "nearest"}, "fixed-point MESU with round-to-nearest updates (ablation)"
    ),
    "fixed-c": Variant("FixedMESULearner", {"backend": "c"}, "fixed-point MESU in the generated C (same results)"),
    "fixed-weights": Variant(
        "FixedMESULearner", {"sampling": "weights"}, "fixed-point MESU, one weight sample per update (numpy)"
    ),
    "fixed-c-weights": Variant(
        "FixedMESULearner",
        {"sampling": "weights", "backend": "c"},
        "fixed-point MESU, one weight sample per update, in the generated C",
    ),
    "fixed-lrt": Variant(
        "FixedMESULearner", {"sampling": "lrt"}, "fixed-point MESU, local reparameterisation (numpy backend)"
    ),
    "fixed-c-lrt": Variant(
        "FixedMESULearner",
        {"sampling": "lrt", "backend": "c"},
        "fixed-point MESU, local reparameterisation, in the generated C (same results as fixed-lrt)",
    ),
    "sgd": Variant("SGDLearner", {}, "plain SGD (the forgetting baseline)"),
}


def learner_class(kind: str) -> type[BaseLearner]:
    """The learner class of a state-file kind; ``ValueError`` naming the known kinds otherwise."""
    cls = LEARNERS.get(kind)
    if cls is None:
        raise ValueError(f"unknown learner kind {kind!r}; known kinds: {', '.join(sorted(LEARNERS))}")
    return cls


def make_learner(name: str, **kwargs: Any) -> BaseLearner:
    """A learner from a variant name (:data:`VARIANTS`) or a kind (:data:`LEARNERS`); ``kwargs`` are
    constructor arguments and override the variant's options."""
    if name in VARIANTS:
        variant = VARIANTS[name]
        return LEARNERS[variant.kind](**{**variant.options, **kwargs})
    if name in LEARNERS:
        return LEARNERS[name](**kwargs)
    raise ValueError(
        f"unknown learner {name!r}; choose one of {', '.join(VARIANTS)} (or a class name: {', '.join(LEARNERS)})"
    )
