"""Counter-based pseudo-random numbers: (seed, step, stream, index) → 64 random bits, no hidden state.

The generator is SplitMix64 (Steele, Lea & Flood, OOPSLA 2014) evaluated at a counter:
``out(i) = mix64(key + (i + 1)·γ)`` with γ = 0x9E3779B97F4A7C15 and ``key = mix64(mix64(seed ⊕ C) + step·γ
+ stream)``. It is stateless (resume = remember ``step``), vectorises in numpy with wrapping uint64
arithmetic and is a handful of lines of portable C (uint64_t only).

Gaussian ε comes from an inverse-CDF table: 12 bits of the draw pick one of 4,096 equiprobable bins (the top
bit is the sign, 11 bits index a 2,048-entry table of |ε| at bin mid-points, 4 KiB of int16 in flash). The
table is rescaled so the discrete distribution has unit variance exactly; it is symmetric, so the mean is 0.

Layout of one 64-bit draw of a parameter in a learn step (this module owns it; the C port mirrors it)::

    bits 52..63  ε (sign + table index)        :func:`gaussian_from_bits`
    bits 26..51  stochastic rounding of μ      :func:`sr_bits` (SR_BITS = 26 each)
    bits  0..25  stochastic rounding of the σ code
"""

from __future__ import annotations

import functools
from statistics import NormalDist
from typing import overload

import numpy as np

__all__ = [
    "GAMMA",
    "MIX_M1",
    "MIX_M2",
    "MIX_SHIFTS",
    "SEED_SALT",
    "mix64",
    "step_key",
    "step_keys",
    "draws_at",
    "random_bits",
    "gauss_table",
    "gaussian_from_bits",
    "sr_bits",
    "EPS_FRAC",
    "GAUSS_INDEX_BITS",
    "SR_BITS",
]

GAMMA = 0x9E3779B97F4A7C15
MIX_M1 = 0xBF58476D1CE4E5B9
MIX_M2 = 0x94D049BB133111EB
SEED_SALT = 0x243F6A8885A308D3  # π's fraction: keeps seed 0 away from a zero key
MIX_SHIFTS = (30, 27, 31)  # SplitMix64's xor-shifts
_M1, _M2 = MIX_M1, MIX_M2
_MASK64 = (1 << 64) - 1
EPS_FRAC = 12  # ε is int16 Q3.12: |ε| <= 3.55 fits with room, 2.4e-4 resolution
GAUSS_INDEX_BITS = 12  # 4,096 equiprobable bins (sign + 11-bit table index)
SR_BITS = 26  # random bits of each stochastic rounding: μ takes bits 26..51 of a draw, the σ code bits 0..25


@overload
def mix64(z: int) -> int: ...


@overload
def mix64(z: np.ndarray) -> np.ndarray: ...


def mix64(z: int | np.ndarray) -> int | np.ndarray:
    """SplitMix64's output function (a bijection on 64-bit words)."""
    if isinstance(z, np.ndarray):
        z = z.astype(np.uint64, copy=True)
        _mix64_inplace(z)
        return z
    s1, s2, s3 = MIX_SHIFTS
    z = int(z) & _MASK64
    z = ((z ^ (z >> s1)) * _M1) & _MASK64
    z = ((z ^ (z >> s2)) * _M2) & _MASK64
    return z ^ (z >> s3)


def _mix64_inplace(z: np.ndarray) -> None:
    s1, s2, s3 = (np.uint64(v) for v in MIX_SHIFTS)
    with np.errstate(over="ignore"):
        z ^= z >> s1
        z *= np.uint64(_M1)
        z ^= z >> s2
        z *= np.uint64(_M2)
        z ^= z >> s3


def step_key(seed: int, step: int, stream: int) -> int:
    """The 64-bit key of one (seed, step, stream); streams separate independent uses within a step."""
    return mix64((mix64(int(seed) ^ SEED_SALT) + int(step) * GAMMA + int(stream)) & _MASK64)


def step_keys(seeds: np.ndarray, steps: np.ndarray, stream: int) -> np.ndarray:
    """:func:`step_key` of many (seed, step) pairs at once, as uint64 (wrapping arithmetic).

    >>> int(step_keys(np.array([3]), np.array([7]), 2)[0]) == step_key(3, 7, 2)
    True
    """
    seeds, steps = np.asarray(seeds), np.asarray(steps)
    if seeds.size == 1:  # one device: Python integers are cheaper than four tiny array operations
        return np.array([step_key(int(seeds.flat[0]), int(steps.flat[0]), stream)], dtype=np.uint64)
    base = mix64(seeds.astype(np.uint64) ^ np.uint64(SEED_SALT))
    with np.errstate(over="ignore"):
        z = base + steps.astype(np.uint64) * np.uint64(GAMMA) + np.uint64(int(stream) & _MASK64)
    return mix64(z)


def draws_at(keys: np.ndarray, n: int) -> np.ndarray:
    """``(len(keys), n)`` draws: row d is ``random_bits`` of the (seed, step, stream) whose key is keys[d]."""
    with np.errstate(over="ignore"):
        z = np.asarray(keys, dtype=np.uint64)[:, None] + _counters(n)[None, :]
    _mix64_inplace(z)
    return z


@functools.lru_cache(maxsize=32)
def _counters(n: int) -> np.ndarray:
    c = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(GAMMA)
    c.setflags(write=False)
    return c


def random_bits(seed: int, step: int, stream: int, n: int, start: int = 0) -> np.ndarray:
    """``n`` uint64 draws for indices start..start+n−1 of (seed, step, stream).

    >>> a = random_bits(1, 0, 0, 4); b = random_bits(1, 0, 0, 4)
    >>> bool((a == b).all()), a.dtype.name
    (True, 'uint64')
    """
    with np.errstate(over="ignore"):
        key = np.uint64((step_key(seed, step, stream) + start * GAMMA) & _MASK64)
        z = _counters(n) + key
    _mix64_inplace(z)
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
    table = gauss_table(index_bits, frac).astype(np.int64)
    full = np.concatenate([table, -table])  # top bit set: negative half
    full.setflags(write=False)
    return full


def gaussian_from_bits(bits: np.ndarray, index_bits: int = GAUSS_INDEX_BITS, frac: int = EPS_FRAC) -> np.ndarray:
    """ε as int64 Q(frac) from the top ``index_bits`` bits of uint64 draws.

    The topmost bit is the sign, the next ``index_bits − 1`` bits index :func:`gauss_table`.
    """
    top = (bits >> np.uint64(64 - index_bits)).view(np.int64)
    return np.take(_signed_table(index_bits, frac), top)


def sr_bits(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two stochastic-rounding uniforms of uint64 draws, as int64 in [0, 2**SR_BITS): (μ, σ code).

    >>> mu, sig = sr_bits(np.array([(5 << 26) | 9], dtype=np.uint64)); int(mu[0]), int(sig[0])
    (5, 9)
    """
    mask = np.uint64((1 << SR_BITS) - 1)
    return (draws >> np.uint64(SR_BITS) & mask).view(np.int64), (draws & mask).view(np.int64)
