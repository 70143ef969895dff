"""The settings of a fleet simulation, validated once, before anything runs."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from edge_mesu.registry import make_learner

__all__ = ["FleetConfig", "LEARNER_KEYS"]

#: FixedMESULearner arguments a fleet may set (all devices share them).
LEARNER_KEYS = (
    "N",
    "sigma_prior",
    "mu_prior",
    "train_samples",
    "sigma_bits",
    "sigma_per_octave",
    "rounding",
    "mu_frac",
    "sigma_init",
    "ratio_max",
)


def _int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


@dataclass(frozen=True)
class FleetConfig:
    """One fleet run: K devices of one profile, S windows each, the learner, timing and novelty settings.

    Parameters
    ----------
    devices, samples : K devices, S windows (learner inputs) per device.
    device : firmware_sim device profile (name or TOML path).
    rate : learner inputs (windows) per second, nominal; each device's sensor deviates by its rate factor.
    seed : seeds every device's stream, PRNG seed and the common initial state.
    hidden, n_classes, window : the MLP (3·window inputs, one hidden layer) and the stream's classes.
    queue : windows that may wait while one is processed (firmware_sim's queue bound).
    fuse_every : fuse the fleet's posteriors every T windows (None: never).
    fusion : ``"product"`` (product of Gaussians: every device's evidence counted once) or ``"average"``
        (the reference plus the mean change in natural parameters: tempered by 1/K).
    mi_samples : weight samples for the mutual information (novelty score).
    calib : known-class windows just before the onset used to calibrate the novelty threshold.
    mi_quantile : the threshold is this quantile of the calibration windows' mutual information.
    detect_horizon : windows after the onset in which the late class may be flagged.
    learned_accuracy, learned_run : the late class counts as learned once the last ``learned_run`` of its
        windows were predicted with at least this accuracy.
    blocks : prequential accuracy is also reported over this many equal time blocks.
    eval_every : probe evaluation (accuracy on classes a device has not seen) every this many windows.
    learner : extra FixedMESULearner arguments (keys of ``LEARNER_KEYS``).
    """

    devices: int
    samples: int
    device: str = "stm32l4"
    rate: float = 50.0
    seed: int = 0
    hidden: int = 32
    n_classes: int = 5
    window: int = 32
    queue: int = 4
    fuse_every: int | None = None
    fusion: str = "product"
    mi_samples: int = 8
    calib: int = 60
    mi_quantile: float = 0.95
    detect_horizon: int = 300
    learned_accuracy: float = 0.8
    learned_run: int = 10
    blocks: int = 10
    eval_every: int | None = None
    learner: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _int("devices", self.devices, 1)
        _int("samples", self.samples, 20)
        _int("seed", self.seed, 0)
        _int("hidden", self.hidden, 1)
        _int("window", self.window, 2)
        _int("queue", self.queue, 0)
        _int("mi_samples", self.mi_samples, 2)
        _int("calib", self.calib, 1)
        _int("learned_run", self.learned_run, 1)
        _int("blocks", self.blocks, 1)
        if not 3 <= _int("n_classes", self.n_classes, 3) <= 6:
            raise ValueError(f"n_classes must be in [3, 6], got {self.n_classes}")
        if self.fuse_every is not None:
            _int("fuse_every", self.fuse_every, 1)
        if self.fusion not in ("product", "average"):
            raise ValueError(f"fusion must be 'product' or 'average', got {self.fusion!r}")
        if self.eval_every is not None:
            _int("eval_every", self.eval_every, 1)
        if (
            isinstance(self.rate, bool)
            or not isinstance(self.rate, (int, float))
            or not (math.isfinite(self.rate) and self.rate > 0)
        ):
            raise ValueError(f"rate must be a finite number > 0, got {self.rate!r}")
        for name in ("mi_quantile", "learned_accuracy"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0 < v <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {v!r}")
        unknown = sorted(set(self.learner) - set(LEARNER_KEYS))
        if unknown:
            raise ValueError(f"unknown learner key {unknown[0]!r}; choose from {', '.join(LEARNER_KEYS)}")

    @property
    def layers(self) -> tuple[int, int, int]:
        return (3 * self.window, self.hidden, self.n_classes)

    @property
    def eval_period(self) -> int:
        return self.eval_every or max(1, self.samples // 20)

    def template(self) -> Any:
        """The learner every device starts from (seeded by ``seed``: the fleet's common initial state)."""
        return make_learner("fixed", layers=self.layers, seed=self.seed, **self.learner)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
