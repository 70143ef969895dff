"""Front end: spec checks, window schedule, decimation, labels, freeze/warm-up, chunking, state, budgets."""

from __future__ import annotations

import numpy as np
import pytest

from edge_mesu.frontend import FloatFrontEnd, FrontEnd, FrontEndSpec, LabelRule
from edge_mesu.frontend.costs import NOMINAL_COSTS, cycles, operation_list, ram_bytes


def signal(n: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(-2000, 2000, size=channels)
    return (base + 300 * rng.standard_normal((n, channels))).astype(np.int16)


# -- spec --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw, match",
    [
        ({"channels": 0, "window": 8}, "channels"),
        ({"channels": 3, "window": 0}, "window"),
        ({"channels": 3, "window": 8, "hop": 0}, "hop"),
        ({"channels": 3, "window": 8, "decimate": 3}, "divide"),
        ({"channels": 3, "window": 8, "clip": 0.0}, "clip"),
        ({"channels": 3, "window": 8, "clip": float("nan")}, "clip"),
        ({"channels": 3, "window": 8, "min_std": 0.01}, "min_std"),
        ({"channels": 3, "window": 8, "tau_log2": 30}, "tau"),
        ({"channels": 3, "window": 8, "out_frac": 8}, "out_frac"),
        ({"channels": 3, "window": 8, "label_rule": "x"}, "label_rule"),
        ({"channels": 3.0, "window": 8}, "channels"),
        ({"channels": 3, "window": 8, "features": 1}, "features"),
    ],
)
def test_spec_rejects_bad_settings(kw, match):
    with pytest.raises(ValueError, match=match):
        FrontEndSpec(**kw)


def test_spec_round_trip_and_derived():
    s = FrontEndSpec(channels=2, window=40, hop=20, decimate=4, features=False, label_rule="majority")
    assert FrontEndSpec.from_dict(s.to_dict()) == s
    assert s.frames == 10 and s.frame_hop == 5 and s.n_outputs == 20 and s.label_rule is LabelRule.MAJORITY
    assert s.output_names(["ax", "ay"])[:3] == ["ax[t-9]", "ay[t-9]", "ax[t-8]"]
    f = FrontEndSpec(channels=2, window=40, features=True)
    assert f.n_outputs == 8 and f.output_names(["ax", "ay"])[:4] == ["ax.mean", "ax.rms", "ax.min", "ax.max"]


# -- schedule and decimation -----------------------------------------------------------------------------
@pytest.mark.parametrize("window, hop, decimate", [(8, 8, 1), (8, 3, 1), (8, 12, 1), (12, 6, 3), (16, 8, 4)])
def test_window_ends_and_contents(window, hop, decimate):
    x = signal(100)
    fe = FrontEnd(FrontEndSpec(channels=3, window=window, hop=hop, decimate=decimate))
    out = fe.push(x)
    expected_ends = list(range(window - 1, 100, hop))
    assert out.end.tolist() == expected_ends and out.consumed == 100
    ref = FloatFrontEnd(fe.spec).push(x)
    assert ref.end.tolist() == expected_ends


def test_decimation_averages_blocks_rounding_half_to_even():
    x = np.array([[1], [2], [3], [3], [5], [6], [-1], [-2]], dtype=np.int16)  # block means 1.5, 3, 5.5, -1.5
    fe = FrontEnd(FrontEndSpec(channels=1, window=8, decimate=2))
    fe.push(x)
    assert fe.state()[1]["history"][:, 0].tolist() == [2, 3, 6, -2]


@pytest.mark.parametrize(
    "kw", [{}, {"decimate": 4, "hop": 8}, {"features": True}, {"label_rule": "majority", "hop": 5}]
)
def test_any_chunking_gives_the_same_windows_and_state(kw):
    x = signal(700)
    labels = np.repeat(np.arange(7) % 3, 100)
    spec = FrontEndSpec(channels=3, window=kw.pop("window", 16), **kw)
    whole = FrontEnd(spec)
    ref = whole.push(x, labels)
    rng = np.random.default_rng(2)
    parts, pos, fe = [], 0, FrontEnd(spec)
    while pos < len(x):
        n = int(rng.integers(0, 40))
        parts.append(fe.push(x[pos : pos + n], labels[pos : pos + n]))
        pos += n
    assert np.array_equal(np.concatenate([p.values for p in parts]), ref.values)
    assert np.array_equal(np.concatenate([p.labels for p in parts]), ref.labels)
    assert np.array_equal(np.concatenate([p.end for p in parts]), ref.end)
    meta_a, arr_a = whole.state()
    meta_b, arr_b = fe.state()
    assert meta_a == meta_b and all(np.array_equal(arr_a[k], arr_b[k]) for k in arr_a)


def test_max_windows_stops_right_after_the_window():
    x = signal(200)
    fe = FrontEnd(FrontEndSpec(channels=3, window=10, hop=5))
    out = fe.push(x, max_windows=3)
    assert len(out) == 3 and out.consumed == out.end[-1] + 1 == 20 and fe.samples_seen == 20
    assert len(fe.push(x[20:], max_windows=0)) == 0 and fe.samples_seen == 20
    rest = fe.push(x[20:])
    full = FrontEnd(fe.spec).push(x)
    assert np.array_equal(np.concatenate([out.values, rest.values]), full.values)


# -- labels ------------------------------------------------------------------------------------------------
def test_label_rules_last_and_majority_with_missing_labels():
    x = signal(12, channels=1)
    labels = np.array([0, 0, 1, -1, 1, 1, 2, 2, 2, -1, -1, -1])
    last = FrontEnd(FrontEndSpec(channels=1, window=4, hop=4)).push(x, labels).labels
    assert last.tolist() == [-1, 2, -1]
    maj = FrontEnd(FrontEndSpec(channels=1, window=4, hop=4, label_rule="majority")).push(x, labels).labels
    assert maj.tolist() == [0, 1, 2]  # window 0: 0,0,1 -> 0; window 1: 1,1,2 -> 1; window 2: only 2
    tie = FrontEnd(FrontEndSpec(channels=1, window=4, label_rule="majority")).push(x[:4], [3, 1, 1, 3]).labels
    assert tie.tolist() == [1]  # ties go to the smallest class


def test_majority_labels_survive_chunk_boundaries():
    x = signal(40, channels=1)
    labels = np.repeat([0, 1, 2, 1], 10)
    spec = FrontEndSpec(channels=1, window=8, hop=3, label_rule="majority")
    ref = FrontEnd(spec).push(x, labels).labels
    fe = FrontEnd(spec)
    got = np.concatenate([fe.push(x[a:b], labels[a:b]).labels for a, b in ((0, 5), (5, 6), (6, 23), (23, 40))])
    assert np.array_equal(got, ref)


# -- normaliser switches --------------------------------------------------------------------------------------
def test_freeze_keeps_the_statistics():
    fe = FrontEnd(FrontEndSpec(channels=3, window=16))
    fe.push(signal(256))
    meta, arrays = fe.state()
    fe.freeze()
    fe.push(10 * signal(256, seed=5))
    meta2, arrays2 = fe.state()
    assert fe.frozen and meta2["k"] == meta["k"]
    assert np.array_equal(arrays["mean"], arrays2["mean"]) and np.array_equal(arrays["var"], arrays2["var"])
    fe.freeze(False)
    fe.push(signal(16))
    assert not np.array_equal(fe.state()[1]["mean"], arrays["mean"])


def test_normaliser_adapts_to_offset_and_gain():
    rng = np.random.default_rng(0)
    raw = (5000 + 40 * rng.standard_normal((8192, 1))).astype(np.int16)
    fe = FrontEnd(FrontEndSpec(channels=1, window=64, tau_log2=10))
    z = fe.to_float(fe.push(raw).values[-20:])
    assert abs(z.mean()) < 0.1 and 0.85 < z.std() < 1.15


def test_warmup_skips_early_windows_and_counts_them():
    fe = FrontEnd(FrontEndSpec(channels=3, window=16, warmup=100))
    out = fe.push(signal(200))
    assert out.end[0] == 111 and fe.counters["warmup_windows"] == 6


def test_dead_channel_reads_zero_once_adapted_and_spikes_are_clipped():
    x = signal(1200)
    x[300:, 1] = 0
    fe = FrontEnd(FrontEndSpec(channels=3, window=16, tau_log2=6))
    out = fe.push(x)
    assert out.values.dtype == np.int8
    assert np.all(fe.to_float(out.values[-5:, 1::3]) == 0)  # the dead channel reads its mean: 0 std
    x[1000, 0] = 32767
    spiked = FrontEnd(fe.spec)
    z = spiked.to_float(spiked.push(x).values)
    assert spiked.counters["clip"] > fe.counters["clip"] and np.abs(z).max() == fe.spec.clip


# -- errors and state ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "samples, labels, match",
    [
        (np.zeros((10, 2), np.int16), None, "shape"),
        (np.zeros((10, 3)), None, "integer"),
        (np.full((10, 3), 40000), None, "int16"),
        (np.zeros((10, 3), np.int16), np.zeros(9, int), "labels"),
        (np.zeros((10, 3), np.int16), np.full(10, -2), "class indices"),
        (np.zeros((10, 3), np.int16), np.zeros(10), "integer class"),
    ],
)
def test_bad_input_raises_before_any_change(samples, labels, match):
    fe = FrontEnd(FrontEndSpec(channels=3, window=4))
    fe.push(signal(7))
    before = fe.state()
    with pytest.raises(ValueError, match=match):
        fe.push(samples, labels)
    after = fe.state()
    assert before[0] == after[0] and all(np.array_equal(before[1][k], after[1][k]) for k in before[1])


def test_state_round_trip_and_inconsistent_state():
    spec = FrontEndSpec(channels=3, window=16, hop=6, decimate=2, label_rule="majority")
    fe = FrontEnd(spec)
    fe.push(signal(101), np.arange(101) % 4)
    meta, arrays = fe.state()
    again = FrontEnd.from_state(meta, arrays)
    x = signal(80, seed=3)
    assert np.array_equal(again.push(x).values, fe.push(x).values)
    bad = dict(arrays, history=arrays["history"][:-1])
    with pytest.raises(ValueError, match="history"):
        FrontEnd.from_state(meta, bad)
    with pytest.raises(ValueError, match="counters"):
        FrontEnd.from_state(dict(meta, acc_n=5), arrays)


def test_budgets():
    spec = FrontEndSpec(channels=6, window=100, hop=50)
    fe = FrontEnd(spec)
    assert fe.ram_bytes() == ram_bytes(spec) >= 2 * 100 * 6
    assert fe.state_nbytes() == 6 * (4 + 8 + 4) + 100 * 6 * 2
    ops = fe.operation_list()
    assert fe.cycles_per_sample() == cycles(ops) > 0
    assert {op.kind for op in ops} <= set(NOMINAL_COSTS)
    calls = next(op for op in ops if op.name == "fe.sample_call")
    assert calls.count == 50  # one window of work is `hop` raw samples, one push each
    feats = FrontEnd(FrontEndSpec(channels=6, window=100, hop=50, features=True))
    assert feats.cycles_per_sample() > fe.cycles_per_sample()
    assert cycles(operation_list(spec), {k: 0.0 for k in NOMINAL_COSTS}) == 0.0
