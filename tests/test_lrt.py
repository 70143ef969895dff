"""Local reparameterisation (``MESULearner(sampling="lrt")``): the gradient, its statistics, the option.

A layer's pre-activation is sampled instead of its weights: b_j = m_j + s_j·ε_j with m_j = Σ_i μ_ij·a_i + μ_bj
and s_j² = Σ_i σ_ij²·a_i² + σ_bj². Its pathwise gradient is ∂C/∂μ_ij = δ_j·a_i, ∂C/∂σ_ij = δ_j·ε_j·σ_ij·a_i²/s_j
(δ_j = ∂C/∂b_j, which reaches the layer below through m and s). For one input row it is an unbiased estimator of
the same ∂E[C]/∂(μ, σ) as the per-weight estimator E[ε·∂C/∂w], with less variance.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from edge_mesu import MESULearner, make_learner
from edge_mesu.mesu import SAMPLINGS


def _lrt_loss(mu: list[np.ndarray], sigma: list[np.ndarray], eps: list[np.ndarray], X, y) -> float:
    """Independent forward pass: C averaged over samples, params [w0, b0, w1, b1, ...], eps[l] (S, B, fan_out)."""
    n_layers = len(mu) // 2
    total = 0.0
    for k in range(eps[0].shape[0]):
        a = X
        for i in range(n_layers):
            m = a @ mu[2 * i] + mu[2 * i + 1]
            s = np.sqrt((a * a) @ (sigma[2 * i] ** 2) + sigma[2 * i + 1] ** 2)
            z = m + s * eps[i][k]
            a = np.maximum(z, 0.0) if i < n_layers - 1 else z
        z = a - a.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        total += float(-logp[np.arange(len(y)), y].sum())
    return total / eps[0].shape[0]


def _perturbed(sampling: str, layers=(3, 4, 3), seed: int = 2, **kw) -> MESULearner:
    m = MESULearner(layers=layers, bias=True, dtype="float64", sigma_init=0.3, seed=seed, sampling=sampling, **kw)
    rng = np.random.default_rng(5)
    m._mu = [p + rng.normal(scale=0.2, size=p.shape) for p in m._mu]  # biases not at a special point
    m._sigma = [p * rng.uniform(0.5, 1.5, size=p.shape) for p in m._sigma]  # nor σ
    return m


def _flat(grads: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([g.ravel() for g in grads])


def test_lrt_gradients_match_central_finite_differences(check_gradients) -> None:
    """Both gradients, every layer, biases included, S = 2 samples, a batch of 5 rows: the backward pass is the
    exact derivative of the sampled loss (including the path of δ through s_j into the layer below)."""
    m = _perturbed("lrt")
    mu = [p.copy() for p in m._mu]
    sigma = [p.copy() for p in m._sigma]
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(5, 3)), np.array([0, 2, 1, 2, 0])
    eps = [rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 3))]
    g_mu, g_sigma = m.gradients(X, y, eps)
    check_gradients(g_mu, g_sigma, mu, sigma, lambda mu_p, sig_p: _lrt_loss(mu_p, sig_p, eps, X, y))


def test_lrt_matches_the_hand_formula_on_one_layer() -> None:
    """One layer, one row: ∂C/∂σ_ij = (p_j − [j = y])·ε_j·σ_ij·a_i²/s_j written out."""
    m = _perturbed("lrt", layers=(3, 2))
    x, y = np.array([[0.5, -1.2, 2.0]]), np.array([1])
    eps = [np.array([[[0.7, -1.1]]])]
    g_mu, g_sigma = m.gradients(x, y, eps)
    W, b = m._mu
    sW, sb = m._sigma
    s = np.sqrt((x[0] ** 2) @ sW**2 + sb**2)
    z = x[0] @ W + b + s * eps[0][0, 0]
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    delta = p - np.array([0.0, 1.0])
    np.testing.assert_allclose(g_mu[0], np.outer(x[0], delta), rtol=1e-12)
    np.testing.assert_allclose(g_mu[1], delta, rtol=1e-12)
    np.testing.assert_allclose(g_sigma[0], np.outer(x[0] ** 2, delta * eps[0][0, 0] / s) * sW, rtol=1e-12)
    np.testing.assert_allclose(g_sigma[1], delta * eps[0][0, 0] / s * sb, rtol=1e-12)


def _estimator_draws(sampling: str, X, y, reps: int, per_call: int) -> np.ndarray:
    """``reps`` means of ``per_call`` samples each of (∂C/∂μ, ∂C/∂σ), flattened."""
    m = _perturbed(sampling, layers=(12, 6, 3))
    rng = np.random.default_rng(11 if sampling == "lrt" else 12)
    out = []
    for _ in range(reps):
        eps = m._draw_eps_lrt(rng, per_call, len(y)) if sampling == "lrt" else m._draw_eps(rng, per_call)
        g_mu, g_sigma = m.gradients(X, y, eps)
        out.append(np.concatenate([_flat(g_mu), _flat(g_sigma)]))
    return np.array(out)


def test_lrt_estimator_has_the_per_weight_mean_and_less_variance() -> None:
    """Monte Carlo on a 12-6-3 net, one row: E over ε of both estimators agree within statistical error; the
    LRT variance of ∂C/∂σ (and of ∂C/∂μ) is lower."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(1, 12)), np.array([1])
    reps, per_call = 300, 100
    w = _estimator_draws("weights", X, y, reps, per_call)
    lrt = _estimator_draws("lrt", X, y, reps, per_call)
    se = np.sqrt(w.var(axis=0) / reps + lrt.var(axis=0) / reps) + 1e-12
    z = (w.mean(axis=0) - lrt.mean(axis=0)) / se
    assert np.abs(z).max() < 5.0, f"max |z| {np.abs(z).max():.2f} over {z.size} gradients"
    n_mu = w.shape[1] // 2
    var_w, var_l = per_call * w.var(axis=0), per_call * lrt.var(axis=0)  # per-sample variances
    assert var_l[n_mu:].sum() < 0.6 * var_w[n_mu:].sum()  # ∂C/∂σ, measured 0.39×
    assert var_l[:n_mu].sum() < var_w[:n_mu].sum()  # ∂C/∂μ, measured 0.91×


def test_lrt_update_statistics_match_the_per_weight_rule() -> None:
    """One learn_one step repeated from the same state (pure rule, no clip): E[Δμ] and E[Δσ] agree between
    the two samplings within statistical error, and LRT's Δσ varies less."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=8), 2
    steps = {}
    mu0: list[np.ndarray] = []
    for sampling in SAMPLINGS:
        m = MESULearner(
            layers=(8, 5, 3),
            preset="paper",
            bias=True,
            train_samples=1,
            N=1000.0,
            sigma_init=0.1,
            dtype="float64",
            seed=9,
            sampling=sampling,
        )
        mu0 = mu0 or [p + rng.normal(scale=0.2, size=p.shape) for p in m._mu]  # the same state for both
        sigma0 = [p.copy() for p in m._sigma]
        d = []
        for _ in range(1500):
            m._mu, m._sigma = list(mu0), list(sigma0)
            m._learn_batch(x[None], np.array([y]))
            d.append(np.concatenate([_flat([a - b for a, b in zip(m._mu, mu0)]), _flat(m._sigma) - _flat(sigma0)]))
        steps[sampling] = np.array(d)
    w, lrt = steps["weights"], steps["lrt"]
    se = np.sqrt(w.var(axis=0) / len(w) + lrt.var(axis=0) / len(lrt)) + 1e-15
    z = (w.mean(axis=0) - lrt.mean(axis=0)) / se
    n_mu = w.shape[1] // 2
    assert np.abs(z).max() < 5.0
    assert lrt[:, n_mu:].var(axis=0).sum() < 0.6 * w[:, n_mu:].var(axis=0).sum()  # measured 0.32×
    assert np.all(np.abs(lrt.mean(axis=0)) > 0)  # the step moves every parameter


def test_lrt_draws_one_normal_per_output_and_row() -> None:
    m = MESULearner(layers=(784, 50, 10), sampling="lrt", bias=False, seed=0)
    before = m._rng.bit_generator.state["state"]["state"]
    eps = m._draw_eps_lrt(np.random.default_rng(0), 1, 1)
    assert [e.shape for e in eps] == [(1, 1, 50), (1, 1, 10)]  # 60 draws, not 39,700
    assert m._rng.bit_generator.state["state"]["state"] == before


def test_zero_input_without_biases_gives_finite_zero_sigma_gradients() -> None:
    """s_j = 0 when every input is 0 and there are no biases: the σ gradient is 0, not NaN."""
    m = MESULearner(layers=(4, 3, 2), sampling="lrt", bias=False, dtype="float64", seed=1)
    eps = m._draw_eps_lrt(np.random.default_rng(1), 2, 1)
    g_mu, g_sigma = m.gradients(np.zeros((1, 4)), np.array([1]), eps)
    assert all(np.all(np.isfinite(g)) for g in g_mu + g_sigma)
    assert not np.any(g_sigma[0])
    m.learn_one(np.zeros(4), 1)
    assert all(np.all(np.isfinite(p)) for p in m._mu + m._sigma)


def test_batch_gradient_is_the_sum_of_its_rows() -> None:
    m = _perturbed("lrt")
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(4, 3)), np.array([0, 1, 2, 1])
    eps = [rng.normal(size=(3, 4, 4)), rng.normal(size=(3, 4, 3))]
    whole = m.gradients(X, y, eps)
    rows = [m.gradients(X[r : r + 1], y[r : r + 1], [e[:, r : r + 1] for e in eps]) for r in range(4)]
    for k in range(2):
        for i in range(len(whole[k])):
            np.testing.assert_allclose(whole[k][i], sum(r[k][i] for r in rows), rtol=1e-10, atol=1e-14)
    m.learn_many(X, y, batch_size=2)
    assert m.step == 2


def test_the_device_preset_samples_pre_activations_and_weight_sampling_files_are_as_before() -> None:
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(60, 5)), rng.integers(0, 3, 60)
    a = MESULearner(layers=(5, 4, 3), seed=3)  # the device preset
    b = MESULearner(layers=(5, 4, 3), seed=3, sampling="lrt")
    a.learn_many(X, y)
    b.learn_many(X, y)
    assert a.sampling == "lrt" and a.to_bytes() == b.to_bytes()
    assert a.state_dict()["meta"]["init"]["sampling"] == "lrt"
    assert all(MESULearner(layers=(5, 4, 3), preset=p).sampling == "weights" for p in ("sensor", "tabular", "paper"))
    c = MESULearner(layers=(5, 4, 3), seed=3, sampling="weights")
    c.learn_many(X, y)
    assert "sampling" not in c.state_dict()["meta"]["init"]  # weight sampling's files stay as they were
    assert not np.array_equal(c._mu[0], a._mu[0])


@pytest.mark.parametrize("variant", ["mesu-lrt", "fixed-lrt"])
def test_lrt_round_trips_through_the_state_file_and_continues_identically(variant: str) -> None:
    """Float and fixed-point LRT alike (tests/test_fixed_lrt.py adds the fixed learner's old-file case)."""
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(40, 5)), rng.integers(0, 3, 40)
    m = make_learner(variant, layers=(5, 4, 3), seed=3)
    assert m.sampling == "lrt"
    m.learn_many(X[:20], y[:20])
    back = type(m).from_bytes(m.to_bytes())
    assert back.sampling == "lrt" and "sampling='lrt'" in repr(back)
    m.learn_many(X[20:], y[20:])
    back.learn_many(X[20:], y[20:])
    assert m.to_bytes() == back.to_bytes()
    assert m.clone().sampling == "lrt"


def test_prediction_and_uncertainty_do_not_depend_on_the_sampling() -> None:
    """Only the learning step changes: the same posterior predicts and reports the same mutual information."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(7, 5))
    w = MESULearner(layers=(5, 4, 3), seed=3, sigma_init=0.3, predict_samples=8)
    lrt = MESULearner(layers=(5, 4, 3), seed=3, sigma_init=0.3, predict_samples=8, sampling="lrt")
    np.testing.assert_array_equal(w.predict_proba(X), lrt.predict_proba(X))
    np.testing.assert_array_equal(w.uncertainty(X, samples=8).epistemic, lrt.uncertainty(X, samples=8).epistemic)


@pytest.mark.parametrize("bad", ["lRT", "local", "", None, 1])
def test_bad_sampling_is_refused_by_name(bad: object) -> None:
    with pytest.raises(ValueError, match=re.escape(f"sampling must be one of ('weights', 'lrt'), got {bad!r}")):
        MESULearner(layers=(3, 2), sampling=bad)  # type: ignore[arg-type]


def test_lrt_refuses_the_centered_sigma_gradient() -> None:
    with pytest.raises(ValueError, match="sampling='lrt' takes sigma_grad='reparam' only"):
        MESULearner(layers=(3, 2), sampling="lrt", sigma_grad="centered")


@pytest.mark.parametrize("kind", ["MESULearner", "FixedMESULearner"])
def test_sampling_is_a_preset_option_and_files_without_it_load_as_weights(kind: str, monkeypatch) -> None:
    """``sampling`` comes from the preset (explicit arguments override it), and a state file that does not name
    it (every weight-sampling file) loads as weight sampling whatever the preset's default is."""
    import dataclasses

    import edge_mesu
    from edge_mesu import presets

    cls = getattr(edge_mesu, kind)
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(30, 5)), rng.integers(0, 3, 30)
    old = cls(layers=(5, 4, 3), seed=3, sampling="weights")
    old.learn_many(X, y)
    assert old.sampling == "weights" and "sampling" not in old.state_dict()["meta"]["init"]
    assert presets.PRESETS["device"].options.sampling == "lrt" and cls(layers=(5, 4, 3)).sampling == "lrt"
    weights_device = dataclasses.replace(
        presets.PRESETS["device"], options=dataclasses.replace(presets.PRESETS["device"].options, sampling="weights")
    )
    monkeypatch.setitem(presets.PRESETS, "device", weights_device)
    assert cls(layers=(5, 4, 3)).sampling == "weights"
    monkeypatch.undo()
    assert cls(layers=(5, 4, 3), sampling="weights").sampling == "weights"
    back = cls.from_bytes(old.to_bytes())
    assert back.sampling == "weights" and back.to_bytes() == old.to_bytes()
    with pytest.raises(ValueError, match="sampling='lrt' takes sigma_grad='reparam' only.*sampling='weights'"):
        cls(layers=(3, 2), sigma_grad="centered")  # the preset's lrt meets an explicit centred gradient
