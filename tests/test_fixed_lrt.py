"""Local reparameterisation in the fixed-point learner (``FixedMESULearner(sampling="lrt")``, numpy backend;
the C port's bit-exactness is tests/test_c_lrt.py's).

The integer step (:mod:`edge_mesu.fixed.lrt`) samples each layer's pre-activation b_j = m_j + s_j·ε_j from
integer tables; its gradients are checked against the float :func:`edge_mesu.mlp.lrt_gradients` on the
dequantised state with the same ε, and its update's expectations against the float MESU rule fed with the
float LRT gradient of the same ε.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge_mesu import FixedMESULearner
from edge_mesu.fixed.lrt import LRT_STREAM, isqrt_round, lrt_eps
from edge_mesu.fixed.qformat import SaturationCounter
from edge_mesu.fixed.step import FixedState, _tables, learn, lrt_gradients
from edge_mesu.mlp import lrt_gradients as float_lrt_gradients


def _learner(layers=(6, 5, 3), bias=True, seed=0, **kw) -> FixedMESULearner:
    """A fixed LRT learner whose σ codes are spread over the window (not at the initial σ only)."""
    m = FixedMESULearner(layers, sampling="lrt", bias=bias, seed=seed, sigma_init=0.1, N=3000.0, **kw)
    rng = np.random.default_rng(100 + seed)
    m._code = rng.integers(10, 200, m.n_params()).astype(np.uint8)
    return m


def _float_grads(m: FixedMESULearner, x_q: np.ndarray, y: np.ndarray, eps: list[np.ndarray]):
    """Flat (∂C/∂μ, ∂C/∂σ) of the float LRT gradient on the dequantised state, ε = the Q12 ε / 2**12."""
    p = m.params()
    L = m.n_layers
    mw = [p[f"w{l}"][0] for l in range(L)]
    sw = [p[f"w{l}"][1] for l in range(L)]
    mb = [p[f"b{l}"][0] if m.bias else None for l in range(L)]
    sb = [p[f"b{l}"][1] if m.bias else None for l in range(L)]
    X = m.plan.input_fmt.dequantize(x_q)
    gmw, gsw, gmb, gsb = float_lrt_gradients(mw, sw, mb, sb, X, y, [e[0][None] / 4096.0 for e in eps])
    order_mu, order_sig = [], []
    for l in range(L):
        order_mu.append(gmw[l].ravel())
        order_sig.append(gsw[l].ravel())
        if m.bias:
            order_mu.append(np.ravel(gmb[l]))
            order_sig.append(np.ravel(gsb[l]))
    return np.concatenate(order_mu), np.concatenate(order_sig)


def _int_grads(m: FixedMESULearner, x_q: np.ndarray, y: np.ndarray, step: int = 0):
    """The integer gradients as floats: ∂C/∂μ = g16·2**(τ − G), ∂C/∂σ = σ·h16·2**τσ; and the ε used."""
    spec = m.step_spec()
    mu, code = m.flat_state()
    eps = lrt_eps(spec.layout.layers[1:], np.array([m.seed]), np.array([step]), 0, x_q.shape[0])
    counter = SaturationCounter()
    g16, tau, h16, tau_s = lrt_gradients(
        spec, x_q[None], y[None], mu[None].astype(np.int64), _tables(spec, code[None]).sq16, eps, counter
    )
    G = np.concatenate([np.full(sl.stop - sl.start, m.plan.grad_frac(sl.layer)) for sl in spec.layout.slices])
    sigma = np.concatenate([s.ravel() for _, s in m.params().values()])
    return g16[0] * 2.0 ** (tau[0] - G), sigma * h16[0] * 2.0 ** tau_s[0], eps, counter


def test_isqrt_round_is_the_nearest_integer_root() -> None:
    rng = np.random.default_rng(0)
    v = np.concatenate([np.arange(2000), rng.integers(0, 2**62, 5000), [2**62 - 1]])
    s = isqrt_round(v)
    exact = [round(math.sqrt(int(x))) if int(x) < 2**52 else None for x in v]
    for x, got, ref in zip(v.tolist(), s.tolist(), exact):
        lo, hi = (got - 1) * got, got * (got + 1)  # round(√x) = n ⇔ n² − n < x <= n² + n (integers)
        assert lo < x <= hi or (x == 0 and got == 0), (x, got)
        assert ref is None or ref == got or abs(math.sqrt(x) - got) == 0.5


@pytest.mark.parametrize(
    "layers, bias, rows, scale", [((6, 5, 3), True, 1, 1.0), ((20, 8, 4), False, 1, 2.0), ((7, 6, 5, 3), True, 3, 1.0)]
)
def test_integer_lrt_gradient_matches_the_float_lrt_gradient(layers, bias, rows, scale) -> None:
    """Same ε, dequantised state: every ∂C/∂μ and ∂C/∂σ within 1 % of the largest of its kind (measured up to
    0.49 %: the int8 input, Q7.8 activations, Q15 softmax and 15-bit mantissas), on 4 seeds; a batch of 3 rows
    and a 3-layer net included."""
    for seed in range(4):
        m = _learner(layers, bias=bias, seed=seed)
        rng = np.random.default_rng(seed)
        x_q = m.quantize(rng.normal(size=(rows, layers[0])) * scale).astype(np.int64)
        y = rng.integers(0, layers[-1], rows)
        g_mu, g_sig, eps, counter = _int_grads(m, x_q, y)
        f_mu, f_sig = _float_grads(m, x_q, y, eps)
        assert counter.total() == 0
        for name, got, ref in (("mu", g_mu, f_mu), ("sigma", g_sig, f_sig)):
            err = np.abs(got - ref).max()
            assert err <= 0.01 * np.abs(ref).max(), (name, seed, err, np.abs(ref).max())


def test_lrt_step_expectations_match_the_float_rule_with_the_float_lrt_gradient() -> None:
    """One integer LRT step of K devices (own seed: own ε and rounding uniforms) from one state, against the
    float MESU rule fed with each device's float LRT gradient of the same ε: E[Δμ] (in LSB) and E[Δc] (codes,
    Δc = −k·log2(1 + r), r = lr_σ·c_σ·((1 − σ²/σp²)/N − σ·∂C/∂σ)) agree within 5 standard errors of the mean
    difference plus 2 % of the largest float step of the layer (the gradients' quantisation, test above)."""
    K = 1500
    m = _learner((6, 5, 3), bias=True, seed=1, ratio_max=None)
    plan, spec = m.plan, m.step_spec()
    rng = np.random.default_rng(9)
    x_q = m.quantize(rng.normal(size=(1, 6))).astype(np.int64)
    y = np.array([2])
    mu, code = m.flat_state()
    state = FixedState.replicate(mu, code, seeds=range(K), step=0)
    state.tables = _tables(spec, state.code)
    counter = SaturationCounter()
    new_mu, new_code = learn(spec, state, np.tile(x_q, (K, 1, 1)), np.tile(y, (K, 1)), counter)
    assert counter.total() == 0  # nothing clipped: the expectations are the rule's
    eps_all = lrt_eps(spec.layout.layers[1:], state.seed, state.step, 0, 1)
    f_g = np.empty((K, mu.size))
    f_s = np.empty((K, mu.size))
    for d in range(K):
        f_g[d], f_s[d] = _float_grads(m, x_q, y, [e[d : d + 1] for e in eps_all])
    rule, k = plan.rule, plan.sigma_per_octave
    lrc = rule.lr_sigma * rule.c_sigma
    for sl in spec.layout.slices:
        s = slice(sl.start, sl.stop)
        F = plan.mu_fmts[sl.layer].frac
        sigma = plan.sigma_of_code(code[s], sl.layer)
        prior = (rule.mu_prior - mu[s] / 2.0**F) / (rule.N * rule.sigma_prior**2)
        f_mu = rule.lr_mu * sigma**2 * (-f_g[:, s] + prior) * 2.0**F
        f_c = -k * np.log2(1 + lrc * ((1 - sigma**2 / rule.sigma_prior**2) / rule.N - sigma * f_s[:, s]))
        for got, ref in (
            (new_mu[:, s].astype(np.float64) - mu[s], f_mu),
            (new_code[:, s] - code[s].astype(float), f_c),
        ):
            diff = got - ref
            se = np.maximum(diff.std(axis=0), 0.5) / math.sqrt(K)
            tol = 5 * se + 0.02 * np.abs(ref.mean(axis=0)).max() + 1e-3
            np.testing.assert_array_less(np.abs(diff.mean(axis=0)), tol)
    assert np.abs(new_mu.astype(float) - mu).mean(axis=0).max() > 1.0  # the steps are more than noise
    assert np.abs(new_code.astype(float) - code).mean(axis=0).max() > 0.5


def test_lrt_learner_is_deterministic_and_differs_from_weight_sampling() -> None:
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(80, 6)), rng.integers(0, 3, 80)
    a, b = (FixedMESULearner((6, 7, 3), sampling="lrt", seed=5, N=2000.0, sigma_init=0.1) for _ in range(2))
    a.learn_many(X, y)
    b.learn_many(X, y)
    assert a.to_bytes() == b.to_bytes()
    w = FixedMESULearner((6, 7, 3), seed=5, N=2000.0, sigma_init=0.1, sampling="weights")
    w.learn_many(X, y)
    assert not np.array_equal(w.flat_state()[0], a.flat_state()[0])
    other = FixedMESULearner((6, 7, 3), sampling="lrt", seed=6, N=2000.0, sigma_init=0.1)
    other.learn_many(X, y)
    assert not np.array_equal(other.flat_state()[0], a.flat_state()[0])


def test_lrt_uses_its_own_stream_and_the_weight_steps_rounding_streams() -> None:
    """The pre-activation ε are draws of stream LRT_STREAM of (seed, step); every other stream is unchanged."""
    from edge_mesu.fixed.prng import gaussian_from_bits, random_bits

    m = FixedMESULearner((4, 3, 2), sampling="lrt", seed=7)
    eps = lrt_eps(m.step_spec().layout.layers[1:], np.array([7]), np.array([11]), 0, 2)
    flat = np.concatenate([np.concatenate([e[0, b] for e in eps]) for b in range(2)])
    np.testing.assert_array_equal(flat, gaussian_from_bits(random_bits(7, 11, LRT_STREAM, 10)))


def test_an_old_fixed_state_loads_as_weight_sampling() -> None:
    """The round trip of an LRT state is tests/test_lrt.py's (both learners); weight sampling's files stay as
    they were (no ``sampling`` key) and load as ``"weights"``."""
    weights = FixedMESULearner((5, 4, 3), seed=3, sampling="weights")
    assert "sampling" not in weights.state_dict()["meta"]["init"]  # files of weight sampling unchanged
    assert FixedMESULearner.from_bytes(weights.to_bytes()).sampling == "weights"


def test_lrt_is_refused_with_the_centered_gradient() -> None:
    """(The C backend and the C export run sampling='lrt' since the C port: tests/test_c_lrt.py.)"""
    with pytest.raises(ValueError, match="sampling='lrt' takes sigma_grad='reparam' only"):
        FixedMESULearner((4, 3, 2), sampling="lrt", sigma_grad="centered")
    with pytest.raises(ValueError, match=r"sampling must be one of \('weights', 'lrt'\), got 'LRT'"):
        FixedMESULearner((4, 3, 2), sampling="LRT")
    # the C export learns with the reparameterisation gradient: it refuses the centered one by name, before
    # writing anything, rather than export a device that learns differently from the learner
    from edge_mesu.fixed.cgen import generate_c

    with pytest.raises(ValueError, match=r"C export learns as the device does.*centered"):
        generate_c(FixedMESULearner((4, 3, 2), sigma_grad="centered", sampling="weights"))
    assert "mesu_net.c" in generate_c(FixedMESULearner((4, 3, 2))).files  # the default configuration exports
    assert "mesu_net.c" in generate_c(FixedMESULearner((4, 3, 2), sampling="lrt")).files  # and LRT's


def test_prediction_does_not_depend_on_the_sampling() -> None:
    X = np.random.default_rng(2).normal(size=(7, 5))
    w = FixedMESULearner((5, 4, 3), seed=3, sigma_init=0.3)
    lrt = FixedMESULearner((5, 4, 3), seed=3, sigma_init=0.3, sampling="lrt")
    np.testing.assert_array_equal(w.predict_proba(X), lrt.predict_proba(X))
    np.testing.assert_array_equal(w.proba_q15(w.quantize(X), samples=4), lrt.proba_q15(lrt.quantize(X), samples=4))


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("kind", ["zeros", "saturated", "spikes", "dead_channel"])
def test_lrt_learns_finitely_on_heavy_tailed_inputs(kind: str, bias: bool) -> None:
    """All-zero inputs (s_j = 0 without biases: no noise, no σ gradient), inputs saturating the int8 format,
    rare spikes and a dead channel: the step runs, μ stays within its limits, codes within the window, and the
    probabilities are finite and sum to one; train_samples = 2 and a mini-batch included."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 6))
    if kind == "zeros":
        X[:] = 0.0
    elif kind == "saturated":
        X = np.sign(X) * 1e6
    elif kind == "spikes":
        X[::7, rng.integers(0, 6)] = 1e4
    else:
        X[:, 2] = 0.0
    y = rng.integers(0, 3, 60)
    for kw in ({}, {"train_samples": 2}):
        m = FixedMESULearner((6, 8, 3), sampling="lrt", bias=bias, seed=1, N=500.0, sigma_init=0.2, **kw)
        m.learn_many(X[:40], y[:40])
        m.learn_many(X[40:], y[40:], batch_size=4)
        mu, code = m.flat_state()
        lims = np.concatenate(
            [np.full(sl.stop - sl.start, m.plan.tables["mu_lim"][sl.layer]) for sl in m.step_spec().layout.slices]
        )
        assert (np.abs(mu.astype(np.int64)) <= lims).all()
        assert code.min() >= m.plan.code_min and code.max() <= m.plan.code_max
        p = m.predict_proba(X)
        assert np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1.0)
        if kind == "zeros" and not bias:  # nothing to learn from: only the prior moves the state
            assert m.counters.total() == 0


def test_a_fleet_of_lrt_learners_steps_each_device_as_its_own_learner() -> None:
    """The step is written once over a device axis: a Fleet of an LRT template equals D separate learners."""
    from edge_mesu.fleet.batched import Fleet, solo_learner

    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(3, 12, 5)), rng.integers(0, 3, (3, 12))
    template = FixedMESULearner((5, 6, 3), sampling="lrt", bias=True, seed=0, N=800.0, sigma_init=0.2)
    fleet = Fleet(template, seeds=[11, 12, 13])
    for t in range(12):
        fleet.learn(X[:, t], y[:, t])
    for d, seed in enumerate([11, 12, 13]):
        one = solo_learner(template, seed)
        assert one.sampling == "lrt"
        for t in range(12):
            one.learn_one(X[d, t], y[d, t])
        np.testing.assert_array_equal(fleet.state.mu[d], one.flat_state()[0])
        np.testing.assert_array_equal(fleet.state.code[d], one.flat_state()[1])
