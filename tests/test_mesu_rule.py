"""The float learner *is* the MESU rule: hand-written equations, finite differences, relaxation, knobs.

Equations (paper form, values before the step):
    Δμ = lr_μ·σ²·(−∂C/∂μ + (μp − μ)/(N·σp²))
    Δσ = lr_σ·c_σ·(−σ²·∂C/∂σ + σ·(σp² − σ²)/(N·σp²))
with ∂C/∂μ = E_s[∂C/∂w] and ∂C/∂σ = E_s[ε·∂C/∂w] through w = μ + σ·ε.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge_mesu import MESUConfig, MESULearner, mesu_update
from edge_mesu.mesu_rule import mesu_step_sizes

# --------------------------------------------------------------------------------------------------------
# helpers: an independent numpy forward pass (not edge_mesu.mlp) for the finite differences
# --------------------------------------------------------------------------------------------------------


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _loss(params: list[np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    """Σ_batch −log softmax(logits)[y] of a ReLU MLP with params [w0, b0, w1, b1, ...]."""
    a = X
    n_layers = len(params) // 2
    for i in range(n_layers):
        z = a @ params[2 * i] + params[2 * i + 1]
        a = np.maximum(z, 0.0) if i < n_layers - 1 else z
    z = a - a.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].sum())


def _mc_loss(mu: list[np.ndarray], sigma: list[np.ndarray], eps: list[np.ndarray], X, y) -> float:
    """C averaged over the S weight samples w = μ + σ·ε_s."""
    S = eps[0].shape[0]
    return sum(_loss([m + s * e[k] for m, s, e in zip(mu, sigma, eps)], X, y) for k in range(S)) / S


def _pre_activations(params: list[np.ndarray], X: np.ndarray) -> list[np.ndarray]:
    a, out = X, []
    for i in range(len(params) // 2 - 1):
        z = a @ params[2 * i] + params[2 * i + 1]
        out.append(z)
        a = np.maximum(z, 0.0)
    return out


# --------------------------------------------------------------------------------------------------------
# (a) one update on a two-weight network, by hand
# --------------------------------------------------------------------------------------------------------

HP = dict(N=50.0, sigma_prior=0.8, mu_prior=0.1, lr_mu=0.7, lr_sigma=1.3, c_sigma=0.5)


def _hand_step(mu, sigma, g_mu, g_sigma, N, sigma_prior, mu_prior, lr_mu, lr_sigma, c_sigma):
    """Equations (1) and (2) written out element by element in plain Python floats."""
    new_mu, new_sigma = [], []
    for m, s, gm, gs in zip(mu, sigma, g_mu, g_sigma):
        d_mu = lr_mu * s * s * (-gm + (mu_prior - m) / (N * sigma_prior**2))
        d_s = lr_sigma * c_sigma * (-(s * s) * gs + s * (sigma_prior**2 - s * s) / (N * sigma_prior**2))
        new_mu.append(m + d_mu)
        new_sigma.append(s + d_s)
    return new_mu, new_sigma


def _hand_grads_1x2(w: list[float], x: float, y: int) -> list[float]:
    """∂C/∂w_j for logits z_j = x·w_j and C = −log softmax(z)[y]: x·(p_j − [j = y])."""
    z = [x * wj for wj in w]
    mz = max(z)
    e = [math.exp(v - mz) for v in z]
    p = [v / sum(e) for v in e]
    return [x * (p[j] - (1.0 if j == y else 0.0)) for j in range(2)]


def test_gradients_of_two_weight_net_match_hand_formula() -> None:
    m = MESULearner(layers=(1, 2), bias=False, dtype="float64", sigma_init=0.3, seed=3, **HP)
    mu = m.params()["w0"][0].ravel().tolist()
    eps = np.array([[[1.3, -0.4]], [[-0.2, 0.9]]])  # two weight samples, shape (S=2, 1, 2)
    x, y = 0.9, 1
    g_mu, g_sigma = m.gradients(np.array([[x]]), np.array([y]), [eps])
    per_sample = [_hand_grads_1x2([mu[j] + 0.3 * eps[k, 0, j] for j in range(2)], x, y) for k in range(2)]
    exp_mu = [(per_sample[0][j] + per_sample[1][j]) / 2 for j in range(2)]
    exp_sigma = [(per_sample[0][j] * eps[0, 0, j] + per_sample[1][j] * eps[1, 0, j]) / 2 for j in range(2)]
    np.testing.assert_allclose(g_mu[0].ravel(), exp_mu, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(g_sigma[0].ravel(), exp_sigma, rtol=1e-13, atol=1e-15)
    # the two samples really differ, so averaging (not just the first sample) is what is checked
    assert abs(per_sample[0][0] - per_sample[1][0]) > 1e-3


def test_mesu_update_matches_hand_formula() -> None:
    cfg = MESUConfig(**HP)
    rng = np.random.default_rng(11)
    mu, sigma = rng.normal(size=7), rng.uniform(0.05, 1.5, size=7)
    g_mu, g_sigma = rng.normal(size=7), rng.normal(size=7)
    new_mu, new_sigma = mesu_update(mu, sigma, g_mu, g_sigma, cfg)
    exp_mu, exp_sigma = _hand_step(mu.tolist(), sigma.tolist(), g_mu.tolist(), g_sigma.tolist(), **HP)
    np.testing.assert_allclose(new_mu, exp_mu, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(new_sigma, exp_sigma, rtol=1e-14, atol=1e-15)


def test_learn_one_is_one_mesu_step_end_to_end() -> None:
    """learn_one = init draws, then ε ~ N(0,1) from the same PCG64, then the hand step."""
    seed, sigma0, x, y = 7, 0.3, 0.9, 1
    m = MESULearner(
        layers=(1, 2),
        bias=False,
        dtype="float64",
        sigma_init=sigma0,
        sigma_min=None,
        seed=seed,
        ratio_max=None,
        sigma_step_max=None,
        **HP,
    )  # the paper form: no clips
    rng = np.random.Generator(np.random.PCG64(seed))
    mu0 = rng.uniform(-4.0, 4.0, size=(1, 2))  # paper init: U(±4/√fan_in), fan_in = 1
    eps = rng.standard_normal((1, 2), dtype=np.float64)[0]
    np.testing.assert_array_equal(m.params()["w0"][0], mu0)
    mu, sig = mu0.ravel().tolist(), [sigma0, sigma0]
    g = _hand_grads_1x2([mu[j] + sig[j] * eps[j] for j in range(2)], x, y)
    exp_mu, exp_sigma = _hand_step(mu, sig, g, [g[j] * eps[j] for j in range(2)], **HP)
    m.learn_one([x], y)
    new_mu, new_sigma = m.params()["w0"]
    np.testing.assert_allclose(new_mu.ravel(), exp_mu, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(new_sigma.ravel(), exp_sigma, rtol=1e-12, atol=1e-14)
    assert m.step == 1
    assert not np.allclose(new_mu.ravel(), mu)  # the step is not a no-op


def test_mesu_update_is_pure() -> None:
    cfg = MESUConfig(N=10.0, ratio_max=0.1, sigma_min=0.01, sigma_max=2.0)
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=5), rng.uniform(0.1, 1, size=5), rng.normal(size=5), rng.normal(size=5)]
    copies = [a.copy() for a in arrays]
    new_mu, new_sigma = mesu_update(*arrays, cfg)
    for a, c in zip(arrays, copies):
        np.testing.assert_array_equal(a, c)
    assert new_mu is not arrays[0] and new_sigma is not arrays[1]


# --------------------------------------------------------------------------------------------------------
# (b) finite differences through w = μ + σ·ε
# --------------------------------------------------------------------------------------------------------


def test_gradients_match_central_finite_differences(check_gradients) -> None:
    m = MESULearner(layers=(3, 4, 3), bias=True, dtype="float64", sigma_init=0.3, seed=2, sampling="weights")
    rng = np.random.default_rng(5)
    # random biases too, so the bias gradients are not evaluated at a special point
    m._mu = [p + rng.normal(scale=0.2, size=p.shape) for p in m._mu]
    mu = [p.copy() for p in m._mu]
    sigma = [p.copy() for p in m._sigma]
    X, y = rng.normal(size=(5, 3)), np.array([0, 2, 1, 2, 0])
    eps = [rng.normal(size=(2,) + p.shape) for p in mu]  # S = 2 weight samples
    for k in range(2):  # validity guard: no ReLU kink within reach of the finite-difference step
        w = [mm + s * e[k] for mm, s, e in zip(mu, sigma, eps)]
        assert min(float(np.abs(z).min()) for z in _pre_activations(w, X)) > 1e-4
    g_mu, g_sigma = m.gradients(X, y, eps)
    check_gradients(g_mu, g_sigma, mu, sigma, lambda mu_p, sig_p: _mc_loss(mu_p, sig_p, eps, X, y))


# --------------------------------------------------------------------------------------------------------
# (c) relaxation to the prior on the time scale N
# --------------------------------------------------------------------------------------------------------


def test_mu_relaxes_to_prior_geometrically() -> None:
    # With σ = σp, σ is a fixed point of (2) with zero gradient, and (1) gives
    # μ_{t+1} − μp = (1 − lr_μ·σp²/(N·σp²))·(μ_t − μp) = (1 − 1/N)·(μ_t − μp): after N steps ≈ 1/e.
    N, mp = 1000, 0.5
    cfg = MESUConfig(N=N, sigma_prior=0.7, mu_prior=mp)
    mu0 = np.array([-3.0, -0.2, 0.5, 2.0, 4.0])
    mu, sigma = mu0.copy(), np.full(5, 0.7)
    zeros = np.zeros(5)
    for _ in range(N):
        mu, sigma = mesu_update(mu, sigma, zeros, zeros, cfg)
    np.testing.assert_allclose(sigma, 0.7, rtol=1e-12)
    np.testing.assert_allclose(mu - mp, (1 - 1 / N) ** N * (mu0 - mp), rtol=1e-9, atol=1e-15)
    assert abs((1 - 1 / N) ** N - math.exp(-1)) < 1e-3
    for _ in range(4 * N):  # 5N steps in total: the gap is below 1 %
        mu, sigma = mesu_update(mu, sigma, zeros, zeros, cfg)
    assert np.all(np.abs(mu - mp) <= 0.01 * np.abs(mu0 - mp) + 1e-15)


@pytest.mark.parametrize("c_sigma", [0.5, 1.0])
def test_sigma_relaxes_to_prior_logistically(c_sigma: float) -> None:
    # Zero gradient: dσ/dt = (c/N)·σ·(1 − σ²/σp²). With u = σ²/σp², du/dt = (2c/N)·u·(1 − u), so
    # u/(1 − u) grows (or decays towards σ > σp) as exp(2c·t/N). Discretisation error is O(1/N) per unit time.
    N, sp = 2000, 1.0
    cfg = MESUConfig(N=N, sigma_prior=sp, c_sigma=c_sigma)
    s0 = np.array([0.05, 0.3, 0.9, 1.1, 1.5])
    sigma, mu = s0.copy(), np.zeros(5)
    zeros = np.zeros(5)
    prev = sigma.copy()
    for _ in range(N):
        mu, sigma = mesu_update(mu, sigma, zeros, zeros, cfg)
        # monotone towards σp, never overshooting it
        assert np.all(np.abs(sigma - sp) <= np.abs(prev - sp) + 1e-15)
        assert np.all(np.sign(sigma - sp) == np.sign(s0 - sp))
        prev = sigma
    u0, u = s0**2 / sp**2, sigma**2 / sp**2
    np.testing.assert_allclose(u / (1 - u), u0 / (1 - u0) * math.exp(2 * c_sigma), rtol=5e-3)
    np.testing.assert_array_equal(mu, 0.0)  # μ = μp stays put


# --------------------------------------------------------------------------------------------------------
# (d) σ stays positive on a well-scaled stream without any floor
# --------------------------------------------------------------------------------------------------------


def _stream(n: int, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, np.argmax(X[:, :3], axis=1)


def test_sigma_stays_positive_without_floor_and_learning_happens() -> None:
    X, y = _stream(3500)
    m = MESULearner(
        layers=(4, 8, 3),
        N=10_000,
        sigma_init=0.1,
        sigma_min=None,
        ratio_max=None,
        sigma_step_max=None,
        dtype="float64",
        seed=0,
    )
    assert m.config.sigma_min is None and m.config.ratio_max is None and m.config.sigma_step_max is None
    m.learn_many(X[:3000], y[:3000])  # raises FloatingPointError if any σ became <= 0
    p = m.params()
    for name, (mu, sigma) in p.items():
        assert np.all(np.isfinite(mu)), name
        assert np.all(sigma > 0) and np.all(np.isfinite(sigma)), name
    # the data made σ shrink (information gained) and the learner predicts well
    assert p["w0"][1].mean() < 0.1
    assert (m.predict(X[3000:]) == y[3000:]).mean() > 0.85


def test_non_finite_step_raises_and_leaves_state_unchanged() -> None:
    m = MESULearner(layers=(4, 8, 3), N=1000, sigma_init=0.1, seed=0)
    X, y = _stream(20)
    m.learn_many(X, y)
    before = m.to_bytes()
    with pytest.raises(FloatingPointError, match="unchanged"):
        with np.errstate(all="ignore"):
            m.learn_one([1e300, -1e300, 1e300, 1e300], 0)  # finite input, overflowing forward pass
    assert m.to_bytes() == before  # μ, σ, step and the generator state
    m2 = MESULearner.from_bytes(before)
    m.learn_many(X, y)
    m2.learn_many(X, y)
    assert m.to_bytes() == m2.to_bytes()


# --------------------------------------------------------------------------------------------------------
# (e) knobs
# --------------------------------------------------------------------------------------------------------


def _random_state(n: int = 50, seed: int = 1, grad_scale: float = 1.0):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=n),
        rng.uniform(0.05, 1.2, size=n),
        grad_scale * rng.normal(size=n),
        grad_scale * rng.normal(size=n),
    )


def test_paper_defaults() -> None:
    cfg = MESUConfig()
    assert (cfg.N, cfg.sigma_prior, cfg.mu_prior, cfg.lr_mu, cfg.lr_sigma, cfg.c_sigma) == (
        300_000.0,
        1.0,
        0.0,
        1.0,
        1.0,
        0.5,
    )
    assert cfg.ratio_max is None and cfg.sigma_min is None and cfg.sigma_max is None
    assert cfg.sigma_step_max is None
    m = MESULearner(layers=(4, 3))
    assert m.config.c_sigma == 0.5 and m.config.sigma_min == 1e-6 and m.config.N == 300_000.0


def test_c_sigma_and_learning_rates_scale_only_their_own_step() -> None:
    s = _random_state()
    d_mu, d_sig = mesu_step_sizes(*s, MESUConfig(N=30.0))
    d_mu2, d_sig2 = mesu_step_sizes(*s, MESUConfig(N=30.0, c_sigma=1.0))
    np.testing.assert_array_equal(d_mu2, d_mu)
    np.testing.assert_allclose(d_sig2, 2 * d_sig, rtol=1e-14)
    d_mu3, d_sig3 = mesu_step_sizes(*s, MESUConfig(N=30.0, lr_mu=3.0))
    np.testing.assert_allclose(d_mu3, 3 * d_mu, rtol=1e-14)
    np.testing.assert_array_equal(d_sig3, d_sig)
    d_mu4, d_sig4 = mesu_step_sizes(*s, MESUConfig(N=30.0, lr_sigma=0.25))
    np.testing.assert_array_equal(d_mu4, d_mu)
    np.testing.assert_allclose(d_sig4, 0.25 * d_sig, rtol=1e-14)


def test_ratio_max_clips_both_steps_to_a_fraction_of_sigma() -> None:
    mu, sigma, gm, gs = _random_state(n=200, grad_scale=0.2)
    free_mu, free_sig = mesu_step_sizes(mu, sigma, gm, gs, MESUConfig(N=30.0))
    d_mu, d_sig = mesu_step_sizes(mu, sigma, gm, gs, MESUConfig(N=30.0, ratio_max=0.05))
    bound = 0.05 * sigma
    for free, clipped in ((free_mu, d_mu), (free_sig, d_sig)):
        big = np.abs(free) > bound
        assert 10 < big.sum() < 190  # both regimes are exercised
        np.testing.assert_allclose(clipped[big], np.sign(free[big]) * bound[big], rtol=1e-14)
        np.testing.assert_array_equal(clipped[~big], free[~big])
    new_mu, new_sig = mesu_update(mu, sigma, gm, gs, MESUConfig(N=30.0, ratio_max=0.05))
    assert np.all(np.abs(new_mu - mu) <= bound * (1 + 1e-12))
    assert np.all(new_sig >= sigma * (1 - 0.05) * (1 - 1e-12))  # σ can lose at most 5 % per step


def test_sigma_step_max_clips_only_the_relative_sigma_step() -> None:
    mu, sigma, gm, gs = _random_state(n=200, grad_scale=3.0)
    free_mu, free_sig = mesu_step_sizes(mu, sigma, gm, gs, MESUConfig(N=30.0))
    d_mu, d_sig = mesu_step_sizes(mu, sigma, gm, gs, MESUConfig(N=30.0, sigma_step_max=0.3))
    np.testing.assert_array_equal(d_mu, free_mu)
    bound = 0.3 * sigma
    big = np.abs(free_sig) > bound
    assert 10 < big.sum() < 190
    np.testing.assert_allclose(d_sig[big], np.sign(free_sig[big]) * bound[big], rtol=1e-14)
    np.testing.assert_array_equal(d_sig[~big], free_sig[~big])
    # without the guard some σ would turn negative on these gradients; with it σ keeps >= 70 %
    assert np.any(sigma + free_sig <= 0)
    new_sig = mesu_update(mu, sigma, gm, gs, MESUConfig(N=30.0, sigma_step_max=0.3))[1]
    assert np.all(new_sig >= 0.7 * sigma * (1 - 1e-12))
    # combined with ratio_max the tighter bound wins
    d_sig2 = mesu_step_sizes(mu, sigma, gm, gs, MESUConfig(N=30.0, sigma_step_max=0.3, ratio_max=0.05))[1]
    assert np.all(np.abs(d_sig2) <= 0.05 * sigma * (1 + 1e-12))


def test_sigma_min_and_sigma_max_clamp_sigma_only() -> None:
    mu, sigma, gm, gs = _random_state(n=200, grad_scale=3.0)
    free_mu, free_sig = mesu_update(mu, sigma, gm, gs, MESUConfig(N=30.0))
    lo, hi = 0.2, 0.8
    assert np.any(free_sig < lo) and np.any(free_sig > hi)
    new_mu, new_sig = mesu_update(mu, sigma, gm, gs, MESUConfig(N=30.0, sigma_min=lo, sigma_max=hi))
    np.testing.assert_array_equal(new_mu, free_mu)
    np.testing.assert_array_equal(new_sig, np.clip(free_sig, lo, hi))
    only_min = mesu_update(mu, sigma, gm, gs, MESUConfig(N=30.0, sigma_min=lo))[1]
    np.testing.assert_array_equal(only_min, np.maximum(free_sig, lo))
    only_max = mesu_update(mu, sigma, gm, gs, MESUConfig(N=30.0, sigma_max=hi))[1]
    np.testing.assert_array_equal(only_max, np.minimum(free_sig, hi))


def test_learner_honours_knobs_over_a_stream() -> None:
    X, y = _stream(300, seed=3)
    m = MESULearner(layers=(4, 8, 3), N=1000, sigma_init=0.1, sigma_min=0.095, sigma_max=0.102, dtype="float64", seed=1)
    m.learn_many(X, y)
    for _, sigma in m.params().values():
        assert sigma.min() >= 0.095 and sigma.max() <= 0.102
    # ratio_max: every single step obeys |Δμ| <= ratio_max·σ_before, and the clip is active
    r = MESULearner(layers=(4, 8, 3), N=1000, sigma_init=0.1, ratio_max=0.01, dtype="float64", seed=1)
    assert r.config.ratio_max == 0.01
    worst = 0.0
    for i in range(100):
        before = r.params()
        r.learn_one(X[i], y[i])
        after = r.params()
        for name in before:
            ratio = np.abs(after[name][0] - before[name][0]) / before[name][1]
            worst = max(worst, float(ratio.max()))
    assert 0.0099 < worst <= 0.01 * (1 + 1e-9)


# --------------------------------------------------------------------------------------------------------
# (f) configuration validation
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"N": 0}, "N"),
        ({"N": -5.0}, "N"),
        ({"N": float("nan")}, "N"),
        ({"N": float("inf")}, "N"),
        ({"N": "300"}, "N"),
        ({"sigma_prior": 0.0}, "sigma_prior"),
        ({"sigma_prior": -1.0}, "sigma_prior"),
        ({"lr_mu": 0.0}, "lr_mu"),
        ({"lr_sigma": -1.0}, "lr_sigma"),
        ({"c_sigma": 0.0}, "c_sigma"),
        ({"mu_prior": float("inf")}, "mu_prior"),
        ({"mu_prior": float("nan")}, "mu_prior"),
        ({"ratio_max": 0.0}, "ratio_max"),
        ({"ratio_max": float("nan")}, "ratio_max"),
        ({"sigma_step_max": 0.0}, "sigma_step_max"),
        ({"sigma_step_max": 1.0}, "sigma_step_max"),
        ({"sigma_step_max": float("nan")}, "sigma_step_max"),
        ({"sigma_min": -1e-3}, "sigma_min"),
        ({"sigma_max": float("inf")}, "sigma_max"),
        ({"sigma_min": 0.5, "sigma_max": 0.5}, "sigma_min"),
        ({"sigma_min": 0.6, "sigma_max": 0.5}, "sigma_min"),
    ],
)
def test_config_rejects_bad_values(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        MESUConfig(**kwargs)


def test_learner_rejects_bad_hyper_parameters_through_config() -> None:
    with pytest.raises(ValueError, match="N"):
        MESULearner(layers=(4, 3), N=0)
    with pytest.raises(ValueError, match="sigma_init"):
        MESULearner(layers=(4, 3), sigma_init=-0.1)
    with pytest.raises(ValueError, match="dtype"):
        MESULearner(layers=(4, 3), dtype="float16")
    with pytest.raises(ValueError, match="classes"):
        MESULearner(layers=(4, 1))
    with pytest.raises(ValueError, match="train_samples"):
        MESULearner(layers=(4, 3), train_samples=0)


def test_config_is_frozen() -> None:
    cfg = MESUConfig()
    with pytest.raises(AttributeError):
        cfg.N = 5.0  # type: ignore[misc]


def test_centered_sigma_gradient_has_the_same_mean_and_less_noise() -> None:
    """sigma_grad="centered" subtracts the mean-weight gradient before multiplying by ε: same expectation."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(1, 6)), np.array([1])
    plain = MESULearner(layers=(6, 5, 3), dtype="float64", sigma_init=0.3, seed=0, sampling="weights")
    centred = MESULearner(
        layers=(6, 5, 3), dtype="float64", sigma_init=0.3, seed=0, sigma_grad="centered", sampling="weights"
    )
    draws = [[rng.standard_normal((1,) + m.shape) for m in plain._mu] for _ in range(4000)]
    g_plain = np.array([np.concatenate([g.ravel() for g in plain.gradients(X, y, e)[1]]) for e in draws])
    g_cent = np.array([np.concatenate([g.ravel() for g in centred.gradients(X, y, e)[1]]) for e in draws])
    se = np.sqrt(g_plain.var(axis=0) / len(draws)) + 1e-12
    assert np.all(np.abs(g_plain.mean(axis=0) - g_cent.mean(axis=0)) < 5 * se + 1e-9)
    assert g_cent.var(axis=0).sum() < 0.9 * g_plain.var(axis=0).sum()  # measured: 3.20 vs 3.95
    with pytest.raises(ValueError, match="sigma_grad"):
        MESULearner(layers=(6, 5, 3), sigma_grad="fisher")
