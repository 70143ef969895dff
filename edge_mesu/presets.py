"""Named hyper-parameter sets of the MESU learners, as data (what ``preset=`` selects).

``paper``: the permuted-MNIST settings the learners default to today (the papers' rule, N = 300,000,
σ_prior = 1, with the measured step guard ``ratio_max = 0.1`` and σ0 = 0.05; docs/robustness.md).
``pipeline``: what ``SensorPipeline.create`` used before the sensor study (``paper`` with σ0 = 2/√fan_in).
``sensor``: the default for sensor streams, chosen on the real recordings (docs/sensor_streams.md).
Explicit keyword arguments override a preset.

>>> m = make_learner("fixed", (12, 16, 3), preset="sensor", seed=0)
>>> m.config.ratio_max, m.config.lr_mu, m.sigma_init
(0.3, 2.0, 0.2)
>>> make_learner("float", (12, 16, 3), preset="sensor", N=1e4).config.N
10000.0
"""

from __future__ import annotations

from typing import Any

__all__ = ["PRESETS", "learner_args", "make_learner"]

_PAPER: dict[str, Any] = {"N": 300_000.0, "sigma_prior": 1.0, "sigma_init": 0.05, "ratio_max": 0.1}
# Chosen on the real streams (docs/sensor_streams.md): larger σ0, a looser step guard, a μ step factor of 2
# and a σ window/cap at 0.25: learns as fast as SGD's best rate on hapt and keeps far more.
_SENSOR: dict[str, Any] = {"N": 300_000.0, "sigma_prior": 1.0, "sigma_init": 0.2, "ratio_max": 0.3, "lr_mu": 2.0,
                           "sigma_max": 0.25}
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {"float": dict(_PAPER), "fixed": dict(_PAPER)},
    "pipeline": {"float": {**_PAPER, "sigma_init": "paper"}, "fixed": {**_PAPER, "sigma_init": "paper"}},
    "sensor": {"float": dict(_SENSOR), "fixed": dict(_SENSOR)},
}


def learner_args(preset: str, kind: str, **overrides: Any) -> dict[str, Any]:
    """Constructor arguments of preset ``preset`` for a ``"float"`` or ``"fixed"`` learner, then ``overrides``."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r} (known: {', '.join(sorted(PRESETS))})")
    if kind not in ("float", "fixed"):
        raise ValueError(f"kind must be 'float' or 'fixed', got {kind!r}")
    return {**PRESETS[preset][kind], **overrides}


def make_learner(kind: str, layers: tuple[int, ...] | list[int], preset: str = "sensor", **overrides: Any) -> Any:
    """A fresh ``"float"`` (:class:`edge_mesu.MESULearner`) or ``"fixed"`` (:class:`edge_mesu.FixedMESULearner`)
    learner with the arguments of ``preset``, then ``overrides`` (seed, backend, input_frac, ...)."""
    args = learner_args(preset, kind, **overrides)
    if kind == "float":
        from .mesu import MESULearner
        return MESULearner(layers=layers, **args)
    from .fixed import FixedMESULearner
    return FixedMESULearner(layers=layers, **args)
