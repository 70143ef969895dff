"""Fixed point: formats, rounding helpers and the integer FixedMESULearner (determinism, resume, ablation)."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_mesu import FixedMESULearner, MESULearner, QFormat, Rounding, StateFileError
from edge_mesu.fixed.qformat import SaturationCounter
from edge_mesu.fixed.rounding import (
    div_round_even,
    mul_shift_round_even,
    shift_round_even,
    shift_round_half_up,
    shift_round_stochastic,
)
from edge_mesu.statefile import decode_state, encode_state

HYP = settings(max_examples=200, deadline=None, derandomize=True)  # seeded: same examples every run

# ========================================================================================================
# QFormat
# ========================================================================================================


@pytest.mark.parametrize(
    "fmt, qstring, lo, hi, dtype, ctype",
    [
        (QFormat(16, 12), "Q3.12", -32768, 32767, "int16", "int16_t"),
        (QFormat(8, 5), "Q2.5", -128, 127, "int8", "int8_t"),
        (QFormat(8, 8, signed=False), "UQ0.8", 0, 255, "uint8", "uint8_t"),
        (QFormat(12, 4), "Q7.4", -2048, 2047, "int16", "int16_t"),
        (QFormat(32, 0), "Q31.0", -(2**31), 2**31 - 1, "int32", "int32_t"),
        (QFormat(17, 3, signed=False), "UQ14.3", 0, 2**17 - 1, "uint32", "uint32_t"),
    ],
)
def test_qformat_properties(fmt: QFormat, qstring, lo, hi, dtype, ctype) -> None:
    assert fmt.qstring == qstring
    assert (fmt.min_int, fmt.max_int) == (lo, hi)
    assert fmt.dtype == np.dtype(dtype) and fmt.c_type == ctype
    assert fmt.lsb == 2.0**-fmt.frac
    assert fmt.min_value == lo * fmt.lsb and fmt.max_value == hi * fmt.lsb
    assert np.iinfo(fmt.dtype).min <= lo and np.iinfo(fmt.dtype).max >= hi  # the dtype holds the range
    assert QFormat.from_dict(fmt.to_dict()) == fmt


@pytest.mark.parametrize(
    "bits, frac", [(1, 0), (33, 0), (0, 0), (16.0, 4), (True, 0), ("16", 4), (16, -1), (16, 63), (16, 1.5), (16, True)]
)
def test_qformat_rejects_bad_fields(bits, frac) -> None:
    with pytest.raises(ValueError, match="bits|frac"):
        QFormat(bits, frac)


def test_qformat_is_frozen_and_hashable() -> None:
    f = QFormat(16, 12)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.frac = 3  # type: ignore[misc]
    assert {f: 1}[QFormat(16, 12)] == 1 and QFormat(16, 12, signed=False) != f


def test_quantize_rounds_ties_to_even_and_counts_saturation() -> None:
    f = QFormat(8, 4)  # range [-8, 7.9375]
    c = SaturationCounter()
    q = f.quantize([100.0, -100.0, 0.5, 7.9375, 7.97, -8.0, -8.04, 1e300], c, "x")
    assert q.dtype == np.int8
    # 7.97·16 = 127.52 → 128 saturates; −8.04·16 = −128.64 → −129 saturates
    assert q.tolist() == [127, -128, 8, 127, 127, -128, -128, 127]
    assert c["x"] == 5 and c.total() == 5
    ties = QFormat(8, 1).quantize([0.25, 0.75, -0.25, -0.75, 1.25])  # ×2: 0.5 1.5 −0.5 −1.5 2.5
    assert ties.tolist() == [0, 2, 0, -2, 2]
    u = QFormat(8, 0, signed=False)
    c2 = SaturationCounter()
    assert u.quantize([-3.0, 3.0, 300.0], c2, "u").tolist() == [0, 3, 255]
    assert c2["u"] == 2
    with pytest.raises(ValueError, match="non-finite"):
        f.quantize([0.0, float("nan")])
    with pytest.raises(ValueError, match="non-finite"):
        f.quantize(float("inf"))


def test_saturation_counter_saturates_instead_of_wrapping() -> None:
    c = SaturationCounter()
    c.add("a", 0)
    assert c.as_dict() == {}
    c.add("a", 2**32 - 10)
    c.add("a", 100)
    assert c["a"] == 2**32 - 1
    c.add("b", 2**32 - 1)
    assert c.total() == 2**32 - 1
    d = SaturationCounter({"b": 5})
    d.merge(SaturationCounter({"b": 1, "c": 2}))
    assert d.as_dict() == {"b": 6, "c": 2}
    e = d.copy()
    e.add("b", 1)
    assert d["b"] == 6  # copies are independent


@HYP
@given(bits=st.integers(2, 16), frac=st.integers(0, 20), signed=st.booleans(), x=st.floats(-1e6, 1e6, allow_nan=False))
def test_quantize_error_is_at_most_half_an_lsb_inside_the_range(bits, frac, signed, x) -> None:
    f = QFormat(bits, frac, signed)
    c = SaturationCounter()
    q = int(f.quantize(x, c, "s"))
    assert f.min_int <= q <= f.max_int
    nearest = round(Fraction(x) * 2**frac)  # exact nearest-even integer, before saturation
    if f.min_int <= nearest <= f.max_int:
        assert q == nearest and abs(f.dequantize(q) - x) <= f.lsb / 2
        assert c["s"] == 0
    else:
        assert q == (f.max_int if nearest > 0 else f.min_int)
        assert c["s"] == 1


@HYP
@given(
    bits=st.integers(2, 16),
    frac=st.integers(0, 20),
    xs=st.lists(st.floats(-100, 100, allow_nan=False), min_size=2, max_size=20),
)
def test_quantize_is_monotone(bits, frac, xs) -> None:
    f = QFormat(bits, frac)
    xs = sorted(xs)
    q = f.quantize(xs).astype(np.int64)
    assert np.all(np.diff(q) >= 0)


# ========================================================================================================
# rounding helpers, against exact rational arithmetic
# ========================================================================================================

ints61 = st.integers(-(2**61) + 1, 2**61 - 1)


@HYP
@given(x=ints61, s=st.integers(0, 60))
def test_shift_round_even_is_exact_banker_rounding(x: int, s: int) -> None:
    expected = round(Fraction(x, 2**s))  # Fraction.__round__ rounds half to even
    assert int(shift_round_even(np.array([x]), s)[0]) == expected
    assert int(shift_round_even(np.array([x]), np.array([s]))[0]) == expected  # per-element shift path


@HYP
@given(x=ints61, s=st.integers(1, 60))
def test_shift_round_half_up_is_exact(x: int, s: int) -> None:
    assert int(shift_round_half_up(np.array([x]), s)[0]) == math.floor(Fraction(x, 2**s) + Fraction(1, 2))


@HYP
@given(x=st.integers(-(2**40), 2**40), d=st.integers(1, 2**20))
def test_div_round_even_is_exact(x: int, d: int) -> None:
    assert int(div_round_even(np.array([x]), d)[0]) == round(Fraction(x, d))


@HYP
@given(x=st.integers(-(2**30), 2**30), m=st.integers(0, 2**15), s=st.integers(0, 40))
def test_mul_shift_round_even_is_exact(x: int, m: int, s: int) -> None:
    assert int(mul_shift_round_even(np.array([x]), m, s)[0]) == round(Fraction(x * m, 2**s))


def test_rounding_helpers_validate_shift() -> None:
    with pytest.raises(ValueError, match="shift"):
        shift_round_even(np.array([1]), 63)
    with pytest.raises(ValueError, match="shift"):
        shift_round_even(np.array([1, 2]), np.array([1, -1]))
    with pytest.raises(ValueError, match="shift"):
        shift_round_half_up(np.array([1]), 0)
    with pytest.raises(ValueError, match="shift"):
        shift_round_stochastic(np.array([1]), np.array([70]), np.array([0]))


def test_vector_shifts_match_scalar_shifts() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(-(2**40), 2**40, size=500)
    s = rng.integers(0, 45, size=500)
    r = rng.integers(0, 2**26, size=500)
    expect_even = np.array([shift_round_even(x[i : i + 1], int(s[i]))[0] for i in range(500)])
    np.testing.assert_array_equal(shift_round_even(x, s), expect_even)
    expect_sr = np.array([shift_round_stochastic(x[i : i + 1], int(s[i]), r[i : i + 1], 26)[0] for i in range(500)])
    np.testing.assert_array_equal(shift_round_stochastic(x, s, r, 26), expect_sr)


@HYP
@given(x=st.integers(-(2**40), 2**40), s=st.integers(0, 8))
def test_stochastic_rounding_is_exactly_unbiased_over_all_uniforms(x: int, s: int) -> None:
    """With s <= rbits, each of the 2**rbits uniforms is equally likely: the mean is exactly x / 2**s."""
    rbits = 8
    out = shift_round_stochastic(np.full(1 << rbits, x), s, np.arange(1 << rbits), rbits)
    assert set(out.tolist()) <= {x >> s, (x >> s) + 1}  # floor or ceil only
    assert Fraction(int(out.sum()), 1 << rbits) == Fraction(x, 2**s)


@HYP
@given(x=st.integers(-(2**40), 2**40), s=st.integers(9, 30))
def test_stochastic_rounding_bias_below_uniform_resolution(x: int, s: int) -> None:
    """With s > rbits only the top rbits of the dropped fraction are seen (the rest is floored):
    the probability of rounding up is floor(f·2**rbits)/2**rbits, so −2**−rbits < bias <= 0."""
    rbits = 8
    out = shift_round_stochastic(np.full(1 << rbits, x), s, np.arange(1 << rbits), rbits)
    bias = Fraction(int(out.sum()), 1 << rbits) - Fraction(x, 2**s)
    assert -Fraction(1, 1 << rbits) < bias <= 0


@pytest.mark.parametrize("x, s", [(3, 2), (-5, 3), (1, 10), (12345, 7), (-1, 1)])
def test_stochastic_rounding_unbiased_over_random_draws(x: int, s: int) -> None:
    # n = 400k draws of 26-bit uniforms; each result is floor or floor+1 with p = frac, so the
    # standard error of the mean is sqrt(p(1−p)/n) <= 7.9e-4; 5 standard errors: 4e-3.
    n = 400_000
    r = np.random.default_rng(abs(x) + s).integers(0, 2**26, size=n)
    out = shift_round_stochastic(np.full(n, x), s, r, 26)
    assert abs(out.mean() - x / 2**s) < 5 * math.sqrt(0.25 / n)
    assert set(np.unique(out).tolist()) == {x >> s, (x >> s) + 1}  # both neighbours occur


# ========================================================================================================
# FixedMESULearner
# ========================================================================================================


def _stream(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, np.argmax(X[:, :3] - X[:, 3:6] if d >= 6 else X[:, :3], axis=1)


@pytest.mark.parametrize(
    "layers, bias", [((6, 5, 3), True), ((6, 5, 3), False), ((8, 6, 3), True), ((784, 50, 10), False)]
)
def test_state_is_three_bytes_per_parameter(layers, bias) -> None:
    m = FixedMESULearner(layers=layers, bias=bias, seed=1)
    expect = sum(a * b + (b if bias else 0) for a, b in zip(layers[:-1], layers[1:]))
    assert m.n_params() == expect
    assert m.state_nbytes() == 3 * expect
    for mu, code in m.int_params().values():
        assert mu.dtype == np.int16 and code.dtype == np.uint8
    kind, _meta, arrays = decode_state(m.to_bytes())
    assert kind == "FixedMESULearner"
    assert {a.dtype.name for n, a in arrays.items() if n.startswith("mu_")} == {"int16"}
    assert {a.dtype.name for n, a in arrays.items() if n.startswith("code_")} == {"uint8"}
    assert sum(a.nbytes for a in arrays.values()) == 3 * expect


def _check_integer_state(m: FixedMESULearner) -> None:
    assert m._mu.dtype == np.int16 and m._code.dtype == np.uint8
    assert m._code.min() >= m.plan.code_min and m._code.max() <= m.plan.code_max
    assert isinstance(m.step, int)
    for k, v in m.counters.as_dict().items():
        assert isinstance(v, int) and 0 <= v <= 2**32 - 1, k


def test_ten_thousand_updates_are_deterministic_and_resume_exactly(tmp_path) -> None:
    X, y = _stream(10_000, 8, seed=21)
    kw = dict(layers=(8, 6, 3), N=2000, sigma_init=0.1, seed=5)
    one_go = FixedMESULearner(**kw)
    fresh = one_go.to_bytes()
    one_go.learn_many(X, y)
    assert one_go.step == 10_000
    _check_integer_state(one_go)
    assert one_go.to_bytes() != fresh
    assert (one_go.predict(X[-2000:]) == y[-2000:]).mean() > 0.8  # it learned, so the state really moved
    halves = FixedMESULearner(**kw)
    halves.learn_many(X[:5000], y[:5000])
    path = tmp_path / "half.emsu"
    halves.save(path)
    del halves
    resumed = FixedMESULearner.load(path)
    assert resumed.step == 5000
    resumed.learn_many(X[5000:], y[5000:])
    assert resumed.to_bytes() == one_go.to_bytes()
    assert resumed.counters.as_dict() == one_go.counters.as_dict()


_SUBPROCESS = """
import hashlib, sys, numpy as np
from edge_mesu import FixedMESULearner
rng = np.random.default_rng(3); X = rng.normal(size=(1500, 6)); y = np.argmax(X[:, :3], axis=1)
m = FixedMESULearner(layers=(6, 5, 3), N=1000, sigma_init=0.1, train_samples=2, seed=11)
m.learn_many(X[:1000], y[:1000]); m.learn_many(X[1000:], y[1000:], batch_size=5)
sys.stdout.write(hashlib.sha256(m.to_bytes()).hexdigest())
"""


def test_fixed_state_is_identical_across_processes() -> None:
    """No hidden dependence on hash seeds, dict order or process state: another interpreter agrees."""
    ns: dict = {}
    out = []
    for hashseed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        res = subprocess.run(
            [sys.executable, "-c", _SUBPROCESS], capture_output=True, text=True, env=env, timeout=120, check=True
        )
        out.append(res.stdout.strip())
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(_SUBPROCESS, "<inline>", "exec"), ns)
    assert out[0] == out[1] == buf.getvalue().strip()
    assert len(out[0]) == 64 and hashlib.sha256(b"").hexdigest() != out[0]


def test_from_float_copies_hyper_parameters_and_quantises_within_one_lsb() -> None:
    X, y = _stream(300, 6, seed=2)
    f = MESULearner(
        layers=(6, 5, 3),
        N=5000,
        sigma_prior=0.5,
        mu_prior=0.0,
        c_sigma=1.0,
        ratio_max=0.05,
        train_samples=2,
        predict_samples=3,
        sigma_init=0.2,
        seed=9,
    )
    f.learn_many(X, y)
    fx = FixedMESULearner.from_float(f)
    assert fx.config == f.config
    for attr in ("layers", "train_samples", "predict_samples", "bias", "seed", "sigma_init", "step"):
        assert getattr(fx, attr) == getattr(f, attr), attr
    k, smax = fx.plan.sigma_per_octave, fx.plan.sigma_max
    ints = fx.int_params()
    for i, name in enumerate(fx.param_names):
        mu_f, sig_f = f.params()[name]
        mu_q, code = ints[name]
        fmt = fx.plan.mu_fmts[fx._layer_of(i)]
        assert np.all(np.abs(mu_f) < fmt.max_value)  # no saturation in this case
        assert np.all(np.abs(fmt.dequantize(mu_q) - mu_f) <= fmt.lsb / 2 + 1e-12), name
        layer = fx._layer_of(i)
        off = fx.plan.offsets[layer]  # the layer's window: [σ of code_max, smax·2**(−off/k)]
        assert np.all((sig_f <= smax * 2.0 ** (-off / k)) & (sig_f >= fx.plan.sigma_of_code(fx.plan.code_max, layer)))
        ideal = -k * np.log2(sig_f / smax) - off  # the real-valued stored code of σ
        assert np.all(np.abs(code.astype(float) - ideal) <= 0.5 + 1e-9), name
    # the fixed learner predicts like the float one it came from
    Xt, _ = _stream(500, 6, seed=3)
    Xt = np.clip(Xt, -3.9, 3.9)
    agree = fx.predict_proba(Xt, samples=0).argmax(axis=1) == f.predict_proba(Xt, samples=0).argmax(axis=1)
    assert agree.mean() > 0.95
    # overrides reach the fixed-point options
    g = FixedMESULearner.from_float(f, rounding="nearest", mu_frac=[10, 12])
    assert g.rounding is Rounding.NEAREST_EVEN and [m.frac for m in g.plan.mu_fmts] == [10, 12]


def test_round_to_nearest_freezes_sub_lsb_learning_and_stochastic_rounding_does_not() -> None:
    """σ = 0.004 ⇒ every μ step (σ²·|g| ≲ 1e-4) is below half an LSB (2.4e-4 at frac 11) and every σ step is
    below half a code: round-to-nearest loses all of them; stochastic rounding keeps their expectation."""
    X, y = _stream(3000, 4, seed=0)
    kw = dict(layers=(4, 8, 3), N=3e5, sigma_init=0.004, ratio_max=None, seed=2, sigma_per_octave=16)
    near = FixedMESULearner(rounding="nearest", **kw)
    sr = FixedMESULearner(rounding="stochastic", **kw)
    mu0, code0 = near._mu.astype(np.int64), near._code.copy()
    np.testing.assert_array_equal(sr._mu, near._mu)
    near.learn_many(X, y)
    sr.learn_many(X, y)
    d_near = near._mu.astype(np.int64) - mu0
    d_sr = sr._mu.astype(np.int64) - mu0
    assert np.count_nonzero(d_near) <= 0.05 * d_near.size
    assert np.count_nonzero(near._code != code0) <= 0.25 * code0.size
    assert np.count_nonzero(d_sr) >= 0.5 * d_sr.size
    assert np.count_nonzero(sr._code != code0) >= 0.5 * code0.size
    # SR drift follows the float rule's drift (in LSBs), nearest's does not exist
    fl = MESULearner(dtype="float64", **{k: v for k, v in kw.items() if k != "sigma_per_octave"})
    p0 = np.concatenate([v[0].ravel() for v in fl.params().values()])
    fl.learn_many(X, y)
    p1 = np.concatenate([v[0].ravel() for v in fl.params().values()])
    lsb = np.concatenate(
        [np.full(v[0].size, sr.plan.mu_fmts[sr._layer_of(i)].lsb) for i, v in enumerate(fl.params().values())]
    )
    d_float = (p1 - p0) / lsb
    assert np.abs(d_float).mean() > 5  # the float learner moved by several LSBs
    assert np.corrcoef(d_float, d_sr)[0, 1] > 0.7
    assert 0.7 < np.abs(d_sr).sum() / np.abs(d_float).sum() < 1.5
    assert np.abs(d_near).sum() < 0.05 * np.abs(d_float).sum()


@pytest.mark.parametrize("sigma0, top", [(0.1, 1.0), (1.8, 1.9)])
def test_prior_relaxation_matches_the_float_rule(sigma0: float, top: float) -> None:
    """x = 0 without biases makes every likelihood gradient exactly zero, leaving only the prior terms.
    The float rule then follows σ²/(σp² − σ²) ∝ exp(2c·t/N) and μ − μp shrinks by Π(1 − σ_t²/(Nσp²)).
    The fixed learner must track it in expectation: σ growing (σ0 < σp) and shrinking (σ0 > σp), μ decaying.
    Tolerances: the codes random-walk under stochastic rounding (spread ≈ 0.05 here), so the mean over
    176 weights has a standard error of ≈ 0.4 %; 5 % is > 10 standard errors yet catches a wrong sign
    or a wrong step factor."""
    N, steps, sp = 500.0, 1000, 1.0
    kw = dict(layers=(8, 16, 3), bias=False, N=N, sigma_prior=sp, sigma_init=sigma0, ratio_max=None, seed=3)
    fx = FixedMESULearner(**kw, sigma_max=top)  # a σ window [σ_max/16, σ_max] that holds the whole path
    fl = MESULearner(dtype="float64", sigma_min=None, **kw)
    X, y = np.zeros((steps, 8)), np.arange(steps) % 3
    mu_fx0 = np.concatenate([v[0].ravel() for v in fx.params().values()])
    mu_fl0 = np.concatenate([v[0].ravel() for v in fl.params().values()])
    fx.learn_many(X, y)
    fl.learn_many(X, y)
    sig_fx = np.concatenate([v[1].ravel() for v in fx.params().values()])
    sig_fl = np.concatenate([v[1].ravel() for v in fl.params().values()])
    u0 = sigma0**2 / sp**2
    r = u0 / (1 - u0) * math.exp(2 * 0.5 * steps / N)
    np.testing.assert_allclose(sig_fl, sp * math.sqrt(r / (1 + r)), rtol=0.01)  # float = the ODE
    assert abs(sig_fx.mean() / sig_fl.mean() - 1) < 0.05
    d_fx = np.concatenate([v[0].ravel() for v in fx.params().values()]) - mu_fx0
    d_fl = np.concatenate([v[0].ravel() for v in fl.params().values()]) - mu_fl0
    assert np.corrcoef(d_fx, d_fl)[0, 1] > 0.9
    assert 0.85 < np.abs(d_fx).sum() / np.abs(d_fl).sum() < 1.15


def test_sampled_weights_have_the_coded_spread() -> None:
    """w − μ = σ·ε in μ's LSBs: (w − μ)/σ must be standard normal (n = 12,320: mean within 5/√n,
    sd within 5/√(2n) of 1)."""
    from edge_mesu.fixed.rule import CodeTables
    from edge_mesu.fixed.step import weight_sample

    m = FixedMESULearner(layers=(40, 30, 10), sigma_init=0.05, seed=1)
    spec = m.step_spec()
    slices = spec.layout.slices
    mu16, code8 = m.flat_state()
    mu, code = mu16.astype(np.int64), code8.astype(np.intp)
    lsb = np.concatenate([np.full(sl.stop - sl.start, m.plan.mu_fmts[sl.layer].lsb) for sl in slices])
    sigma = np.concatenate([m.plan.sigma_of_code(code[sl.start : sl.stop], sl.layer) for sl in slices])
    sig = CodeTables(m.plan, list(slices), code).sig16
    z = np.concatenate(
        [
            (
                weight_sample(spec, mu[None], sig[None], np.array([m.seed]), np.array([step]), 0, SaturationCounter())[
                    2
                ][0]
                - mu
            )
            * lsb
            / sigma
            for step in range(8)
        ]
    )
    assert abs(z.mean()) < 5 / math.sqrt(z.size)
    assert abs(z.std() - 1) < 5 / math.sqrt(2 * z.size)


def test_fixed_state_file_refused_by_float_learner_and_vice_versa(tmp_path) -> None:
    fx = FixedMESULearner(layers=(6, 5, 3), seed=1)
    fl = MESULearner(layers=(6, 5, 3), seed=1)
    p_fx, p_fl = tmp_path / "fx.bin", tmp_path / "fl.bin"
    fx.save(p_fx)
    fl.save(p_fl)
    with pytest.raises(StateFileError, match="FixedMESULearner.*not a MESULearner"):
        MESULearner.load(p_fx)
    with pytest.raises(StateFileError, match="MESULearner.*not a FixedMESULearner"):
        FixedMESULearner.load(p_fl)


def _reencode(data: bytes, edit) -> bytes:
    kind, meta, arrays = decode_state(data)
    kind, meta, arrays = edit(kind, meta, dict(arrays))
    return encode_state(kind, meta, arrays)


def test_architecture_and_array_mismatches_are_refused() -> None:
    data = FixedMESULearner(layers=(6, 5, 3), seed=1).to_bytes()

    def other_layers(kind, meta, arrays):
        meta["init"]["layers"] = [6, 4, 3]
        return kind, meta, arrays

    def wide_mu(kind, meta, arrays):
        arrays["mu_w0"] = arrays["mu_w0"].astype(np.int32)
        return kind, meta, arrays

    def missing(kind, meta, arrays):
        del arrays["code_b1"]
        return kind, meta, arrays

    for edit, match in ((other_layers, "shape"), (wide_mu, "dtype"), (missing, "code_b1")):
        with pytest.raises(StateFileError, match=match):
            FixedMESULearner.from_bytes(_reencode(data, edit))
    # σ codes beyond the configured floor (sigma_min ⇒ code_max < 255)
    floored = FixedMESULearner(layers=(6, 5, 3), sigma_min=0.02, seed=1)
    assert floored.plan.code_max < 200

    def high_codes(kind, meta, arrays):
        arrays["code_w1"] = np.full_like(arrays["code_w1"], 200)
        return kind, meta, arrays

    with pytest.raises(StateFileError, match="code"):
        FixedMESULearner.from_bytes(_reencode(floored.to_bytes(), high_codes))
    # the float learner refuses a different architecture too
    fdata = MESULearner(layers=(6, 5, 3), seed=1).to_bytes()
    with pytest.raises(StateFileError, match="shape"):
        MESULearner.from_bytes(_reencode(fdata, other_layers))


def test_integer_forward_agrees_with_float_mean_network() -> None:
    X, y = _stream(1500, 6, seed=4)
    m = FixedMESULearner(layers=(6, 5, 3), N=1000, sigma_init=0.1, seed=2)
    m.learn_many(X, y)
    _check_integer_state(m)
    rng = np.random.default_rng(7)
    Xt = np.clip(rng.normal(size=(2000, 6)), -3.9, 3.9)  # inside the int8 Q2.5 input range
    (W0, b0), (W1, b1) = m.mean_params()
    logits = np.maximum(Xt @ W0 + b0, 0.0) @ W1 + b1
    p_float = np.exp(logits - logits.max(axis=1, keepdims=True))
    p_float /= p_float.sum(axis=1, keepdims=True)
    P = m.predict_proba(Xt, samples=0)  # the mean network
    assert (P.argmax(axis=1) == logits.argmax(axis=1)).mean() >= 0.95
    assert np.abs(P - p_float).mean() < 0.01
    q = m.predict_q15(Xt)
    assert q.dtype == np.int64 and np.all(np.abs(q.sum(axis=1) - 32768) <= 3)
    np.testing.assert_array_equal(q.argmax(axis=1), P.argmax(axis=1))


def test_saturation_is_counted_during_learning_not_prediction() -> None:
    m = FixedMESULearner(layers=(4, 8, 3), N=1000, sigma_init=0.1, seed=0)
    X = np.array([[100.0, -100.0, 0.5, 0.0]])
    before = m.to_bytes()
    m.predict_proba(X)
    assert m.to_bytes() == before and m.counters["input"] == 0
    m.learn_one(X[0], 0)
    assert m.counters["input"] == 2
    _check_integer_state(m)


def test_sigma_code_conversion_round_trips() -> None:
    m = FixedMESULearner(layers=(4, 3), seed=0)
    codes = np.arange(m.plan.code_min, m.plan.code_max + 1)
    np.testing.assert_array_equal(m.plan.code_of_sigma(m.plan.sigma_of_code(codes)), codes)
    # one octave = sigma_per_octave codes
    k = m.plan.sigma_per_octave
    np.testing.assert_allclose(m.plan.sigma_of_code(codes[:-k] + k), m.plan.sigma_of_code(codes[:-k]) / 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rounding": "truncate"}, "rounding"),
        ({"mu_frac": [10]}, "mu_frac"),
        ({"sigma_max": 3.0}, "sigma_max"),
        ({"sigma_bits": 9}, "sigma_bits"),
        ({"N": -1.0}, "N"),
    ],
)
def test_fixed_learner_rejects_bad_options(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        FixedMESULearner(layers=(4, 8, 3), **kwargs)


@pytest.mark.parametrize("N", [100.0, 40.0])
def test_short_memory_window_learns_like_the_float_rule(N: float) -> None:
    X, y = _stream(1000, 6, seed=5)
    fx = FixedMESULearner(layers=(6, 5, 3), N=N, sigma_init=0.1, seed=0, sigma_max=1.0)  # σ grows to σ_prior
    fl = MESULearner(layers=(6, 5, 3), N=N, sigma_init=0.1, seed=0)
    fx.learn_many(X, y)
    fl.learn_many(X, y)
    _check_integer_state(fx)
    # the prior pull is strong at this N: mean |μ| stays within a factor 2 of the float learner's, per weight
    # matrix (the 5 or 3 biases alone vary by 2x between seeds of the float learner itself)
    for name in ("w0", "w1"):
        a = float(np.abs(fx.params()[name][0]).mean())
        b = float(np.abs(fl.params()[name][0]).mean())
        assert 0.5 * b < a < 2.0 * b + 0.05, name


def test_fixed_centered_sigma_gradient_learns_and_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    runs = [
        FixedMESULearner(layers=(6, 8, 2), sigma_init=0.3, seed=2, sigma_grad="centered", sampling="weights")
        for _ in range(2)
    ]
    for m in runs:
        m.learn_many(X, y)
    assert runs[0].to_bytes() == runs[1].to_bytes()
    assert np.mean(runs[0].predict(X) == y) > 0.8
    plain = FixedMESULearner(layers=(6, 8, 2), sigma_init=0.3, seed=2)
    plain.learn_many(X, y)
    assert plain.to_bytes() != runs[0].to_bytes()
    with pytest.raises(ValueError, match="sigma_grad"):
        FixedMESULearner(layers=(6, 8, 2), sigma_grad="centered", sampling="weights", backend="c")


def test_log1p_code_is_second_order_accurate() -> None:
    """The σ-code step is (k/ln2)·ln(1 + r) ≈ u − u²·ln2/(2k) at frac 22 (u = (k/ln2)·r): error at most
    the third-order term |r|³/(3(1 − |r|)) plus 2**−6 of the r²/2 correction (its 8-bit mantissa ln2/(2k)
    and u/2**a rounded to 12 bits) and 2**−18."""
    from edge_mesu.fixed.rule import log1p_code

    plan = FixedMESULearner(layers=(4, 8, 3), ratio_max=0.5, seed=0).plan
    k = plan.sigma_per_octave
    kl = k / math.log(2.0)
    r = np.linspace(-0.5, 0.5, 20001)
    u = np.rint(kl * r * 2.0**22).astype(np.int64)
    got = log1p_code(plan, u) / 2.0**22 / kl
    corr = r**2 / 2
    assert np.all(np.abs(got - np.log1p(r)) <= np.abs(r) ** 3 / (3 * (1 - np.abs(r))) + corr * 2.0**-6 + 2**-18)
    # monotone up to one step of t = u/2**a in the correction (a larger relative step never moves the code
    # less by more than (2·t_max + 1)·Lq / 2**lp_sh in u: 0.016 code at |r| = 0.5, 0.004 at the default 0.1)
    t = plan.tables
    jump = (2 * ((t["umax"] >> t["lp_a"]) + 1) + 1) * t["lp_q"] / 2.0 ** (t["lp_sh"] + 22) / kl
    assert np.all(np.diff(got) >= -jump) and jump * kl < 0.02
    assert int(np.abs(u).max()) <= plan.tables["umax"]  # the clip bound covers ratio_max


def test_code_tables_refreshed_in_place_equal_a_fresh_gather() -> None:
    """The per-parameter tables the learner updates where codes moved equal the tables of its codes."""
    from edge_mesu.fixed.rule import _FIELDS, CodeTables

    X, y = _stream(300, 6, seed=4)
    m = FixedMESULearner(layers=(6, 9, 3), sigma_max=[0.2, 0.05], seed=2)
    m.learn_many(X, y)
    cached = m._state.tables  # the learner's cache (internal): refreshed where codes moved
    assert cached is not None and m.plan.offsets == (0, 2 * m.plan.sigma_per_octave)  # 0.05 = 0.2 / 2**2
    code = m.flat_state()[1]
    fresh = CodeTables(m.plan, list(m.step_spec().layout.slices), code[None].astype(np.intp))
    moved = np.count_nonzero(code != FixedMESULearner(layers=(6, 9, 3), sigma_max=[0.2, 0.05], seed=2).flat_state()[1])
    assert moved > 0.3 * m.n_params()
    for name in _FIELDS:
        np.testing.assert_array_equal(getattr(cached, name), getattr(fresh, name), err_msg=name)


def test_round_shift32_is_unbiased_to_the_uniform_resolution() -> None:
    """Over all 2**20 rounding uniforms, the mean of the 32-bit stochastic rounding is x / 2**s: exactly for
    s < 20, and within the inner floor's bias (−2**−20 at most) above."""
    from edge_mesu.fixed.prng import SR_BITS
    from edge_mesu.fixed.rule import round_shift32

    rnd = np.arange(1 << SR_BITS, dtype=np.int32)
    rng = np.random.default_rng(0)
    cases = list(zip(rng.integers(-(2**30), 2**30, 12).tolist(), rng.integers(0, 45, 12).tolist()))
    cases += [(12345, 5), (-7, 25), (3, 60), (-(2**30), 19), (2**30, 31)]
    for x, s in cases:
        out = round_shift32(np.full(rnd.size, x, np.int32), np.full(rnd.size, s, np.int32), rnd, Rounding.STOCHASTIC, 1)
        mean = float(out.astype(np.float64).mean())
        exact = x / 2.0**s
        assert exact - 2.0**-SR_BITS - 1e-12 <= mean <= exact + 1e-12, (x, s, mean, exact)
        if s < SR_BITS:
            assert mean == exact, (x, s)


def test_integer_step_expectations_match_the_float_rule() -> None:
    """E[Δμ] and E[Δc] of one integer step (fixed gradients, all rounding uniforms random) against the float
    rule on the same σ, μ and gradients: Δμ = lr_μσ²(−g + (μp − μ)/(Nσp²)) in LSBs and Δc = −k·log2(1 + r),
    r = lr_σ·c_σ·((1 − σ²/σp²)/N − σ·g·ε). Tolerance: 5 standard errors of the mean over K draws (each step is
    one of two neighbouring integers) plus the tables' mantissa rounding (2**−13 relative), the prior pull's
    rounding to half a g16 unit and the second-order log (|r|³)."""
    from edge_mesu.fixed.rule import mesu_step_int

    m = FixedMESULearner(layers=(6, 5, 3), N=3000.0, ratio_max=None, sigma_init=0.05, seed=0)
    plan, spec = m.plan, m.step_spec()
    slices = list(spec.layout.slices)
    P, K = spec.layout.n_params, 4096
    rng = np.random.default_rng(1)
    mu = rng.integers(-3000, 3000, P)
    code = rng.integers(plan.code_min + 20, plan.code_max - 20, P)
    g16 = rng.integers(-(2**14), 2**14, P)
    ge = rng.integers(-(2**14), 2**14, P)
    tau = np.concatenate([np.full(sl.stop - sl.start, plan.tables["tau_min"][sl.layer] + 9) for sl in slices])
    counter = SaturationCounter()
    new_mu, new_code = mesu_step_int(
        plan,
        slices,
        np.tile(mu, (K, 1)),
        np.tile(code, (K, 1)),
        np.tile(g16, (K, 1)),
        np.tile(tau, (K, 1)),
        np.tile(ge, (K, 1)),
        rng.integers(0, 2**20, (K, P)),
        rng.integers(0, 2**20, (K, P)),
        Rounding.STOCHASTIC,
        counter,
    )
    assert counter.total() == 0  # nothing clipped: the expectations are the rule's
    d_mu = (new_mu.astype(np.float64) - mu).mean(axis=0)
    d_c = (new_code.astype(np.float64) - code).mean(axis=0)
    se_mu = np.maximum((new_mu.astype(np.float64) - mu).std(axis=0), 0.5) / math.sqrt(K)
    se_c = np.maximum((new_code.astype(np.float64) - code).std(axis=0), 0.5) / math.sqrt(K)
    k, rule = plan.sigma_per_octave, plan.rule
    for sl in slices:
        s = slice(sl.start, sl.stop)
        F, G = plan.mu_fmts[sl.layer].frac, plan.grad_frac(sl.layer)
        sigma = plan.sigma_of_code(code[s], sl.layer)
        unit = 2.0 ** (tau[s] - G)  # one g16 unit of gradient
        g, gext = g16[s] * unit, ge[s] * unit * 2.0  # ge = round(g16·ε_q / 2**13), ε_q at frac 12
        mu_r = mu[s] / 2.0**F
        f_mu = rule.lr_mu * sigma**2 * (-g + (rule.mu_prior - mu_r) / (rule.N * rule.sigma_prior**2)) * 2.0**F
        tol = 5 * se_mu[s] + 2.0**-12 * np.abs(f_mu) + rule.lr_mu * sigma**2 * 0.5 * unit * 2.0**F + 1e-4
        np.testing.assert_array_less(np.abs(d_mu[s] - f_mu), tol)
        lrc = rule.lr_sigma * rule.c_sigma
        r = lrc * ((1 - sigma**2 / rule.sigma_prior**2) / rule.N - sigma * gext)
        f_c = -k * np.log2(1 + r)
        tol_c = 5 * se_c[s] + 2.0**-12 * np.abs(f_c) + k / math.log(2) * np.abs(r) ** 3 + 1e-4
        np.testing.assert_array_less(np.abs(d_c[s] - f_c), tol_c)
    assert np.abs(d_mu).max() > 0.5 and np.abs(d_c).max() > 0.5  # the test moves both by more than noise
