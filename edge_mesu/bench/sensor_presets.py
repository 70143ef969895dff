"""Named hyper-parameter sets of the MESU learners, as data (what ``preset=`` selects).

``paper``: the permuted-MNIST settings the learners default to today (the papers' rule, N = 300,000,
σ_prior = 1, with the measured step guard ``ratio_max = 0.1`` and σ0 = 0.05; docs/robustness.md).
``pipeline``: what ``SensorPipeline.create`` used before the sensor study (``paper`` with σ0 = 2/√fan_in).
``sensor``: the default for sensor streams, chosen on the real recordings (docs/sensor_streams.md).
Explicit keyword arguments override a preset.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PRESETS", "learner_args"]

_PAPER: dict[str, Any] = {"N": 300_000.0, "sigma_prior": 1.0, "sigma_init": 0.05, "ratio_max": 0.1}
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {"float": dict(_PAPER), "fixed": dict(_PAPER)},
    "pipeline": {"float": {**_PAPER, "sigma_init": "paper"}, "fixed": {**_PAPER, "sigma_init": "paper"}},
    "sensor": {"float": {**_PAPER, "sigma_init": "paper"}, "fixed": {**_PAPER, "sigma_init": "paper"}},
}


def learner_args(preset: str, kind: str, **overrides: Any) -> dict[str, Any]:
    """Constructor arguments of preset ``preset`` for a ``"float"`` or ``"fixed"`` learner, then ``overrides``."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r} (known: {', '.join(sorted(PRESETS))})")
    if kind not in ("float", "fixed"):
        raise ValueError(f"kind must be 'float' or 'fixed', got {kind!r}")
    return {**PRESETS[preset][kind], **overrides}
