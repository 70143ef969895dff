"""Float64 reference of the front end's arithmetic: the same pipeline without integer rounding.

Same schedule and formulas as :mod:`edge_mesu.frontend.normalise` (rates ``2**-s``, the same warm-up, the
same clip), in float64 and without intermediate rounding, so the integer path can be checked against it:
they agree to within one output LSB (``tests/test_frontend_reference.py``). Decimated samples are the
block averages rounded half to even in both (they are the signal, not an intermediate).
"""

from __future__ import annotations

import numpy as np

from .spec import FrontEndSpec

__all__ = ["normaliser_run_float", "normalise_windows_float"]


def normaliser_run_float(
    m: np.ndarray, v: np.ndarray, k: int, x: np.ndarray, tau_log2: int, snap: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """Float twin of :func:`edge_mesu.frontend.normalise.normaliser_run` (mean and variance in counts).

    >>> x = np.array([[100.0], [104.0], [96.0], [100.0]])
    >>> m, v, k, ms, vs = normaliser_run_float(np.zeros(1), np.zeros(1), 0, x, 10, np.array([3]))
    >>> m.tolist(), k
    ([100.375], 4)
    """
    m, v = np.array(m, dtype=np.float64), np.array(v, dtype=np.float64)
    m_snap = np.empty((len(snap), m.shape[0]))
    v_snap = np.empty_like(m_snap)
    cap, j = 1 << tau_log2, 0
    xs = np.asarray(x, dtype=np.float64)
    for i in range(xs.shape[0]):
        if k == 0:
            m, v = xs[i].copy(), np.zeros_like(v)
        else:
            rate = 2.0 ** -min(tau_log2, k.bit_length())
            d = xs[i] - m
            m = m + d * rate
            v = v + (d * d - v) * rate
        k = min(k + 1, cap)
        while j < len(snap) and snap[j] == i:
            m_snap[j], v_snap[j] = m, v
            j += 1
    return m, v, k, m_snap, v_snap


def normalise_windows_float(frames: np.ndarray, m: np.ndarray, v: np.ndarray, spec: FrontEndSpec) -> np.ndarray:
    """Float twin of :func:`edge_mesu.frontend.normalise.normalise_windows`: outputs in standard deviations,
    clipped to ``±clip`` and to the int8 output range, not rounded. Shape ``(W, spec.n_outputs)``."""
    x = np.asarray(frames, dtype=np.float64)
    sigma = np.maximum(np.sqrt(v), spec.min_std)[:, None, :]
    z = np.clip((x - m[:, None, :]) / sigma, -spec.clip, spec.clip)
    if spec.features:
        feats = np.stack([z.mean(axis=1), np.sqrt((z * z).mean(axis=1)), z.min(axis=1), z.max(axis=1)], axis=2)
        out = feats.reshape(x.shape[0], -1)
    else:
        out = z.reshape(x.shape[0], -1)
    fmt = spec.out_fmt
    return np.clip(out, fmt.min_value, fmt.max_value)
