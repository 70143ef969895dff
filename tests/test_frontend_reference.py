"""The integer front end against its written spec (bit for bit) and against its float reference (±1 LSB).

``spec_outputs`` below re-implements the arithmetic of ``edge_mesu.frontend.normalise``'s docstring with
Python integers, one sample and one channel at a time, as a C port would: the numpy pipeline must match it
exactly. The float reference must agree with the integer outputs to within one output LSB.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge_mesu import FixedMESULearner
from edge_mesu.frontend import FloatFrontEnd, FrontEnd, FrontEndSpec
from edge_mesu.frontend.normalise import isqrt_round


def rnd(x: int, s: int) -> int:
    """x / 2**s, round half to even (Python ints)."""
    if s == 0:
        return x
    q, r = divmod(x, 1 << s)
    half = 1 << (s - 1)
    return q + (r > half or (r == half and q & 1))


def div_even(x: int, d: int) -> int:
    q, r = divmod(x, d)
    return q + (2 * r > d or (2 * r == d and q & 1))


def sat8(v: int) -> int:
    return max(-128, min(127, v))


def spec_outputs(x: np.ndarray, spec: FrontEndSpec) -> list[list[int]]:
    """Every window's int8 outputs, computed from the docstring with Python ints."""
    C, D, F = spec.channels, spec.decimate, spec.out_frac
    m, v, k, frames, outs = [0] * C, [0] * C, 0, [], []
    countdown = spec.frames
    for i in range(0, x.shape[0] - x.shape[0] % D, D):
        xd = [div_even(int(sum(int(x[i + j, c]) for j in range(D))), D) for c in range(C)]
        for c in range(C):
            X = xd[c] << 16
            if k == 0:
                m[c], v[c] = X, 0
            else:
                s = min(spec.tau_log2, k.bit_length())
                d = X - m[c]
                m[c] += rnd(d, s)
                d8 = rnd(d, 8)
                v[c] += rnd(d8 * d8 - v[c], s)
        k = min(k + 1, 1 << spec.tau_log2)
        frames = (frames + [xd])[-spec.frames :]
        countdown -= 1
        if countdown:
            continue
        countdown = spec.frame_hop
        frac = 8 if spec.features else F
        bound = round(spec.clip * (1 << frac))
        z = [[0] * C for _ in frames]
        for c in range(C):
            sigma = max(math.isqrt(v[c]) + (v[c] - math.isqrt(v[c]) ** 2 > math.isqrt(v[c])), spec.min_std_q)
            inv = div_even(1 << 34, sigma)
            for t, fr in enumerate(frames):
                z[t][c] = max(-bound, min(bound, rnd(rnd((fr[c] << 16) - m[c], 8) * inv, 34 - frac)))
        if not spec.features:
            outs.append([sat8(z[t][c]) for t in range(len(frames)) for c in range(C)])
            continue
        row, n = [], len(frames)
        for c in range(C):
            col = [z[t][c] for t in range(n)]
            ms = div_even(sum(q * q for q in col), n)
            r = math.isqrt(ms)
            feats = [div_even(sum(col), n), r + (ms - r * r > r), min(col), max(col)]
            row += [sat8(rnd(f, 8 - F)) for f in feats]
        outs.append(row)
    return outs


def heavy_signal(n: int, channels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.integers(-3000, 3000, size=channels) + 400 * rng.standard_t(3, size=(n, channels))
    x[rng.random(n) < 0.01] = 32767  # saturation
    x[n // 2 :, 0] *= 3  # a gain step
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize(
    "kw",
    [
        {"window": 8},
        {"window": 8, "hop": 3, "decimate": 1, "clip": 2.5, "tau_log2": 4},
        {"window": 12, "hop": 6, "decimate": 3, "out_frac": 4},
        {"window": 8, "features": True},
        {"window": 12, "hop": 4, "decimate": 2, "features": True, "clip": 3.0, "min_std": 0.25},
    ],
)
def test_integer_pipeline_matches_the_written_spec_bit_for_bit(kw):
    spec = FrontEndSpec(channels=2, **kw)
    x = heavy_signal(240, 2, seed=1)
    got = FrontEnd(spec).push(x).values
    assert got.tolist() == spec_outputs(x, spec)


def test_isqrt_round_is_exact():
    n = np.concatenate(
        [
            np.arange(0, 5000),
            np.random.default_rng(0).integers(0, 2**62, 5000),
            [2**62 - 1, (2**31 - 1) ** 2, (2**31 - 1) ** 2 - 1],
        ]
    ).astype(np.int64)
    got = isqrt_round(n)
    want = [math.isqrt(int(v)) + (int(v) - math.isqrt(int(v)) ** 2 > math.isqrt(int(v))) for v in n]
    assert got.tolist() == want


@pytest.mark.parametrize(
    "kw",
    [
        {"window": 32},
        {"window": 32, "hop": 8, "features": True},
        {"window": 32, "decimate": 4, "clip": 2.0},
        {"window": 16, "tau_log2": 6},
    ],
)
def test_float_reference_agrees_within_one_lsb(kw):
    spec = FrontEndSpec(channels=3, **kw)
    x = heavy_signal(4000, 3, seed=2)
    q = FrontEnd(spec).push(x)
    ref = FloatFrontEnd(spec).push(x)
    assert np.array_equal(q.end, ref.end)
    err = np.abs(spec.out_fmt.dequantize(q.values) - ref.values) / spec.out_fmt.lsb
    assert err.max() <= 1.0
    assert err.mean() < 0.3  # mostly the final rounding (uniform: mean 0.25)


def test_dequantised_outputs_reach_the_fixed_learner_bit_exactly():
    """The pipeline passes q · 2**-frac as float: the learner's quantisation returns exactly q."""
    spec = FrontEndSpec(channels=3, window=16, features=True, out_frac=5)
    fe = FrontEnd(spec)
    q = fe.push(heavy_signal(3000, 3, seed=3)).values
    learner = FixedMESULearner(layers=(spec.n_outputs, 8, 3), input_frac=spec.out_frac, seed=0)
    assert learner.plan.input_fmt == spec.out_fmt
    back = learner.plan.input_fmt.quantize(fe.to_float(q))
    assert back.dtype == np.int8 and np.array_equal(back, q)
    all_codes = np.arange(-128, 128, dtype=np.int8)
    assert np.array_equal(learner.plan.input_fmt.quantize(spec.out_fmt.dequantize(all_codes)), all_codes)
