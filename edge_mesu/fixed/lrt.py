"""Local reparameterisation in integers (``FixedMESULearner(sampling="lrt")``): the learn step's forward,
backward and gradients when each layer's pre-activation is sampled instead of its weights.

The float reference is :func:`edge_mesu.mlp.lrt_gradients`: b_j = m_j + s_j·ε_j, m_j = Σ_i μ_ij·a_i (+ μ_bj),
s_j² = Σ_i σ_ij²·a_i² (+ σ_bj²), one ε per output; ∂C/∂μ_ij = δ_j·a_i, ∂C/∂σ_ij = σ_ij·a_i²·u_j with
u_j = δ_j·ε_j/s_j, and δ reaches the layer below as Σ_j δ_j·μ_ij + a_i·Σ_j u_j·σ_ij². Per layer and input
row (docs/fixed_point.md, "Local reparameterisation", proves the ranges)::

    a2_i = round_half_up(a_i² / 2**ta)          ta per row of the batch: max a2 <= 2**15 (bias: a = 2**in_frac)
    v_j  = Σ_i a2_i · sq16[c_ij]                 a2·sq16 < 2**31 per parameter, v < 2**47 (int64 per output)
    S_j  = round(√(v_j · 2**p))                  p even-adjusted so max v·2**p < 2**60: S <= 2**30, per output
    z_j  = sat32(m_j + round_half_up(S_j·ε_j / 2**ns))   ε from stream LRT_STREAM + sample, index b·H + o_l + j
    U_j  = round_even(δ16_j·ε_j·2**30 / S_j)     0 where S_j = 0; u16 = U block-normalised, Σ|u16| <= 2**15 − 1
    δ_i  = sat32(round(Σ_j δ16_j·μ_ij) + round(a_i · Σ_j u16_j·sq16[c_ij])) ⊙ [z_i > 0]   (Q.24, layer below)
    h16  = round_half_up(a2_i·u16_j / 2**t_i),  |h16| <= 2**15: ∂C/∂σ_ij = σ_ij · h16 · 2**τσ_i

These are the passes (like :mod:`.kernels`' forward and backward): :func:`edge_mesu.fixed.step.lrt_gradients`
turns their layer inputs and δ into g16/τ (the μ gradient, as for weight sampling) and gathers h16/τσ, which
:func:`.rule.mesu_step_int` takes (``lrt=``): its σ step multiplies by a σ² mantissa (sq13) instead of σ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels import ACC_FMT, _bitlen, _matmul_exact, activate, normalize_delta, softmax_q15
from .plan import DH_FRAC, P_FRAC, FixedPlan
from .prng import EPS_FRAC, draws_at, gaussian_from_bits, step_keys
from .qformat import SaturationCounter
from .rounding import div_round_even, shift_round_even
from .rule import rhu

__all__ = ["LRT_STREAM", "SHIFT_SAT_BITS", "SQRT_TOP", "U_BITS", "U_SHIFT", "isqrt_round", "lrt_eps", "lrt_pass"]

LRT_STREAM = 0x30000  # the pre-activation ε of learn sample s: stream 0x30000 + s (no other stream's)
U_SHIFT = 30  # U = δ16·ε·2**30 / S: |δ16·ε| < 2**30, so |U · S| < 2**60 fits int64
U_BITS = 15  # Σ|u16| <= 2**15 − 1: u16·sq16 (< 2**16) summed over a row fits int32
SQRT_TOP = 60  # max v·2**p < 2**60: S < 2**30
SHIFT_SAT_BITS = 40  # _shift's left shifts saturate at ±2**40 (beyond any int32 result)


@dataclass
class _Noise:
    """One layer's sampled noise of a batch: a2 ``(..., B, rows)``, ta/sf ``(..., B, 1)``, S and ε ``(..., B, J)``."""

    a2: np.ndarray
    ta: np.ndarray
    S: np.ndarray
    sf: np.ndarray
    eps: np.ndarray


def isqrt_round(v: np.ndarray) -> np.ndarray:
    """round(√v) for int64 0 <= v < 2**62, exact (a float estimate then an integer fix-up, per element; a
    device runs its bitwise integer square root per output).

    >>> isqrt_round(np.array([0, 1, 2, 3, 6, 7, 2**60 - 1])).tolist()
    [0, 1, 1, 2, 2, 3, 1073741824]
    """
    v = np.asarray(v, dtype=np.int64)
    s = np.floor(np.sqrt(v.astype(np.float64))).astype(np.int64)
    s -= s * s > v  # floor √v exactly: the float estimate is within one
    s += (s + 1) * (s + 1) <= v
    return s + (v - s * s > s)  # round: √v >= s + 1/2 ⇔ v >= s² + s + 1/4 ⇔ v − s² > s (integers)


def lrt_eps(outs: tuple[int, ...], seed: np.ndarray, step: np.ndarray, sample: int, batch: int) -> list[np.ndarray]:
    """Per layer, the Q12 ε ``(D, B, fan_out)`` of the pre-activations (``outs``: each layer's fan_out):
    stream ``LRT_STREAM + sample`` of (seed, step), index b·H + o_l + j (H = Σ fan_out, o_l = the fan_outs of
    the layers before l)."""
    H = sum(outs)
    eps = gaussian_from_bits(draws_at(step_keys(seed, step, LRT_STREAM + sample), batch * H))
    eps = eps.reshape(eps.shape[0], batch, H).astype(np.int64)
    bounds = np.cumsum((0,) + outs)
    return [eps[..., a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _with_bias(plan: FixedPlan, a: np.ndarray, l: int, bias: bool) -> np.ndarray:
    """The layer input with the bias input a = 2**in_frac appended (when the layer has biases)."""
    if not bias:
        return a
    return np.concatenate([a, np.full(a.shape[:-1] + (1,), 1 << plan.in_frac(l), dtype=np.int64)], axis=-1)


def _shift(x: np.ndarray, s: np.ndarray, sat: int = 1 << SHIFT_SAT_BITS) -> np.ndarray:
    """x / 2**s rounded to nearest even for s >= 0 (0 from 62 on: |x| < 2**61); an exact left shift saturated
    at ±sat for s < 0 (the C twin: ``lrt_shift`` in csrc/template_core.c)."""
    out = shift_round_even(x, np.clip(s, 0, 62))
    neg = np.broadcast_to(s < 0, out.shape)
    if neg.any():
        n = np.broadcast_to(np.minimum(-s, SHIFT_SAT_BITS), out.shape)[neg]
        xs = np.broadcast_to(x, out.shape)[neg]
        lim = sat >> n
        out[neg] = np.where(xs > lim, sat, np.where(xs < -lim, -sat, xs << n))
    return out


def _sample_layer(plan: FixedPlan, l: int, a: np.ndarray, sq_rows: np.ndarray, eps: np.ndarray, bias: bool) -> _Noise:
    """The variance, √ and noise scale of layer ``l`` for inputs ``a`` ``(..., B, n_in)``."""
    a_ext = _with_bias(plan, a, l, bias)
    A2 = a_ext * a_ext  # <= 2**30
    ta = np.maximum(_bitlen(A2.max(axis=-1, keepdims=True)) - 15, 0)
    a2 = rhu(A2, ta)  # <= 2**15
    v = _matmul_exact(a2, sq_rows, 2.0**16)  # Σ a2·sq16 < 2**47: exact
    ss = plan.tables["sample_shift"][l] - EPS_FRAC
    Vf = 2 * plan.in_frac(l) - ta + 2 * (plan.mu_fmts[l].frac + ss) - 14  # v's fractional bits
    vmax = v.max(axis=-1, keepdims=True)
    p = SQRT_TOP - _bitlen(vmax)
    p -= (Vf + p) & 1  # √ of an even number of fractional bits
    p = np.where(vmax > 0, p, 0)
    S = isqrt_round(v << p)
    return _Noise(a2, ta, S, (Vf + p) >> 1, eps)


def _forward(
    plan: FixedPlan,
    x_q: np.ndarray,
    weights: list[np.ndarray],
    biases: list[np.ndarray | None],
    sq_w: list[np.ndarray],
    sq_b: list[np.ndarray | None],
    eps: list[np.ndarray],
    counter: SaturationCounter,
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], list[_Noise]]:
    acts, zs, noise = [x_q.astype(np.int64)], [], []
    a = acts[0]
    for l, (w, b) in enumerate(zip(weights, biases)):
        m = _matmul_exact(a, w, 2.0**15)
        if b is not None:
            m = m + (b.astype(np.int64) << plan.in_frac(l))
        sq_rows = sq_w[l] if sq_b[l] is None else np.concatenate([sq_w[l], sq_b[l]], axis=-2)
        nz = _sample_layer(plan, l, a, sq_rows, eps[l], b is not None)
        ns = nz.sf + EPS_FRAC - (plan.in_frac(l) + plan.mu_fmts[l].frac)  # S·ε to z's fractional bits
        z = ACC_FMT.saturate(m + _shift(nz.S * nz.eps, ns), counter, "acc")
        noise.append(nz)
        zs.append(z)
        if l == len(weights) - 1:
            return z, acts, zs, noise
        a = activate(plan, l, z, counter)
        acts.append(a)
    raise AssertionError("unreachable: empty network")


def _u16(plan: FixedPlan, l: int, d16: np.ndarray, e: np.ndarray, nz: _Noise) -> tuple[np.ndarray, np.ndarray]:
    """(u16, fu): u_j = δ_j·ε_j/s_j = u16_j · 2**(−fu), Σ|u16| <= 2**15 − 1, fu ``(..., B, 1)``."""
    num = (d16 * nz.eps) << U_SHIFT
    U = np.where(nz.S > 0, div_round_even(num, np.maximum(nz.S, 1)), 0)
    u16, eu = normalize_delta(U, U_BITS)
    fu = plan.delta_frac(l) - e + EPS_FRAC + U_SHIFT - nz.sf - eu
    return u16, fu


def lrt_pass(
    plan: FixedPlan,
    x_q: np.ndarray,
    y: np.ndarray,
    weights: list[np.ndarray],
    biases: list[np.ndarray | None],
    sq_w: list[np.ndarray],
    sq_b: list[np.ndarray | None],
    eps: list[np.ndarray],
    counter: SaturationCounter,
) -> tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray]], list[tuple[np.ndarray, np.ndarray]]]:
    """Forward and backward of one pre-activation sample ``eps`` (:func:`lrt_eps`) at the means: (layer
    inputs, (δ16, e) per layer, (h16, τσ) per layer). ``weights``/``biases`` are μ ``(..., n_in, n_out)`` /
    ``(..., 1, n_out)`` (None without bias), ``sq_w``/``sq_b`` their σ² table values (sq16) alike; ``x_q``
    ``(..., B, n_in)``, ``y`` ``(..., B)``. h16 ``(..., rows, n_out)`` (rows: n_in, + 1 with a bias) gives
    ∂C/∂σ = σ · h16 · 2**τσ, τσ ``(..., rows, 1)`` constant along a row."""
    logits, acts, zs, noise = _forward(plan, x_q, weights, biases, sq_w, sq_b, eps, counter)
    p = softmax_q15(plan, logits, plan.in_frac(len(weights) - 1) + plan.mu_fmts[-1].frac)
    onehot = (np.arange(p.shape[-1]) == np.asarray(y)[..., None]).astype(np.int64) << P_FRAC
    d16, e = normalize_delta(p - onehot)
    deltas: list[tuple[np.ndarray, np.ndarray]] = []
    us: list[tuple[np.ndarray, np.ndarray]] = []
    for l in range(len(weights) - 1, -1, -1):
        deltas.insert(0, (d16, e))
        us.insert(0, _u16(plan, l, d16, e, noise[l]))
        if l == 0:
            break
        F = plan.mu_fmts[l].frac
        back = _matmul_exact(d16, np.swapaxes(weights[l], -1, -2), 2.0**15)  # Σ_j δ16_j·μ_ij
        T = _matmul_exact(us[0][0], np.swapaxes(sq_w[l], -1, -2), 2.0**16)  # Σ_j u16_j·sq16_ij, |T| < 2**31
        ss = plan.tables["sample_shift"][l] - EPS_FRAC
        f2 = plan.in_frac(l) + us[0][1] + 2 * (F + ss) - 14  # a·T's fractional bits
        total = _shift(back, F + plan.delta_frac(l) - DH_FRAC - e) + _shift(acts[l] * T, f2 - DH_FRAC)
        delta = ACC_FMT.saturate(total, counter, "delta") * (zs[l - 1] > 0)
        d16, e = normalize_delta(delta)
    return acts, deltas, [_sigma_rows(plan, l, nz, u) for l, (nz, u) in enumerate(zip(noise, us))]


def _sigma_rows(plan: FixedPlan, l: int, nz: _Noise, u: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(h16, τσ) of layer ``l``: h16 = round_half_up(Σ_b a2_bi·u16_bj / 2**t_i), the batch rows aligned to the
    coarsest; t_i = max(0, bitlen(max_j |·|) − 15) per row, so |h16| <= 2**15."""
    u16, fu = u
    pf = 2 * plan.in_frac(l) - nz.ta + fu  # a2·u16's fractional bits, per batch row
    pf_min = pf.min(axis=-2, keepdims=True)
    if nz.a2.shape[-2] == 1:  # one row: a2 <= 2**15, |u16| <= 2**15, the product fits int32
        Hr = nz.a2[..., 0, :, None] * u16[..., 0, None, :]
        peak = nz.a2[..., 0, :] * np.abs(u16[..., 0, :]).max(axis=-1, keepdims=True)
    else:
        Hr = np.matmul(np.swapaxes(nz.a2, -1, -2), rhu(u16, pf - pf_min))  # int64: exact
        peak = np.abs(Hr).max(axis=-1)
    t = np.maximum(_bitlen(peak) - 15, 0)[..., None]
    return rhu(Hr, t), t - pf_min[..., 0, :, None]
