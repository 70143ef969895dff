"""Every rounding and requantisation of the fixed-point path, as named helpers a C port must match.

All helpers take and return int64 arrays. A right shift by ``s`` divides by 2**s; the rule for the dropped
bits is given in one line per helper. Shifts are per element when ``shift`` is an array.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "shift_round_even",
    "shift_round_half_up",
    "shift_round_stochastic",
    "shift_left",
    "div_round_even",
    "mul_shift_round_even",
]

_I64 = np.int64


def shift_round_even(x: np.ndarray, shift: int | np.ndarray) -> np.ndarray:
    """x / 2**shift rounded to nearest, ties to even (0 <= shift <= 62; shift 0 is the identity).

    Computed as (x + 2**(shift−1) − 1 + ((x >> shift) & 1)) >> shift: four integer operations.

    >>> shift_round_even(np.array([5, 6, 7, -5, -6, 10]), 2).tolist()    # 1.25 1.5 1.75 -1.25 -1.5 2.5
    [1, 2, 2, -1, -2, 2]
    """
    x = np.asarray(x, dtype=_I64)
    if np.ndim(shift) == 0:
        s = int(shift)
        if not 0 <= s <= 62:
            raise ValueError(f"shift_round_even: shift must be in [0, 62], got {s}")
        if s == 0:
            return x.copy()
        return (x + ((1 << (s - 1)) - 1) + ((x >> s) & 1)) >> s
    sa = np.asarray(shift, dtype=_I64)
    if sa.size and (sa.min() < 0 or sa.max() > 62):
        raise ValueError("shift_round_even: shift must be in [0, 62]")
    bias = np.where(sa > 0, (np.left_shift(1, np.maximum(sa - 1, 0)) - 1) + ((x >> sa) & 1), 0)
    return (x + bias) >> sa


def shift_round_half_up(x: np.ndarray, shift: int, out: np.ndarray | None = None) -> np.ndarray:
    """x / 2**shift rounded to nearest, ties up: (x + 2**(shift−1)) >> shift (1 <= shift <= 62, scalar).

    Two operations; used in the per-weight update where a tie has probability ~2**−shift and its bias is
    far below the step's own resolution. ``out`` (int64, may be ``x``) receives the result in place.

    >>> shift_round_half_up(np.array([5, 6, 7, -5, -6, 10]), 2).tolist()
    [1, 2, 2, -1, -1, 3]
    """
    s = int(shift)
    if not 1 <= s <= 62:
        raise ValueError(f"shift_round_half_up: shift must be in [1, 62], got {s}")
    out = np.add(np.asarray(x, dtype=_I64), 1 << (s - 1), out=out)
    out >>= s
    return out


def shift_round_stochastic(x: np.ndarray, shift: int | np.ndarray, r: np.ndarray, rbits: int = 32) -> np.ndarray:
    """floor((x + u) / 2**shift), u = the ``rbits``-bit uniform ``r`` scaled to [0, 2**shift).

    Rounds up with probability equal to the dropped fraction, to 2**−rbits resolution: unbiased in
    expectation up to that resolution. u = r << (shift − rbits) or r >> (rbits − shift). Requires
    0 <= shift <= 62 and |x| < 2**61.

    >>> r = np.arange(0, 2**32, 2**24, dtype=np.int64)          # 256 evenly spaced uniforms
    >>> float(shift_round_stochastic(np.full(256, 3), 2, r).mean())   # E = 3/4
    0.75
    """
    x = np.asarray(x, dtype=_I64)
    s = np.asarray(shift, dtype=_I64)
    if s.size and (s.min() < 0 or s.max() > 62):
        raise ValueError("shift_round_stochastic: shift must be in [0, 62]")
    r = np.asarray(r, dtype=_I64)
    if np.ndim(shift) == 0:
        u = (r << (int(shift) - rbits)) if int(shift) >= rbits else (r >> (rbits - int(shift)))
    elif s.min(initial=rbits) >= rbits:  # the common case in the learner: only left-shifted uniforms
        u = r << (s - rbits)
    else:
        u = np.where(s >= rbits, r << np.maximum(s - rbits, 0), r >> np.maximum(rbits - s, 0))
    return (x + u) >> s


def shift_left(x: np.ndarray, shift: int | np.ndarray) -> np.ndarray:
    """x · 2**shift (exact; the caller guarantees no overflow of int64)."""
    return np.asarray(x, dtype=_I64) << np.asarray(shift, dtype=_I64)


def div_round_even(x: np.ndarray, d: int | np.ndarray) -> np.ndarray:
    """x / d rounded to nearest, ties to even, for d > 0 (integer division as a device's UDIV/SDIV + fix-up).

    >>> div_round_even(np.array([5, 7, -5, 3]), 2).tolist()    # 2.5 3.5 -2.5 1.5
    [2, 4, -2, 2]
    """
    x = np.asarray(x, dtype=_I64)
    d = np.asarray(d, dtype=_I64)
    q, rem = np.divmod(x, d)  # floor division: 0 <= rem < d
    twice = 2 * rem
    up = (twice > d) | ((twice == d) & ((q & 1) == 1))
    return q + up


def mul_shift_round_even(x: np.ndarray, m: int | np.ndarray, shift: int | np.ndarray) -> np.ndarray:
    """(x · m) / 2**shift rounded to nearest, ties to even: a fixed-point multiply by a constant."""
    return shift_round_even(np.asarray(x, dtype=_I64) * np.asarray(m, dtype=_I64), shift)
