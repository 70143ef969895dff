"""The counter-based 32-bit generator of the fixed-point path (format 2): exactness, independence, uniformity,
the Gaussian table.

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
    SR_STREAM,
    gauss_table,
    gaussian_from_bits,
    hash32,
    random_bits,
    sr_bits,
    step_key,
)

MASK = (1 << 32) - 1


# -- an independent pure-Python reference of the 32-bit hash at a Weyl counter --------------------------------


def _ref_hash(x: int) -> int:
    x &= MASK
    x = ((x ^ (x >> 16)) * 0x7FEB352D) & MASK
    x = ((x ^ (x >> 15)) * 0x846CA68B) & MASK
    return x ^ (x >> 16)


def _ref_key(seed: int, step: int, stream: int) -> int:
    k = 0x243F6A88  # π's fraction as salt
    for word in (seed & MASK, seed >> 32, step & MASK, step >> 32, stream):
        k = _ref_hash(k ^ (word & MASK))
    return k


def _ref_bits(seed: int, step: int, stream: int, n: int, start: int = 0) -> list[int]:
    key = _ref_key(seed, step, stream)
    return [_ref_hash(key + (start + i + 1) * 0x9E3779B9) for i in range(n)]


def test_hash32_is_a_bijection_on_a_slice_and_matches_reference() -> None:
    # the hash of 2**20 consecutive words: all distinct (a bijection cannot collide)
    z = np.arange(1 << 20, dtype=np.uint32)
    out = hash32(z)
    assert out.dtype == np.uint32 and np.unique(out).size == z.size
    assert [int(v) for v in out[:50]] == [_ref_hash(int(v)) for v in z[:50]]


@settings(max_examples=100, deadline=None, derandomize=True)
@given(z=st.lists(st.integers(0, MASK), min_size=1, max_size=20))
def test_vector_hash_equals_scalar(z: list[int]) -> None:
    out = hash32(np.array(z, dtype=np.uint32))
    assert [int(v) for v in out] == [_ref_hash(v) for v in z] == [hash32(v) for v in z]


@pytest.mark.parametrize("seed, step, stream", [(0, 0, 0), (1, 0, 0), (7, 123_456, 3), (2**40 + 5, 2**33, 0x10001)])
def test_random_bits_match_reference(seed: int, step: int, stream: int) -> None:
    got = random_bits(seed, step, stream, 50)
    assert got.dtype == np.uint32 and got.shape == (50,)
    assert [int(v) for v in got] == _ref_bits(seed, step, stream, 50)
    assert step_key(seed, step, stream) == _ref_key(seed, step, stream)


def test_determinism_and_sensitivity() -> None:
    a = random_bits(3, 10, 0, 1000)
    np.testing.assert_array_equal(a, random_bits(3, 10, 0, 1000))
    for other in (random_bits(4, 10, 0, 1000), random_bits(3, 11, 0, 1000), random_bits(3, 10, 1, 1000)):
        # 32-bit words: ~1000/2**32 coincidences expected at the same index
        assert np.count_nonzero(a == other) <= 1
    a[0] = 0  # the returned array is the caller's: mutating it must not poison later draws
    assert random_bits(3, 10, 0, 1000)[0] != 0


@settings(max_examples=50, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32), step=st.integers(0, 2**31), start=st.integers(0, 5000), n=st.integers(1, 300))
def test_start_offset_is_a_slice_of_a_longer_draw(seed: int, step: int, start: int, n: int) -> None:
    long = random_bits(seed, step, 2, start + n)
    np.testing.assert_array_equal(random_bits(seed, step, 2, n, start=start), long[start:])


def test_keys_of_one_step_are_distinct_and_far_apart_on_the_orbit() -> None:
    """The streams one learn step uses (0: ε and σ rounding, SR_STREAM: μ rounding, the predict streams)
    start at positions key·γ⁻¹ on the orbit of γ (mod 2**32); over 2,000 steps none of them overlaps another
    stream of the same step within the 2**16 draws of a 784-50-10 network, bar a handful of chance overlaps
    (expected ~ pairs · 2**17 / 2**32 = 0.5 per 10,000 pairs)."""
    inv = pow(GAMMA, -1, 1 << 32)
    close = 0
    keys = set()
    for step in range(2000):
        pos = sorted((step_key(5, step, s) * inv) & MASK for s in (0, SR_STREAM, 0x10000, 0x10001))
        keys.update(step_key(5, step, s) for s in (0, SR_STREAM))
        gaps = [b - a for a, b in zip(pos, pos[1:])] + [pos[0] + (1 << 32) - pos[-1]]
        close += sum(g < 2**16 for g in gaps)
    assert len(keys) == 4000  # no two (step, stream) keys coincide
    assert close <= 5


# -- statistics --------------------------------------------------------------------------------------------


def _uniform(bits: np.ndarray) -> np.ndarray:
    return bits.astype(np.float64) * 2.0**-32


def test_streams_steps_seeds_and_lags_are_uncorrelated() -> None:
    # Pearson r of independent uniforms has standard error 1/√n; bound 5/√n = 0.011 at n = 200k.
    n = 200_000
    bound = 5 / math.sqrt(n)
    base = _uniform(random_bits(9, 100, 0, n))
    others = {
        "next stream": random_bits(9, 100, 1, n),
        "rounding stream": random_bits(9, 100, SR_STREAM, n),
        "next step": random_bits(9, 101, 0, n),
        "next seed": random_bits(10, 100, 0, n),
        "predict stream": random_bits(9, 100, 0x10000, n),
    }
    for label, bits in others.items():
        r = np.corrcoef(base, _uniform(bits))[0, 1]
        assert abs(r) < bound, label
    for lag in (1, 2, 10, 50):  # within a sequence, incl. the fan_out strides of a row
        assert abs(np.corrcoef(base[:-lag], base[lag:])[0, 1]) < bound, lag
    # ε and the σ rounding share draw A (top 12 / low 20 bits): independent
    a = random_bits(9, 100, 0, n)
    eps = gaussian_from_bits(a).astype(np.float64)
    assert abs(np.corrcoef(eps, sr_bits(a).astype(np.float64))[0, 1]) < bound
    assert abs(np.corrcoef(np.abs(eps), sr_bits(a).astype(np.float64))[0, 1]) < bound
    # the learner's ε for one weight at consecutive steps (index 7 of each step)
    e = np.array([gaussian_from_bits(random_bits(1, t, 0, 8))[7] for t in range(20_000)], dtype=float)
    assert abs(np.corrcoef(e[:-1], e[1:])[0, 1]) < 5 / math.sqrt(20_000)


@pytest.mark.parametrize("low_bit", [24, 16, 8, 0])
def test_bytes_are_uniform_chi_square(low_bit: int) -> None:
    # Byte value counts over n = 1e6 draws, 256 cells: χ² has 255 degrees of freedom, mean 255 and
    # sd √510 = 22.6. Accept 255 ± 5 sd = [142, 368] (too good a fit is as suspicious as a bad one).
    # Bytes checked: the top byte (sign + Gaussian index) and the bytes that feed the stochastic roundings.
    n = 1_000_000
    byte = ((random_bits(2024, 0, 0, n) >> np.uint32(low_bit)) & np.uint32(0xFF)).astype(np.int64)
    counts = np.bincount(byte, minlength=256)
    expected = n / 256
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert 255 - 5 * math.sqrt(510) < chi2 < 255 + 5 * math.sqrt(510), chi2


def test_pairs_of_consecutive_draws_are_uniform_chi_square() -> None:
    """Serial test: (top 4 bits of draw i, of draw i+1) over 256 cells, n = 1e6 pairs (the counter steps
    by γ between them: a weak mixer leaves structure here)."""
    n = 1_000_000
    nib = (random_bits(11, 0, 0, n + 1) >> np.uint32(28)).astype(np.int64)
    counts = np.bincount(nib[:-1] * 16 + nib[1:], minlength=256)
    chi2 = float(((counts - n / 256) ** 2 / (n / 256)).sum())
    assert 255 - 5 * math.sqrt(510) < chi2 < 255 + 5 * math.sqrt(510), chi2


def test_every_bit_is_fair() -> None:
    # each bit is a fair coin: the frequency has sd 0.5/√n = 5e-4 at n = 1e6; bound 5 sd
    n = 1_000_000
    bits = random_bits(77, 3, 0, n)
    for b in range(32):
        freq = float(((bits >> np.uint32(b)) & np.uint32(1)).mean())
        assert abs(freq - 0.5) < 5 * 0.5 / math.sqrt(n), b


def test_weak_hash_would_fail_the_serial_test() -> None:
    """The statistics can fail: the identity 'hash' (a bare Weyl sequence) fails the serial test."""
    n = 100_000
    seq = (np.arange(1, n + 2, dtype=np.uint64) * np.uint64(GAMMA)).astype(np.uint32)
    nib = (seq >> np.uint32(28)).astype(np.int64)
    counts = np.bincount(nib[:-1] * 16 + nib[1:], minlength=256)
    chi2 = float(((counts - n / 256) ** 2 / (n / 256)).sum())
    assert chi2 > 255 + 5 * math.sqrt(510)


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
    low = np.uint32((1 << 20) - 1)  # bits below the 12 used must not matter
    for idx in (0, 5, 1000, 2047):
        top = np.uint32(idx) << np.uint32(20)
        pos = np.array([top, top | low], dtype=np.uint32)
        neg = pos | np.uint32(1 << 31)
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
