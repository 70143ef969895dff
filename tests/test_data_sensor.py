"""Synthetic accelerometer stream: determinism, layout, onset, saturation, drift and argument checks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from edge_mesu.data import SensorStream, make_sensor_stream
from edge_mesu.data.sensor import COUNTS_PER_G


@pytest.fixture(scope="module")
def stream() -> SensorStream:
    return make_sensor_stream(n_windows=2000, seed=0)


def test_deterministic_given_seed(stream: SensorStream) -> None:
    again = make_sensor_stream(n_windows=2000, seed=0)
    np.testing.assert_array_equal(stream.samples, again.samples)
    np.testing.assert_array_equal(stream.labels, again.labels)
    other = make_sensor_stream(n_windows=2000, seed=1)
    assert not np.array_equal(stream.samples, other.samples)


def test_shapes_dtypes_metadata(stream: SensorStream) -> None:
    assert stream.samples.shape == (2000 * 32, 3) and stream.samples.dtype == np.int16
    assert stream.labels.shape == (2000 * 32,)
    assert stream.n_windows == 2000 and stream.n_samples == 64000
    assert stream.n_classes == 5 and len(stream.class_names) == 5
    assert stream.class_names[-1] == "tremor" and stream.late_class == 4
    assert stream.rate_hz == 50.0 and stream.counts_per_g == COUNTS_PER_G
    with pytest.raises(dataclasses.FrozenInstanceError):
        stream.window = 16  # type: ignore[misc]
    with pytest.raises(ValueError):
        stream.samples[0, 0] = 0  # read-only arrays


def test_windows_view(stream: SensorStream) -> None:
    X, y = stream.windows()
    assert X.shape == (2000, 96) and X.dtype == np.float32
    assert y.shape == (2000,) and np.issubdtype(y.dtype, np.integer)
    # window w is samples w*32 .. w*32+31, time-major with channels interleaved, in g
    np.testing.assert_allclose(X[3].reshape(32, 3), stream.samples[96:128] / COUNTS_PER_G, rtol=1e-6)
    assert 0.3 < float(X.std()) < 2.0 and float(np.abs(X).max()) <= 4.0
    # labels are constant within each window
    assert np.all(stream.labels.reshape(2000, 32) == y[:, None])


def test_all_classes_present_and_bouts_change(stream: SensorStream) -> None:
    y = stream.window_labels()
    counts = np.bincount(y, minlength=5)
    assert np.all(counts > 100), counts
    starts = np.flatnonzero(np.diff(y)) + 1
    assert np.all(y[starts] != y[starts - 1])
    assert 200 < starts.size < 1000  # bouts of a few windows, not one class per window


@pytest.mark.parametrize("onset", [0.0, 0.3, 0.75])
def test_late_class_onset(onset: float) -> None:
    s = make_sensor_stream(n_windows=400, seed=2, late_class_onset=onset)
    y = s.window_labels()
    assert s.late_onset_window == int(np.floor(onset * 400))
    assert not np.any(y[: s.late_onset_window] == s.late_class)
    assert y[s.late_onset_window] == s.late_class
    assert int(np.flatnonzero(y == s.late_class)[0]) == s.late_onset_window


def test_saturation_present_but_rare(stream: SensorStream) -> None:
    sat = stream.saturated()
    assert sat.any()
    assert sat.mean() < 1e-3
    # only the int16 limits count, and the bulk of readings is far from them
    assert np.all(np.isin(stream.samples[sat], [-32768, 32767]))
    assert np.median(np.abs(stream.samples)) < 2 * COUNTS_PER_G


def test_classes_differ_in_signal(stream: SensorStream) -> None:
    g = stream.samples.astype(np.float64) / COUNTS_PER_G
    windows = g.reshape(stream.n_windows, 32, 3)
    energy = windows.std(axis=1).sum(axis=1)  # per-window motion energy
    y = stream.window_labels()
    rest, run = (stream.class_names.index(n) for n in ("rest", "run"))
    assert np.median(energy[y == rest]) < 0.1 < np.median(energy[y == run])
    # gravity dominates at rest: |mean acceleration| close to 1 g
    mean_norm = np.linalg.norm(windows[y == rest].mean(axis=1), axis=1)
    assert 0.85 < np.median(mean_norm) < 1.15


def test_drift_changes_gain_only_slowly() -> None:
    a = make_sensor_stream(n_windows=300, seed=5, drift=0.0)
    b = make_sensor_stream(n_windows=300, seed=5, drift=0.3)
    np.testing.assert_array_equal(a.labels, b.labels)
    da = np.abs(a.samples[:320].astype(int) - b.samples[:320].astype(int))
    db = np.abs(a.samples[-320:].astype(int) - b.samples[-320:].astype(int))
    assert da.mean() < 0.05 * db.mean()  # no drift at the start, visible at the end


@pytest.mark.parametrize("n_classes", [2, 3, 6])
def test_class_counts_variants(n_classes: int) -> None:
    s = make_sensor_stream(n_windows=600, n_classes=n_classes, seed=0)
    assert len(s.class_names) == n_classes and s.class_names[-1] == "tremor"
    assert set(np.unique(s.labels).tolist()) == set(range(n_classes))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_windows": 0}, "n_windows"),
        ({"window": 1}, "window"),
        ({"n_classes": 1}, "n_classes"),
        ({"n_classes": 7}, "n_classes"),
        ({"late_class_onset": 1.0}, "late_class_onset"),
        ({"late_class_onset": -0.1}, "late_class_onset"),
        ({"drift": -0.5}, "drift"),
        ({"rate_hz": 0.0}, "rate_hz"),
        ({"mean_bout_windows": 0.5}, "mean_bout_windows"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_sensor_stream(**kwargs)
