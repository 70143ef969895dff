"""A synthetic 3-axis accelerometer stream with activity classes, drift and a class that appears late.

Bundled (nothing to download) and the demo's default stream. It imitates an IMU read at ``rate_hz`` into
int16 ADC counts (``COUNTS_PER_G = 8192``: a ±4 g range that saturates at the int16 limits):

* **Activities** come in bouts of a few windows (bouts are whole windows, so every window has one label);
  consecutive bouts have different classes. Each class mixes a gravity orientation (jittered per bout, so
  orientations of different classes overlap), a periodic motion (fundamental frequency, amplitude,
  harmonics and axis weights drawn per bout from class-specific ranges), vertical impact pulses at each
  step for gait classes (their random peaks make running saturate now and then), and heavy-tailed noise.
* **Drift**: each channel's gain moves linearly from 1 to ``1 + drift * u_c`` (``|u_c|`` in [0.5, 1],
  random sign) over the stream, and its zero-g offset moves by up to ``drift / 2`` g, on top of a fixed
  offset of up to ±40 mg.
* **A late class**: the last class (``"tremor"``, a machine-like 6-11 Hz vibration) never occurs before
  window ``floor(late_class_onset * n_windows)``, and the first bout from that window on is that class.

Class names by ``n_classes`` (2-6): the first ``n_classes - 1`` of ``rest, walk, run, cycle, stairs``,
then ``tremor``. Everything is drawn from one ``numpy.random.default_rng(seed)``: same arguments, same
stream, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CLASS_POOL", "COUNTS_PER_G", "LATE_CLASS_NAME", "SensorStream", "make_sensor_stream"]

_INT16_MIN, _INT16_MAX = -32768, 32767
#: ADC counts per g: a ±4 g full scale on int16.
COUNTS_PER_G = 8192

# name, gravity direction, orientation jitter, freq range (Hz), amplitude range (g), axis weights,
# harmonic weights (1st-3rd), impact pulse mean (g), noise std (g)
_SPECS: dict[str, tuple] = {
    "rest": ((0.0, 0.0, 1.0), 0.35, (0.1, 0.4), (0.005, 0.03), (1.0, 1.0, 1.0), (1.0, 0.0, 0.0), 0.0, 0.012),
    "walk": ((0.0, -1.0, 0.2), 0.25, (1.5, 2.2), (0.15, 0.45), (0.5, 1.0, 0.6), (1.0, 0.5, 0.2), 0.3, 0.04),
    "run": ((0.1, -1.0, 0.3), 0.25, (2.4, 3.2), (0.45, 1.0), (0.5, 1.0, 0.7), (1.0, 0.4, 0.15), 1.4, 0.08),
    "cycle": ((0.5, -0.7, 0.6), 0.25, (0.9, 1.5), (0.08, 0.25), (1.0, 0.4, 0.6), (1.0, 0.3, 0.0), 0.0, 0.08),
    "stairs": ((0.0, -1.0, 0.4), 0.25, (1.2, 1.7), (0.3, 0.6), (0.4, 1.0, 0.8), (1.0, 0.7, 0.3), 0.6, 0.05),
    "tremor": ((0.2, 0.2, 1.0), 0.35, (6.0, 11.0), (0.3, 0.8), (1.0, 0.3, 0.2), (1.0, 0.2, 0.0), 0.0, 0.02),
}
#: Classes available before the late one, in label order.
CLASS_POOL = ("rest", "walk", "run", "cycle", "stairs")
#: Name of the class that appears only after the onset (always the last label).
LATE_CLASS_NAME = "tremor"


@dataclass(frozen=True, eq=False)
class SensorStream:
    """A generated accelerometer stream: raw int16 samples, per-sample labels and metadata.

    Arrays are read-only. ``samples[k]`` is the (x, y, z) reading of sample ``k`` in ADC counts and
    ``labels[k]`` its class; window ``w`` is samples ``w * window`` to ``(w + 1) * window - 1``.

    Attributes
    ----------
    samples : int16 array ``(n_samples, 3)``; ``n_samples = n_windows * window``.
    labels : int64 array ``(n_samples,)``, constant within each window.
    window, n_classes, class_names, rate_hz, counts_per_g, late_class, late_onset_window, seed, drift :
        the generation settings; ``late_class = n_classes - 1`` and ``late_onset_window`` is the index of
        the first window of that class.
    """

    samples: np.ndarray
    labels: np.ndarray
    window: int
    n_classes: int
    class_names: tuple[str, ...]
    rate_hz: float
    counts_per_g: int
    late_class: int
    late_onset_window: int
    seed: int
    drift: float

    @property
    def n_windows(self) -> int:
        """Number of complete windows."""
        return int(self.samples.shape[0] // self.window)

    @property
    def n_samples(self) -> int:
        """Number of raw samples (per channel)."""
        return int(self.samples.shape[0])

    def window_labels(self) -> np.ndarray:
        """Class of each window, int64 ``(n_windows,)``."""
        return self.labels[:: self.window].copy()

    def saturated(self) -> np.ndarray:
        """Boolean mask ``(n_samples, 3)`` of readings stuck at an int16 limit."""
        return (self.samples == _INT16_MIN) | (self.samples == _INT16_MAX)

    def windows(self) -> tuple[np.ndarray, np.ndarray]:
        """Windowed float view for learners: ``(X, y)``.

        ``X`` is float32 ``(n_windows, window * 3)``: the counts of each window divided by ``counts_per_g``
        (so values are in g, gravity = 1, the bulk within ±2), time-major with channels interleaved
        (``x0, y0, z0, x1, ...``) as an IMU FIFO delivers them. The scale is the sensor's nominal one, not a
        statistic of the stream, so nothing leaks from the future. ``y`` is int64 ``(n_windows,)``; the
        late class first appears at ``X[self.late_onset_window]``.
        """
        n = self.n_windows * self.window
        X = self.samples[:n].reshape(self.n_windows, self.window * 3).astype(np.float32)
        X /= np.float32(self.counts_per_g)
        return X, self.window_labels()


def _check_args(
    n_windows: object,
    window: object,
    n_classes: object,
    late_class_onset: object,
    drift: object,
    mean_bout_windows: object,
) -> None:
    for name, value, low in (("n_windows", n_windows, 1), ("window", window, 2), ("n_classes", n_classes, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if n_classes > len(CLASS_POOL) + 1:  # type: ignore[operator]
        raise ValueError(f"n_classes must be at most {len(CLASS_POOL) + 1}, got {n_classes!r}")
    if not isinstance(late_class_onset, (int, float)) or not 0.0 <= late_class_onset < 1.0:
        raise ValueError(f"late_class_onset must be a fraction in [0, 1), got {late_class_onset!r}")
    if not isinstance(drift, (int, float)) or not 0.0 <= drift < 1.0:
        raise ValueError(f"drift must be in [0, 1), got {drift!r}")
    if not isinstance(mean_bout_windows, (int, float)) or not mean_bout_windows >= 1.0:
        raise ValueError(f"mean_bout_windows must be >= 1, got {mean_bout_windows!r}")


def _bouts(
    rng: np.random.Generator, n_windows: int, n_classes: int, onset: int, mean_len: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bout classes and lengths (in windows); the late class is excluded before ``onset`` and starts there."""
    late = n_classes - 1
    classes, lengths, pos, prev = [], [], 0, -1
    while pos < n_windows:
        length = int(rng.geometric(1.0 / mean_len))
        if pos == onset:
            cls = late
        else:
            allowed = [c for c in range(late if pos < onset else n_classes) if c != prev]
            cls = allowed[int(rng.integers(len(allowed)))] if allowed else prev
        if pos < onset:
            length = min(length, onset - pos)
        length = min(length, n_windows - pos)
        classes.append(cls)
        lengths.append(length)
        pos += length
        prev = cls
    return np.asarray(classes, dtype=np.int64), np.asarray(lengths, dtype=np.int64)


def _spec_table(names: tuple[str, ...]) -> dict[str, np.ndarray]:
    rows = [_SPECS[n] for n in names]
    cols = ("gravity", "tilt", "freq", "amp", "axes", "harm", "impact", "noise")
    return {c: np.asarray([r[i] for r in rows], dtype=np.float64) for i, c in enumerate(cols)}


def _signal_g(
    rng: np.random.Generator,
    bout_cls: np.ndarray,
    bout_samples: np.ndarray,
    spec: dict[str, np.ndarray],
    rate_hz: float,
) -> np.ndarray:
    """Acceleration in g, ``(n_samples, 3)``, before drift and quantisation."""
    n_bouts = bout_cls.shape[0]
    grav = spec["gravity"][bout_cls] + spec["tilt"][bout_cls, None] * rng.normal(size=(n_bouts, 3))
    grav /= np.linalg.norm(grav, axis=1, keepdims=True)
    lo, hi = spec["freq"][bout_cls].T
    freq = rng.uniform(lo, hi)
    lo, hi = spec["amp"][bout_cls].T
    amp = rng.uniform(lo, hi)
    axes = spec["axes"][bout_cls] * rng.uniform(0.7, 1.3, size=(n_bouts, 3))
    axis_phase = rng.uniform(0.0, 2.0 * np.pi, size=(n_bouts, 3))

    def rep(a: np.ndarray) -> np.ndarray:  # per-bout value -> per-sample value
        return np.repeat(a, bout_samples, axis=0)

    theta = 2.0 * np.pi * np.cumsum(rep(freq)) / rate_hz + rng.uniform(0.0, 2.0 * np.pi)
    harm = spec["harm"][rep(bout_cls)]
    phase = rep(axis_phase)
    motion = np.zeros((theta.shape[0], 3))
    for h in range(harm.shape[1]):
        motion += harm[:, h, None] * np.sin((h + 1) * (theta[:, None] + phase))
    motion *= rep(amp)[:, None] * rep(axes)

    step = np.floor(theta / (2.0 * np.pi)).astype(np.int64)
    step_peak = rng.lognormal(0.0, 0.35, size=int(step[-1]) + 1)
    u = theta - 2.0 * np.pi * (step + 0.5)
    impact = spec["impact"][rep(bout_cls)] * step_peak[step] * np.exp(-0.5 * (u / 0.4) ** 2)
    g = rep(grav)
    noise = rng.standard_t(4, size=g.shape) / np.sqrt(2.0) * spec["noise"][rep(bout_cls)][:, None]
    return g * (1.0 + impact[:, None]) + motion + noise


def _to_counts(rng: np.random.Generator, acc_g: np.ndarray, drift: float, counts_per_g: int) -> np.ndarray:
    """Apply gain/offset drift and quantise to saturating int16 ADC counts."""
    n = acc_g.shape[0]
    ramp = np.linspace(0.0, 1.0, n)[:, None]
    gain_end = drift * rng.uniform(0.5, 1.0, size=3) * rng.choice([-1.0, 1.0], size=3)
    offset = rng.uniform(-0.04, 0.04, size=3) + ramp * (0.5 * drift * rng.uniform(-1.0, 1.0, size=3))
    counts = np.rint((acc_g * (1.0 + ramp * gain_end) + offset) * counts_per_g)
    return np.clip(counts, _INT16_MIN, _INT16_MAX).astype(np.int16)


def make_sensor_stream(
    n_windows: int = 5000,
    window: int = 32,
    n_classes: int = 5,
    *,
    seed: int = 0,
    late_class_onset: float = 0.5,
    drift: float = 0.1,
    rate_hz: float = 50.0,
    mean_bout_windows: float = 4.0,
) -> SensorStream:
    """Generate a synthetic accelerometer activity stream (see the module docstring for the model).

    Parameters
    ----------
    n_windows : number of windows; the stream has ``n_windows * window`` samples per channel.
    window : samples per window (32 at 50 Hz = 0.64 s).
    n_classes : 2-6 activity classes; the last one is the late class ``"tremor"``.
    seed : seed of the single random generator.
    late_class_onset : fraction of the windows before which the late class never occurs.
    drift : relative per-channel gain change over the whole stream (0 disables gain and offset drift).
    rate_hz : sampling rate of the simulated IMU.
    mean_bout_windows : mean bout length in windows (geometric distribution).

    Returns
    -------
    SensorStream

    Examples
    --------
    >>> s = make_sensor_stream(n_windows=200, seed=1)
    >>> s.samples.shape, s.samples.dtype, s.class_names
    ((6400, 3), dtype('int16'), ('rest', 'walk', 'run', 'cycle', 'tremor'))
    >>> X, y = s.windows()
    >>> X.shape, X.dtype, s.late_onset_window, int(y[s.late_onset_window]) == s.late_class
    ((200, 96), dtype('float32'), 100, True)
    """
    _check_args(n_windows, window, n_classes, late_class_onset, drift, mean_bout_windows)
    if not isinstance(rate_hz, (int, float)) or not rate_hz > 0:
        raise ValueError(f"rate_hz must be positive, got {rate_hz!r}")
    names = CLASS_POOL[: n_classes - 1] + (LATE_CLASS_NAME,)
    rng = np.random.default_rng(seed)
    onset = int(np.floor(late_class_onset * n_windows))
    bout_cls, bout_len = _bouts(rng, n_windows, n_classes, onset, float(mean_bout_windows))
    acc = _signal_g(rng, bout_cls, bout_len * window, _spec_table(names), float(rate_hz))
    samples = _to_counts(rng, acc, float(drift), COUNTS_PER_G)
    labels = np.repeat(bout_cls, bout_len * window)
    samples.setflags(write=False)
    labels.setflags(write=False)
    return SensorStream(
        samples=samples,
        labels=labels,
        window=int(window),
        n_classes=int(n_classes),
        class_names=names,
        rate_hz=float(rate_hz),
        counts_per_g=COUNTS_PER_G,
        late_class=n_classes - 1,
        late_onset_window=onset,
        seed=seed,
        drift=float(drift),
    )
