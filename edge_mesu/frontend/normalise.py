"""The front end's integer arithmetic: what a C port must match bit for bit.

Every rounding goes through :mod:`edge_mesu.fixed.rounding` (round half to even unless stated). Formats
(constants in :mod:`edge_mesu.frontend.spec`): x is an int16 count (a decimated sample is the block average
rounded half to even); mean m at MEAN_FRAC = 16 (int32); variance v at VAR_FRAC = 16 (int64); deviation
d8 at DEV_FRAC = 8; σ at STD_FRAC = 8; the output z at ``out_frac`` (int8).

Normaliser step, per channel, for a decimated sample x, with k samples absorbed so far (k saturates at
``2**tau``) and s = min(tau, bit_length(k)) (rates 1, 1/2, 1/4, 1/4, 1/8 ... down to ``2**-tau``: a warm-up
that tracks the cumulative mean, then an exponential forgetting with time constant ``2**tau``)::

    k == 0:  m = x · 2**16;  v = 0
    k >= 1:  d  = x · 2**16 − m                       (int64, frac 16)
             m  = m + round(d / 2**s)
             d8 = round(d / 2**8)                      (frac 8)
             v  = v + round((d8² − v) / 2**s)          (frac 16)
    k = min(k + 1, 2**tau)

Output of one window, per channel, from the (m, v) after the window's last sample::

    σ8  = max(round(√v), min_std_q)                    (frac 8: the integer square root, rounded)
    inv = round(2**34 / σ8)                            (int32: σ8 >= 16)
    z   = clamp(round(d8 · inv / 2**(34 − F)), ±clip)  for each sample, d8 = round((x · 2**16 − m) / 2**8)

Raw mode (F = out_frac): z saturated to int8 is the output. Feature mode (F = FEAT_FRAC = 8): mean =
round(Σz / n), rms = round(√round(Σz² / n)), min z, max z, each requantised as round(· / 2**(8 − out_frac))
and saturated to int8.
"""

from __future__ import annotations

import numpy as np

from ..fixed.qformat import SaturationCounter
from ..fixed.rounding import div_round_even, shift_round_even
from .spec import DEV_FRAC, FEAT_FRAC, INV_SHIFT, MEAN_FRAC, STD_FRAC, FrontEndSpec

__all__ = ["isqrt_round", "normaliser_run", "normalise_windows", "window_sigma"]

_I64 = np.int64
assert DEV_FRAC == STD_FRAC, "d8 / σ8 must be a pure ratio"


def isqrt_round(n: np.ndarray) -> np.ndarray:
    """round(√n) for integers 0 <= n < 2**62 (exact; no tie is possible), int64.

    Float √ gives a first guess, two integer corrections make it floor(√n), then r + (n − r² > r) rounds.

    >>> isqrt_round(np.array([0, 1, 2, 3, 6, 7, 2**62 - 1])).tolist()
    [0, 1, 1, 2, 2, 3, 2147483648]
    """
    n = np.asarray(n, dtype=_I64)
    if n.size and n.min() < 0:
        raise ValueError("isqrt_round: negative input")
    r = np.floor(np.sqrt(n.astype(np.float64))).astype(_I64)
    r = np.where(r * r > n, r - 1, r)
    r = np.where((r + 1) * (r + 1) <= n, r + 1, r)
    return r + (n - r * r > r)


def normaliser_run(
    m: np.ndarray, v: np.ndarray, k: int, x: np.ndarray, tau_log2: int, snap: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """Run the normaliser step (module docstring) over decimated samples ``x`` of shape ``(n, C)``.

    Returns ``(m, v, k, m_snap, v_snap)``: the final state and the state after each sample index listed
    in the sorted int array ``snap``. Inputs are not modified.

    >>> x = np.array([[100], [104], [96], [100]])      # rates 1, 1/2, 1/4, 1/4 while warming up
    >>> m, v, k, ms, vs = normaliser_run(np.zeros(1, np.int64), np.zeros(1, np.int64), 0, x, 10, np.array([3]))
    >>> (m / 2**16).tolist(), k, ms.shape
    ([100.375], 4, (1, 1))
    """
    m_snap = np.empty((len(snap), np.shape(m)[0]), dtype=_I64)
    v_snap = np.empty_like(m_snap)
    cap, j = 1 << tau_log2, 0
    half_dev = 1 << (MEAN_FRAC - DEV_FRAC - 1)
    # Python integers per channel: the same integers as int64 numpy (nothing here exceeds 2**62) without the
    # per-call overhead of tiny arrays; round half to even as (a + 2**(s-1) − 1 + ((a >> s) & 1)) >> s
    mm, vv = [int(a) for a in np.asarray(m)], [int(a) for a in np.asarray(v)]
    rows = (np.asarray(x, dtype=_I64) << MEAN_FRAC).tolist()
    snaps = [int(i) for i in snap]
    for i, row in enumerate(rows):
        if k == 0:
            mm, vv = list(row), [0] * len(row)
        else:
            s = min(tau_log2, k.bit_length())
            half = (1 << (s - 1)) - 1
            for c, xc in enumerate(row):
                d = xc - mm[c]
                mm[c] += (d + half + ((d >> s) & 1)) >> s
                d8 = (d + half_dev - 1 + ((d >> (MEAN_FRAC - DEV_FRAC)) & 1)) >> (MEAN_FRAC - DEV_FRAC)
                e = d8 * d8 - vv[c]
                vv[c] += (e + half + ((e >> s) & 1)) >> s
        k = min(k + 1, cap)
        while j < len(snaps) and snaps[j] == i:
            m_snap[j], v_snap[j] = mm, vv
            j += 1
    return np.array(mm, dtype=_I64), np.array(vv, dtype=_I64), k, m_snap, v_snap


def window_sigma(v: np.ndarray, spec: FrontEndSpec) -> np.ndarray:
    """σ at STD_FRAC: max(round(√v), min_std_q), int64, same shape as ``v``."""
    return np.maximum(isqrt_round(v), spec.min_std_q)


def normalise_windows(
    frames: np.ndarray, m: np.ndarray, v: np.ndarray, spec: FrontEndSpec, counter: SaturationCounter | None = None
) -> np.ndarray:
    """The int8 outputs of windows ``frames`` (W, L, C) with per-window stats ``m``, ``v`` (W, C).

    Returns int8 ``(W, spec.n_outputs)``: time-major, channels interleaved (``x0 y0 z0 x1 ...``), or
    channel-major features ``(mean, rms, min, max)`` per channel. Clipped values are counted in
    ``counter["clip"]``.
    """
    x = np.asarray(frames, dtype=_I64)
    n_win = x.shape[0]
    inv = div_round_even(np.full(v.shape, 1 << INV_SHIFT, dtype=_I64), window_sigma(v, spec))[:, None, :]
    d8 = shift_round_even((x << MEAN_FRAC) - m[:, None, :], MEAN_FRAC - DEV_FRAC)
    frac = FEAT_FRAC if spec.features else spec.out_frac
    bound = spec.clip_feat if spec.features else spec.clip_q
    z = shift_round_even(d8 * inv, INV_SHIFT - frac)  # d8 and σ8 share frac 8: d8·inv = z · 2**34
    if counter is not None:
        counter.add("clip", int(np.count_nonzero(np.abs(z) > bound)))
    z = np.clip(z, -bound, bound)
    if not spec.features:
        return spec.out_fmt.saturate(z.reshape(n_win, -1), counter, "saturate").astype(np.int8)
    n = x.shape[1]
    feats = np.stack(
        [
            div_round_even(z.sum(axis=1), n),
            isqrt_round(div_round_even((z * z).sum(axis=1), n)),
            z.min(axis=1),
            z.max(axis=1),
        ],
        axis=2,
    )  # (W, C, 4)
    out = shift_round_even(feats.reshape(n_win, -1), FEAT_FRAC - spec.out_frac)
    return spec.out_fmt.saturate(out, counter, "saturate").astype(np.int8)
