"""Per-device variants of the bundled sensor stream, generated deterministically from (seed, device index).

A device differs from its neighbours the way mass-produced sensors and their users do:

* **sensor**: a static per-channel gain (±10 %) and offset (±50 mg) on top of the stream's own slow gain
  and offset drift, whose size is drawn per device (``drift`` in [0, 0.3]); extra white noise (0-40 mg);
* **class mix**: Dirichlet(2) weights over the known classes, and one known class (drawn per device) the
  device never meets: what it knows of that class can only come from other devices (fusion);
* **late class**: the onset of the late class ("tremor") at a per-device fraction of the stream in
  [0.3, 0.7];
* **timing**: the sensor's output data rate deviates by ±10 % from nominal (internal RC oscillator
  tolerance of MEMS accelerometers, order of magnitude from datasheets; an estimate).

Windows are drawn from a longer :func:`edge_mesu.data.make_sensor_stream` stream of the device's own seed by
accepting each window with probability ``weight[class] / max(weight)``, keeping order; the late class is
always accepted from its onset on.

Examples
--------
>>> v = device_variant(seed=0, index=3)
>>> X, y, onset = device_stream(v, samples=120)
>>> X.shape, bool((y[:onset] != 4).all()), int(y[onset])
((120, 96), True, 4)
>>> bool(np.array_equal(device_stream(device_variant(0, 3), 120)[0], X))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge_mesu.data import make_sensor_stream

__all__ = ["DeviceVariant", "device_variant", "device_stream", "device_seed", "probe_set"]


def device_seed(seed: int, index: int) -> int:
    """The device's learner seed: 32 bits of SeedSequence([seed, index])."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


@dataclass(frozen=True)
class DeviceVariant:
    """What makes one device's stream its own (see the module docstring)."""

    index: int
    stream_seed: int
    gain: tuple[float, float, float]
    offset_g: tuple[float, float, float]
    drift: float
    noise_g: float
    class_weights: tuple[float, ...]
    missing_class: int
    late_onset: float
    rate_factor: float
    n_classes: int
    window: int


def _triple(v: np.ndarray) -> tuple[float, float, float]:
    return float(v[0]), float(v[1]), float(v[2])


def device_variant(seed: int, index: int, n_classes: int = 5, window: int = 32) -> DeviceVariant:
    """The variant of device ``index`` of a fleet seeded ``seed`` (pure function of its arguments)."""
    if not 3 <= n_classes <= 6:
        raise ValueError(f"n_classes must be in [3, 6] (two known classes at least), got {n_classes}")
    rng = np.random.default_rng([int(seed), int(index), 0x5E45])
    known = n_classes - 1
    weights = rng.dirichlet(np.full(known, 2.0))
    missing = int(rng.integers(known))
    weights[missing] = 0.0
    weights /= weights.max()
    return DeviceVariant(
        index=int(index),
        stream_seed=int(rng.integers(2**31)),
        gain=_triple(1.0 + rng.uniform(-0.1, 0.1, 3)),
        offset_g=_triple(rng.uniform(-0.05, 0.05, 3)),
        drift=float(rng.uniform(0.0, 0.3)),
        noise_g=float(rng.uniform(0.0, 0.04)),
        class_weights=tuple(float(v) for v in weights),
        missing_class=missing,
        late_onset=float(rng.uniform(0.3, 0.7)),
        rate_factor=float(1.0 + rng.uniform(-0.1, 0.1)),
        n_classes=int(n_classes),
        window=int(window),
    )


def _select(
    y: np.ndarray, onset_w: int, late: int, weights: np.ndarray, n_pre: int, n_post: int, rng: np.random.Generator
) -> np.ndarray | None:
    """Indices of accepted windows: n_pre known-class ones before the onset, then n_post from it on."""
    accept = np.ones(y.shape[0], dtype=bool)
    known = y != late
    accept[known] = rng.random(int(known.sum())) < weights[y[known]]
    pre = np.flatnonzero(accept[:onset_w] & known[:onset_w])
    post = onset_w + np.flatnonzero(accept[onset_w:])
    if pre.size < n_pre or post.size < n_post:
        return None
    return np.concatenate([pre[:n_pre], post[:n_post]])


def device_stream(variant: DeviceVariant, samples: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The device's windows ``(X float32 (samples, 3·window), y int64, onset index of the late class)``."""
    if samples < 4:
        raise ValueError(f"samples must be >= 4, got {samples}")
    n_pre = max(1, int(np.floor(variant.late_onset * samples)))
    weights = np.asarray(variant.class_weights)
    late = variant.n_classes - 1
    pool = 3 * samples
    while True:  # the pool is almost always large enough at once; doubling keeps it deterministic
        frac_pre = min(0.9, n_pre / samples * 1.0)
        s = make_sensor_stream(
            n_windows=pool,
            window=variant.window,
            n_classes=variant.n_classes,
            seed=variant.stream_seed,
            late_class_onset=frac_pre,
            drift=variant.drift,
        )
        X, y = s.windows()
        rng = np.random.default_rng([variant.stream_seed, pool])
        idx = _select(y, s.late_onset_window, late, weights, n_pre, samples - n_pre, rng)
        if idx is not None:
            break
        pool *= 2
    noise_rng = np.random.default_rng([variant.stream_seed, 0x401])
    gain = np.tile(np.asarray(variant.gain, dtype=np.float32), variant.window)
    offset = np.tile(np.asarray(variant.offset_g, dtype=np.float32), variant.window)
    Xd = X[idx] * gain + offset
    Xd += (variant.noise_g * noise_rng.standard_normal(Xd.shape)).astype(np.float32)
    return Xd.astype(np.float32), y[idx].astype(np.int64), n_pre


def probe_set(seed: int, n_classes: int = 5, window: int = 32, per_class: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """A neutral labelled probe set (no device distortion): ``per_class`` windows of every class."""
    s = make_sensor_stream(
        n_windows=max(400, 12 * per_class * n_classes),
        window=window,
        n_classes=n_classes,
        seed=int(np.random.SeedSequence([int(seed), 0x9B0BE]).generate_state(1)[0]),
        late_class_onset=0.5,
        drift=0.0,
    )
    X, y = s.windows()
    idx = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(n_classes)])
    return X[idx], y[idx]
