"""The counter-based generator of the fixed-point path: exactness, independence, uniformity, Gaussian table.

Tolerances are k standard errors of the statistic with k = 5 (a false alarm has probability < 1e-6 for
normal-ish statistics), and every draw is seeded, so each check is deterministic; a failure means the
generator or the table changed, not bad luck.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_mesu.fixed.prng import (
    EPS_FRAC,
    GAMMA,
    gauss_table,
    gaussian_from_bits,
    mix64,
    random_bits,
    step_key,
)

MASK = (1 << 64) - 1


# -- an independent pure-Python SplitMix64 as the reference --------------------------------------------------


def _ref_mix(z: int) -> int:
    z &= MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def _ref_bits(seed: int, step: int, stream: int, n: int, start: int = 0) -> list[int]:
    gamma = 0x9E3779B97F4A7C15
    key = _ref_mix(_ref_mix(seed ^ 0x243F6A8885A308D3) + step * gamma + stream)  # π's fraction as salt
    return [_ref_mix(key + (start + i + 1) * gamma) for i in range(n)]


def test_mix64_is_splitmix64() -> None:
    # the first three outputs of SplitMix64 seeded with 0 (Steele, Lea & Flood; Vigna's reference C)
    first = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    assert [mix64(k * GAMMA) for k in (1, 2, 3)] == first


@settings(max_examples=100, deadline=None, derandomize=True)
@given(z=st.lists(st.integers(0, MASK), min_size=1, max_size=20))
def test_vector_mix64_equals_scalar(z: list[int]) -> None:
    out = mix64(np.array(z, dtype=np.uint64))
    assert out.dtype == np.uint64
    assert [int(v) for v in out] == [_ref_mix(v) for v in z] == [mix64(v) for v in z]


@pytest.mark.parametrize("seed, step, stream", [(0, 0, 0), (1, 0, 0), (7, 123_456, 3), (2**40 + 5, 2**33, 0x10001)])
def test_random_bits_match_reference(seed: int, step: int, stream: int) -> None:
    got = random_bits(seed, step, stream, 50)
    assert got.dtype == np.uint64 and got.shape == (50,)
    assert [int(v) for v in got] == _ref_bits(seed, step, stream, 50)
    expect_key = _ref_mix(_ref_mix(seed ^ 0x243F6A8885A308D3) + step * GAMMA + stream)
    assert step_key(seed, step, stream) == expect_key


def test_determinism_and_sensitivity() -> None:
    a = random_bits(3, 10, 0, 1000)
    np.testing.assert_array_equal(a, random_bits(3, 10, 0, 1000))
    for other in (random_bits(4, 10, 0, 1000), random_bits(3, 11, 0, 1000), random_bits(3, 10, 1, 1000)):
        assert np.count_nonzero(a == other) == 0  # 64-bit words: a coincidence has probability ~1e-16
    a[0] = 0  # the returned array is the caller's: mutating it must not poison later draws
    assert random_bits(3, 10, 0, 1000)[0] != 0


@settings(max_examples=50, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32), step=st.integers(0, 2**31), start=st.integers(0, 5000), n=st.integers(1, 300))
def test_start_offset_is_a_slice_of_a_longer_draw(seed: int, step: int, start: int, n: int) -> None:
    long = random_bits(seed, step, 2, start + n)
    np.testing.assert_array_equal(random_bits(seed, step, 2, n, start=start), long[start:])


def test_no_two_sequences_overlap() -> None:
    """All sequences lie on the single orbit k·γ (mod 2**64); the sequence of a key starts at position
    key·γ⁻¹. Two (seed, step, stream) sequences share draws within L indices iff their positions are
    within L. Over 12,000 keys the smallest gap must exceed 2**20 draws (a 784-50-10 net uses < 2**16)."""
    inv_gamma = pow(GAMMA, -1, 1 << 64)
    pos = sorted(
        (step_key(seed, step, stream) * inv_gamma) & MASK
        for seed in range(3)
        for step in range(1000)
        for stream in (0, 1, 2, 0x10000)
    )
    gaps = [b - a for a, b in zip(pos, pos[1:])] + [pos[0] + (1 << 64) - pos[-1]]
    assert len(pos) == 12_000 and min(gaps) > 2**20


# -- statistics --------------------------------------------------------------------------------------------


def _uniform(bits: np.ndarray) -> np.ndarray:
    return (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53


def test_streams_steps_seeds_and_lags_are_uncorrelated() -> None:
    # Pearson r of independent uniforms has standard error 1/√n; bound 5/√n = 0.011 at n = 200k.
    n = 200_000
    bound = 5 / math.sqrt(n)
    base = _uniform(random_bits(9, 100, 0, n))
    others = {
        "next stream": random_bits(9, 100, 1, n),
        "next step": random_bits(9, 101, 0, n),
        "next seed": random_bits(10, 100, 0, n),
        "predict stream": random_bits(9, 100, 0x10000, n),
    }
    for label, bits in others.items():
        r = np.corrcoef(base, _uniform(bits))[0, 1]
        assert abs(r) < bound, label
    assert abs(np.corrcoef(base[:-1], base[1:])[0, 1]) < bound  # lag 1 within a sequence
    # the learner's ε for one weight at consecutive steps (index 7 of each step)
    eps = np.array([gaussian_from_bits(random_bits(1, t, 0, 8))[7] for t in range(20_000)], dtype=float)
    assert abs(np.corrcoef(eps[:-1], eps[1:])[0, 1]) < 5 / math.sqrt(20_000)


@pytest.mark.parametrize("low_bit", [56, 26, 0])
def test_bytes_are_uniform_chi_square(low_bit: int) -> None:
    # Byte value counts over n = 1e6 draws, 256 cells: χ² has 255 degrees of freedom, mean 255 and
    # sd √510 = 22.6. Accept 255 ± 5 sd = [142, 368] (too good a fit is as suspicious as a bad one).
    # Bytes checked: the top byte (sign + Gaussian index) and the bytes that feed the stochastic
    # rounding of μ (bits 26..51) and σ (bits 0..25).
    n = 1_000_000
    byte = ((random_bits(2024, 0, 0, n) >> np.uint64(low_bit)) & np.uint64(0xFF)).astype(np.int64)
    counts = np.bincount(byte, minlength=256)
    expected = n / 256
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert 255 - 5 * math.sqrt(510) < chi2 < 255 + 5 * math.sqrt(510), chi2


def test_every_bit_is_fair() -> None:
    # each bit is a fair coin: the frequency has sd 0.5/√n = 5e-4 at n = 1e6; bound 5 sd
    n = 1_000_000
    bits = random_bits(77, 3, 0, n)
    for b in range(64):
        freq = float(((bits >> np.uint64(b)) & np.uint64(1)).mean())
        assert abs(freq - 0.5) < 5 * 0.5 / math.sqrt(n), b


# -- the Gaussian from bits ----------------------------------------------------------------------------------


def test_gauss_table_shape_and_symmetry() -> None:
    t = gauss_table()
    assert t.dtype == np.int16 and t.shape == (2048,)
    assert np.all(np.diff(t.astype(np.int64)) >= 0) and t[0] >= 0
    eps = t.astype(np.float64) / 2**EPS_FRAC
    # unit variance of the discrete distribution up to the Q12 rounding (|error| <= 2**−13 per entry)
    assert abs(float(np.mean(eps**2)) - 1.0) < 2 * 2**-13
    # the last bin's mid-point quantile is Φ⁻¹(1 − 1/8192) ≈ 3.66: no tail beyond by design
    assert 3.6 < eps.max() < 3.7
    with pytest.raises(ValueError):
        t[0] = 1  # read-only: a shared table must not be altered by a caller


def test_gaussian_from_bits_uses_sign_bit_and_next_eleven_bits() -> None:
    t = gauss_table().astype(np.int64)
    low = np.uint64((1 << 52) - 1)  # bits below the 12 used must not matter
    for idx in (0, 5, 1000, 2047):
        top = np.uint64(idx) << np.uint64(52)
        pos = np.array([top, top | low], dtype=np.uint64)
        neg = pos | np.uint64(1 << 63)
        np.testing.assert_array_equal(gaussian_from_bits(pos), [t[idx], t[idx]])
        np.testing.assert_array_equal(gaussian_from_bits(neg), [-t[idx], -t[idx]])


@pytest.fixture(scope="module")
def eps_sample() -> np.ndarray:
    bits = np.concatenate([random_bits(seed, 0, 0, 1_000_000) for seed in (31, 32)])
    return gaussian_from_bits(bits).astype(np.float64) / 2**EPS_FRAC


def test_gaussian_moments(eps_sample: np.ndarray) -> None:
    """n = 2e6. Exact moments of the discrete distribution come from the table itself (mean 0 by symmetry,
    variance 1, kurtosis ≈ 2.99 since the tails beyond ≈ 3.67σ are absent). Standard errors at n = 2e6:
    mean 1/√n = 7.1e-4; variance √((κ−1)/n) = 1.0e-3; skewness √(6/n) = 1.7e-3; kurtosis √(24/n) = 3.5e-3
    (the normal-theory value, an upper bound here since the truncated tails shrink the 8th moment)."""
    n = eps_sample.size
    t = gauss_table().astype(np.float64) / 2**EPS_FRAC
    var_exact = float(np.mean(t**2))
    kurt_exact = float(np.mean(t**4)) / var_exact**2
    assert 2.98 < kurt_exact < 3.0
    mean = float(eps_sample.mean())
    c = eps_sample - mean
    var = float(np.mean(c**2))
    skew = float(np.mean(c**3)) / var**1.5
    kurt = float(np.mean(c**4)) / var**2
    assert abs(mean) < 5 / math.sqrt(n)
    assert abs(var - var_exact) < 5 * math.sqrt((kurt_exact - 1) / n)
    assert abs(skew) < 5 * math.sqrt(6 / n)
    assert abs(kurt - kurt_exact) < 5 * math.sqrt(24 / n)


@pytest.mark.parametrize("k", [0.5, 1.0, 2.0, 3.0, 3.5])
def test_gaussian_tail_frequencies(eps_sample: np.ndarray, k: float) -> None:
    """P(|ε| > k): the sample frequency matches the table's exact probability within 5 binomial standard
    errors, and the table's probability matches the normal's within one pair of bins (2/4096), the
    resolution of a 4096-bin inverse-CDF table (plus the ≈0.4 % unit-variance rescale, far smaller here)."""
    n = eps_sample.size
    t = gauss_table().astype(np.float64) / 2**EPS_FRAC
    p_table = float(np.mean(t > k))
    p_normal = 2 * (1 - NormalDist().cdf(k))
    assert abs(p_table - p_normal) <= 2 / 4096
    freq = float(np.mean(np.abs(eps_sample) > k))
    assert abs(freq - p_table) < 5 * math.sqrt(p_table * (1 - p_table) / n) + 1e-12


def test_no_values_beyond_the_table(eps_sample: np.ndarray) -> None:
    assert float(np.abs(eps_sample).max()) == float(gauss_table()[-1]) / 2**EPS_FRAC
    assert np.count_nonzero(np.abs(eps_sample) > 3.7) == 0
    # every table entry is reachable: ~2e6 / 4096 ≈ 488 hits per bin, all 4096 values appear
    assert np.unique(eps_sample).size == np.unique(np.concatenate([t := gauss_table(), -t])).size
