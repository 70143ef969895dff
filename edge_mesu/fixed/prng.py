"""Counter-based pseudo-random numbers in 32-bit words: (seed, step, stream, index) → 32 random bits.

Format 2 (docs/fixed_point.md, "Arithmetic for 32-bit cores"). The generator is a 32-bit integer hash of a
Weyl counter: ``draw(i) = hash32(key + (i + 1)·γ) mod 2**32`` with γ = 0x9E3779B9 (2**32 / golden ratio) and
``hash32`` the two-multiply xor-shift-multiply hash with Wellons' constants ("lowbias32": x ^= x >> 16;
x *= 0x7FEB352D; x ^= x >> 15; x *= 0x846CA68B; x ^= x >> 16), a bijection on 32-bit words. The key of
(seed, step, stream) chains the hash over their 32-bit halves, once per step. Why: every operation is a
32-bit add, xor, shift or low-half multiply (one instruction each on Cortex-M0+/M4, wrapping uint32 in
numpy), it is stateless (resume = remember ``step``), and a parameter costs 6 instructions per draw.

Gaussian ε comes from an inverse-CDF table: the top 12 bits of a draw pick one of 4,096 equiprobable bins
(the top bit is the sign, 11 bits index a 2,048-entry table of |ε| at bin mid-points, int16 Q3.12). The table
is rescaled so the discrete distribution has unit variance exactly; it is symmetric, so the mean is 0.

Bits of a parameter in a learn step (this module owns the layout; the C port mirrors it)::

    draw A = stream s          bits 20..31 ε (sign + table index)     :func:`gaussian_from_bits`
                               bits  0..19 stochastic rounding of the σ code (SR_BITS = 20)
    draw B = stream s + SR_STREAM   bits 0..19 stochastic rounding of μ     :func:`sr_bits`

A (seed, step, stream) sequence is a window of length n on the single orbit of γ (mod 2**32); two windows
share at most ~n²/2**32 (index, index') pairs at unrelated indices (0.4 for n = 40,000): immaterial.
"""

from __future__ import annotations

import functools
from statistics import NormalDist

import numpy as np

__all__ = [
    "GAMMA",
    "HASH_M1",
    "HASH_M2",
    "HASH_SHIFTS",
    "SEED_SALT",
    "SR_STREAM",
    "hash32",
    "step_key",
    "step_keys",
    "draws_at",
    "random_bits",
    "gauss_table",
    "gaussian_from_bits",
    "sr_bits",
    "EPS_FRAC",
    "EPS_SHIFT",
    "GAUSS_INDEX_BITS",
    "SR_BITS",
]

GAMMA = 0x9E3779B9
HASH_M1 = 0x7FEB352D
HASH_M2 = 0x846CA68B
HASH_SHIFTS = (16, 15, 16)
SEED_SALT = 0x243F6A88  # π's fraction: keeps seed 0 away from a zero key
SR_STREAM = 0x40000  # draw B of stream s (the μ rounding) is stream s + SR_STREAM: never a sampling stream
_MASK32 = 0xFFFFFFFF
EPS_FRAC = 12  # ε is int16 Q3.12: |ε| <= 3.66 fits with room, 2.4e-4 resolution
GAUSS_INDEX_BITS = 12  # 4,096 equiprobable bins (sign + 11-bit table index)
EPS_SHIFT = 32 - GAUSS_INDEX_BITS
SR_BITS = 20  # random bits of each stochastic rounding: the low 20 bits of a draw


def hash32(z: int | np.ndarray) -> int | np.ndarray:
    """The 32-bit hash (a bijection on uint32 words); int in, int out, or uint32 array in, array out.

    >>> hex(hash32(1)), int(hash32(np.array([1], np.uint32))[0]) == hash32(1)
    ('0x688990c0', True)
    """
    s1, s2, s3 = HASH_SHIFTS
    if isinstance(z, np.ndarray):
        arr = z.astype(np.uint32, copy=True)
        _hash_inplace(arr)
        return arr
    x = int(z) & _MASK32
    x = ((x ^ (x >> s1)) * HASH_M1) & _MASK32
    x = ((x ^ (x >> s2)) * HASH_M2) & _MASK32
    return x ^ (x >> s3)


def _hash_inplace(x: np.ndarray) -> None:
    s1, s2, s3 = (np.uint32(v) for v in HASH_SHIFTS)
    with np.errstate(over="ignore"):
        x ^= x >> s1
        x *= np.uint32(HASH_M1)
        x ^= x >> s2
        x *= np.uint32(HASH_M2)
        x ^= x >> s3


def step_key(seed: int, step: int, stream: int) -> int:
    """The 32-bit key of one (seed, step, stream): the hash chained over the 32-bit halves of seed and step,
    then the stream (each link is a bijection of its word, so keys differ whenever one word differs)."""
    k = SEED_SALT
    for word in (seed, seed >> 32, step, step >> 32, stream):
        k = int(hash32(k ^ (int(word) & _MASK32)))
    return k


def step_keys(seeds: np.ndarray, steps: np.ndarray, stream: int) -> np.ndarray:
    """:func:`step_key` of many (seed, step) pairs at once, as uint32.

    >>> int(step_keys(np.array([3]), np.array([7]), 2)[0]) == step_key(3, 7, 2)
    True
    """
    seeds, steps = np.asarray(seeds), np.asarray(steps)
    return np.array([step_key(int(a), int(b), stream) for a, b in zip(seeds.ravel(), steps.ravel())], dtype=np.uint32)


@functools.lru_cache(maxsize=8)
def _counters(n: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        c = (np.arange(1, n + 1, dtype=np.uint64) * np.uint64(GAMMA)).astype(np.uint32)
    c.setflags(write=False)
    return c


def draws_at(keys: np.ndarray, n: int) -> np.ndarray:
    """``(len(keys), n)`` uint32 draws: row d holds indices 0..n−1 of the (seed, step, stream) of keys[d]."""
    with np.errstate(over="ignore"):
        z = np.asarray(keys, dtype=np.uint32)[:, None] + _counters(n)[None, :]
    _hash_inplace(z)
    return z


def random_bits(seed: int, step: int, stream: int, n: int, start: int = 0) -> np.ndarray:
    """``n`` uint32 draws for indices start..start+n−1 of (seed, step, stream).

    >>> a = random_bits(1, 0, 0, 4); b = random_bits(1, 0, 0, 4)
    >>> bool((a == b).all()), a.dtype.name
    (True, 'uint32')
    """
    key = (step_key(seed, step, stream) + start * GAMMA) & _MASK32
    with np.errstate(over="ignore"):
        z = _counters(n) + np.uint32(key)
    _hash_inplace(z)
    return z


@functools.lru_cache(maxsize=4)
def gauss_table(index_bits: int = GAUSS_INDEX_BITS, frac: int = EPS_FRAC) -> np.ndarray:
    """|ε| at the mid-points of the 2**(index_bits−1) upper bins, scaled to unit variance, as int16 Q(frac)."""
    half = 1 << (index_bits - 1)
    p = 0.5 + (np.arange(half) + 0.5) / (2 * half)
    nd = NormalDist()
    mags = np.array([nd.inv_cdf(float(v)) for v in p])
    mags /= np.sqrt(np.mean(mags**2))  # unit variance of the symmetric discrete distribution
    table = np.rint(mags * 2.0**frac).astype(np.int16)
    table.setflags(write=False)
    return table


@functools.lru_cache(maxsize=4)
def _signed_table(index_bits: int, frac: int) -> np.ndarray:
    table = gauss_table(index_bits, frac).astype(np.int32)
    full = np.concatenate([table, -table])  # top bit set: negative half
    full.setflags(write=False)
    return full


def gaussian_from_bits(bits: np.ndarray, index_bits: int = GAUSS_INDEX_BITS, frac: int = EPS_FRAC) -> np.ndarray:
    """ε as int32 Q(frac) from the top ``index_bits`` bits of uint32 draws.

    The topmost bit is the sign, the next ``index_bits − 1`` bits index :func:`gauss_table`.
    """
    top = np.asarray(bits, dtype=np.uint32) >> np.uint32(32 - index_bits)
    return np.take(_signed_table(index_bits, frac), top.astype(np.intp))


def sr_bits(draws: np.ndarray) -> np.ndarray:
    """The stochastic-rounding uniform of uint32 draws: their low SR_BITS bits, as int64 in [0, 2**SR_BITS).

    >>> sr_bits(np.array([(5 << 20) | 9], dtype=np.uint32)).tolist()
    [9]
    """
    return (np.asarray(draws, dtype=np.uint32) & np.uint32((1 << SR_BITS) - 1)).astype(np.int64)
