"""Adversarial versions of a raw int16 sensor stream: what real sensors do to a learner's input.

Each corruption takes int16 samples ``(n, C)`` and a seeded generator and returns new int16 samples
(saturating at the int16 limits, like an ADC); labels are left alone. :func:`make_adversarial_stream`
applies one of ``ADVERSARIAL_KINDS`` to a :class:`~edge_mesu.data.SensorStream`:

* ``spikes``: single-sample spikes of ±``size`` standard deviations of their channel (default 8) on a
  random channel, at ``rate`` per sample (default 1 in 200);
* ``saturation``: bursts of 5-40 samples during which one channel is stuck at +32767 or −32768, covering
  about ``fraction`` of the samples (default 3 %);
* ``dead_channel``: from ``start`` (fraction of the stream, default 0.3) one channel reads a constant 0;
* ``gain_steps``: ``steps`` sudden gain changes (default 6), each multiplying one channel's gain by a
  log-uniform factor in [1/4, 4] (the cumulative gain kept within [1/8, 8]);
* ``all``: every corruption above, in that order; ``clean``: none.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .sensor import SensorStream

__all__ = ["ADVERSARIAL_KINDS", "add_spikes", "add_saturation", "kill_channel", "gain_steps", "make_adversarial_stream"]

ADVERSARIAL_KINDS = ("clean", "spikes", "saturation", "dead_channel", "gain_steps", "all")
_LO, _HI = -32768, 32767


def _as_counts(samples: object) -> np.ndarray:
    arr = np.asarray(samples)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"samples must be an integer array (n, channels), got {arr.dtype}{arr.shape}")
    return arr.astype(np.float64)


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), _LO, _HI).astype(np.int16)


def add_spikes(samples: object, rng: np.random.Generator, rate: float = 0.005, size: float = 8.0) -> np.ndarray:
    """Single-sample spikes of ±``size`` channel standard deviations at ``rate`` per sample.

    >>> x = np.zeros((1000, 2), dtype=np.int16); x[:, 0] = np.arange(1000) % 7
    >>> int((add_spikes(x, np.random.default_rng(0)) != x).any(axis=1).sum()) > 0
    True
    """
    x = _as_counts(samples)
    hit = np.flatnonzero(rng.random(x.shape[0]) < rate)
    chan = rng.integers(0, x.shape[1], size=hit.size)
    sign = rng.choice([-1.0, 1.0], size=hit.size)
    x[hit, chan] += sign * size * x.std(axis=0)[chan]
    return _to_int16(x)


def add_saturation(
    samples: object, rng: np.random.Generator, fraction: float = 0.03, length: tuple[int, int] = (5, 40)
) -> np.ndarray:
    """Bursts of ``length`` samples with one channel stuck at an int16 limit, covering ~``fraction``."""
    x = _as_counts(samples)
    n = x.shape[0]
    bursts = int(round(fraction * n / (0.5 * (length[0] + length[1]))))
    for _ in range(bursts):
        start, size = int(rng.integers(0, n)), int(rng.integers(length[0], length[1] + 1))
        x[start : start + size, int(rng.integers(0, x.shape[1]))] = _HI if rng.random() < 0.5 else _LO
    return _to_int16(x)


def kill_channel(samples: object, channel: int = 0, start: float = 0.3, value: int = 0) -> np.ndarray:
    """From ``start`` (a fraction of the stream) on, ``channel`` reads the constant ``value``."""
    x = _as_counts(samples)
    if not 0 <= channel < x.shape[1]:
        raise ValueError(f"channel must be in [0, {x.shape[1]}), got {channel}")
    x[int(start * x.shape[0]) :, channel] = value
    return _to_int16(x)


def gain_steps(samples: object, rng: np.random.Generator, steps: int = 6) -> np.ndarray:
    """``steps`` sudden per-channel gain changes by log-uniform factors in [1/4, 4] (gain within [1/8, 8])."""
    x = _as_counts(samples)
    n, c = x.shape
    gain = np.ones((n, c))
    for t in np.sort(rng.integers(n // 10, n, size=steps)):
        ch = int(rng.integers(0, c))
        new = float(np.clip(gain[t, ch] * 2.0 ** rng.uniform(-2.0, 2.0), 0.125, 8.0))
        gain[t:, ch] = new
    return _to_int16(x * gain)


def make_adversarial_stream(stream: SensorStream, kind: str, seed: int = 0) -> SensorStream:
    """``stream`` with the corruption ``kind`` (one of ``ADVERSARIAL_KINDS``) applied to its samples.

    >>> from edge_mesu.data import make_sensor_stream
    >>> s = make_sensor_stream(n_windows=100, seed=0)
    >>> d = make_adversarial_stream(s, "dead_channel")
    >>> int(d.samples[-1, 0]), d.labels is s.labels
    (0, True)
    """
    if kind not in ADVERSARIAL_KINDS:
        raise ValueError(f"kind must be one of {ADVERSARIAL_KINDS}, got {kind!r}")
    rng = np.random.default_rng(seed)
    x = np.asarray(stream.samples)
    if kind in ("spikes", "all"):
        x = add_spikes(x, rng)
    if kind in ("saturation", "all"):
        x = add_saturation(x, rng)
    if kind in ("dead_channel", "all"):
        x = kill_channel(x)
    if kind in ("gain_steps", "all"):
        x = gain_steps(x, rng)
    x = np.array(x, dtype=np.int16)
    x.setflags(write=False)
    return dataclasses.replace(stream, samples=x)
