"""Fleet fusion: the integer product of Gaussians against the float formula, and sharding invariance."""

from __future__ import annotations

import numpy as np
import pytest

from edge_mesu.fixed import FixedMESULearner
from edge_mesu.fleet import FusionTables, fuse_float


def _setup():
    # σ_prior = σ_max: the prior is code 0 and the whole test range fits the window
    plan = FixedMESULearner((4, 8, 2), sigma_prior=1.0, sigma_max=1.0, sigma_per_octave=16, seed=0).plan
    return plan, FusionTables.of_plan(plan), plan.mu_fmts[0]


@pytest.mark.parametrize("K", [1, 2, 3, 10, 100, 10_000])
def test_fusing_K_identical_posteriors(K):
    """Precision K/σ² − (K−1)/σ_prior² and the matching mean, to the σ code and within ½ LSB of μ."""
    plan, tables, fmt = _setup()
    rng = np.random.default_rng(K)
    ref_code = int(plan.code_of_sigma(1.0))  # the prior σ_prior = 1, μ_prior = 0
    code = rng.integers(ref_code + 1, 256, size=2000)
    mu = rng.integers(-4000, 4000, size=2000)
    rc, rm = np.full(code.shape, ref_code), np.zeros(code.shape, dtype=np.int64)
    e = np.maximum(tables.exponent(code), tables.exponent(rc))
    lam, eta = tables.terms(mu, code, e)
    f_mu, f_code, clipped = tables.fuse(K * lam, K * eta, K, rm, rc, e)
    sigma, sigma_p = plan.sigma_of_code(code), 1.0
    precision = K / sigma**2 - (K - 1) / sigma_p**2
    mean = (K * fmt.dequantize(mu) / sigma**2) / precision
    inside = (1 / np.sqrt(precision) >= plan.sigma_of_code(plan.code_max)) & (np.abs(mean) < fmt.max_value)
    assert np.array_equal(f_code[inside], plan.code_of_sigma(1 / np.sqrt(precision[inside])))
    assert np.abs(f_mu[inside] - mean[inside] * 2**fmt.frac).max() <= 0.5 + 1e-6
    if K <= 1000:  # the float oracle agrees with the closed form
        m2, s2 = fuse_float(np.tile(fmt.dequantize(mu), (K, 1)), np.tile(sigma, (K, 1)), np.zeros(2000), np.ones(2000))
        assert np.allclose(m2, mean) and np.allclose(1 / s2**2, precision)


def test_distinct_posteriors_match_the_float_product():
    plan, tables, fmt = _setup()
    rng = np.random.default_rng(5)
    K, P = 7, 500
    ref_code = np.full(P, 10)
    ref_mu = rng.integers(-500, 500, size=P)
    codes = rng.integers(14, 120, size=(K, P))
    mus = rng.integers(-3000, 3000, size=(K, P))
    e = np.maximum(tables.exponent(codes).max(axis=0), tables.exponent(ref_code))
    lam, eta = tables.terms(mus, codes, e[None, :])
    f_mu, f_code, _ = tables.fuse(lam.sum(0), eta.sum(0), K, ref_mu, ref_code, e)
    m, s = fuse_float(
        fmt.dequantize(mus), plan.sigma_of_code(codes), fmt.dequantize(ref_mu), plan.sigma_of_code(ref_code)
    )
    assert np.abs(f_code.astype(int) - plan.code_of_sigma(s).astype(int)).max() <= 1
    assert np.abs(fmt.dequantize(f_mu) - m).max() <= 2 * fmt.lsb + 1e-3 * np.abs(m).max()


def test_sums_do_not_depend_on_how_devices_are_split():
    _, tables, _ = _setup()
    rng = np.random.default_rng(1)
    codes, mus = rng.integers(0, 256, size=(9, 50)), rng.integers(-30000, 30000, size=(9, 50))
    e = tables.exponent(codes).max(axis=0)[None, :]
    whole = [t.sum(0) for t in tables.terms(mus, codes, e)]
    parts = [[t.sum(0) for t in tables.terms(mus[a:b], codes[a:b], e)] for a, b in ((0, 4), (4, 5), (5, 9))]
    assert all(np.array_equal(w, sum(p[i] for p in parts)) for i, w in enumerate(whole))


def test_average_mode_and_clamping():
    _, tables, _ = _setup()
    ref_mu, ref_code = np.array([0, 0]), np.array([40, 40])
    codes, mus = np.array([[40, 10], [56, 10]]), np.array([[100, 0], [100, 0]])
    e = np.maximum(tables.exponent(codes).max(axis=0), tables.exponent(ref_code))
    lam, eta = tables.terms(mus, codes, e[None, :])
    avg_mu, avg_code, _ = tables.fuse(lam.sum(0), eta.sum(0), 2, ref_mu, ref_code, e, average=True)
    assert 40 < int(avg_code[0]) < 56
    _, code, clipped = tables.fuse(lam.sum(0), eta.sum(0), 2, ref_mu, ref_code, e)
    assert clipped == 1 and int(code[1]) == tables.code_min  # precision lost below σ_max: clamped, counted
