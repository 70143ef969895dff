"""Integer forward and backward passes of the fixed-point MLP (the device's inference and gradient code).

Matrix products of integers are computed with float64 BLAS: every product of an int16 (or int8) by an int16
and every partial sum stays below 2**53, so each result is the exact integer an int64 (or non-overflowing
int32) multiply-accumulate loop gives, in any summation order. Results are converted back to int64.
"""

from __future__ import annotations

import numpy as np

from .plan import DH_FRAC, EXP2_INDEX_BITS, LOG2E_FRAC, P_FRAC, SOFTMAX_D_MIN, Z_FRAC, FixedPlan
from .qformat import QFormat, SaturationCounter
from .rounding import div_round_even, shift_round_even

__all__ = [
    "activate",
    "sample_weights",
    "forward",
    "softmax_q15",
    "backward",
    "normalize_delta",
    "sigma_sample_table",
    "ACC_FMT",
    "DELTA_L1_MAX",
]

ACC_FMT = QFormat(32, 0)  # layer accumulators are int32 on the device: saturate, never wrap
DELTA_L1_MAX = (1 << 16) - 1  # Σ_j |δ16_j| of a layer: W·δ16 then fits int32 (|w| <= 2**15)


def sigma_sample_table(plan: FixedPlan, layer: int) -> np.ndarray:
    """Per stored σ code of ``layer``, round(σ · 2**(F + SS_l)) < 2**15 (int64, read-only)."""
    return plan.tables["sig16"][layer]


def sample_weights(
    mu_q: np.ndarray, sig: np.ndarray, eps_q: np.ndarray, shift: int, mu_fmt: QFormat, counter: SaturationCounter
) -> np.ndarray:
    """w = μ + round_half_up(sig·ε, shift) with sig = σ·2**(F + SS) (< 2**15) and shift = SS + 12.

    ``sig·ε`` < 2**29 fits int32; μ is kept within ``mu_lim`` of its layer, so w always fits int16 (the
    saturation below never fires; it is counted if a state from outside ever breaks that bound)."""
    w = sig * eps_q
    w += 1 << (shift - 1)
    w >>= shift
    w += mu_q
    return mu_fmt.saturate(w, counter, "w_sample")


def _bitlen(x: np.ndarray) -> np.ndarray:
    """Bit length of non-negative integers below 2**53 (0 for 0)."""
    return np.frexp(np.asarray(x, dtype=np.float64))[1].astype(np.int64)


def normalize_delta(d: np.ndarray, bits: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(δ16, e): δ16 = round_half_up(δ / 2**e) with the smallest e >= 0 such that Σ_j |δ16_j| <= 2**bits − 1,
    per row of ``d`` (..., J); e has shape (..., 1). A block exponent: W·δ16 and a·δ16 stay in int32."""
    limit = (1 << bits) - 1
    e = np.maximum(_bitlen(np.abs(d).sum(axis=-1, keepdims=True)) - bits, 0)
    while True:
        d16 = (d + (np.left_shift(1, e) >> 1)) >> e
        over = np.abs(d16).sum(axis=-1, keepdims=True) > limit
        if not over.any():
            return d16, e
        e = e + over


def _matmul_exact(a: np.ndarray, w: np.ndarray, w_max: float | None = None) -> np.ndarray:
    """Exact integer ``a @ w``: float64 BLAS when every partial sum provably stays below 2**53, else int64.

    ``w_max`` bounds |w| (e.g. its format's range) and saves a pass over ``w``."""
    wm = float(np.abs(w).max(initial=0)) if w_max is None else w_max
    bound = float(np.abs(a).max(initial=0)) * wm * a.shape[-1]
    if bound < 2.0**53:
        return (a.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)
    return a.astype(np.int64) @ w.astype(np.int64)


def activate(plan: FixedPlan, l: int, z: np.ndarray, counter: SaturationCounter) -> np.ndarray:
    """The next layer's input from hidden layer ``l``'s accumulator: saturate(round_even(relu(z))) in the
    activation format (an exact left shift when the activation has more fractional bits)."""
    shift = plan.in_frac(l) + plan.mu_fmts[l].frac - plan.act_fmt.frac
    h = shift_round_even(np.maximum(z, 0), shift) if shift >= 0 else np.maximum(z, 0) << -shift
    return plan.act_fmt.saturate(h, counter, "act")


def forward(
    plan: FixedPlan,
    x_q: np.ndarray,
    weights: list[np.ndarray],
    biases: list[np.ndarray | None],
    counter: SaturationCounter,
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Integer forward pass for a batch ``x_q`` (..., B, n_in) of input-format integers (leading device axes
    broadcast against weights (..., n_in, n_out) and biases (..., 1, n_out)).

    Returns (logits at frac in_frac(L)+F_L as int64, layer inputs [x, h1, ...], pre-activations [z0, ...]).
    Hidden layers: h = saturate(round_even(relu(z), F_in + F_w − F_act)) in the activation format.
    """
    acts = [x_q.astype(np.int64)]
    zs = []
    last = len(weights) - 1
    a = acts[0]
    for l, (w, b) in enumerate(zip(weights, biases)):
        z = _matmul_exact(a, w, 2.0**15)  # μ formats and sampled weights are int16
        if b is not None:
            z = z + (b.astype(np.int64) << plan.in_frac(l))
        z = ACC_FMT.saturate(z, counter, "acc")
        zs.append(z)
        if l == last:
            return z, acts, zs
        a = activate(plan, l, z, counter)
        acts.append(a)
    raise AssertionError("unreachable: empty network")


def softmax_q15(plan: FixedPlan, logits: np.ndarray, logit_frac: int) -> np.ndarray:
    """Softmax in Q15 from integer logits, as the device computes it.

    z → Q.10; d = z − max(z) <= 0; t = round_even(d·log2(e)) in Q.10; 2**t = EXP2[frac(t) >> 2] >> −int(t)
    (a 256-entry Q15 table of bin mid-points); p = round_even(e·2**15 / Σe).
    """
    t = plan.tables
    z = shift_round_even(logits, logit_frac - Z_FRAC) if logit_frac >= Z_FRAC else logits << (Z_FRAC - logit_frac)
    d = z - z.max(axis=-1, keepdims=True)
    d = np.maximum(d, SOFTMAX_D_MIN)  # keep d·log2e inside int64; anything below −2**30 underflows to 0 anyway
    tq = shift_round_even(d * t["log2e_q15"], LOG2E_FRAC)
    ip = tq >> Z_FRAC  # floor: integer part, <= 0
    fp = tq - (ip << Z_FRAC)  # fractional part in [0, 2**10)
    e = np.take(t["exp2_q15"], fp >> (Z_FRAC - EXP2_INDEX_BITS))
    e = shift_round_even(e, np.minimum(-ip, 62))
    total = e.sum(axis=-1, keepdims=True)
    return div_round_even(e << P_FRAC, total)


def backward(
    plan: FixedPlan,
    weights: list[np.ndarray],
    acts: list[np.ndarray],
    zs: list[np.ndarray],
    p_q15: np.ndarray,
    y: np.ndarray,
    counter: SaturationCounter,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(δ16, e) per layer (:func:`normalize_delta`): output δ = p − onehot (Q15); hidden
    δ_l = saturate32(round_even(W_{l+1} δ16_{l+1} · 2**e_{l+1})) ⊙ [z_l > 0] (Q7.24).

    W·δ16 is exact in int32 (Σ|δ16| <= 2**16 − 1, |w| <= 2**15); the shift back to Q.24 is one per row.
    Gradients a_l ⊗ δ16_l are formed by the update. Leading axes (devices) broadcast: ``y`` has the shape of
    ``p_q15[..., 0]``.
    """
    onehot = (np.arange(p_q15.shape[-1]) == np.asarray(y)[..., None]).astype(np.int64) << P_FRAC
    d16, e = normalize_delta(p_q15 - onehot)
    deltas = [(d16, e)]
    for l in range(len(weights) - 1, 0, -1):
        back = _matmul_exact(d16, np.swapaxes(weights[l], -1, -2), 2.0**15)  # frac F_l + δ_frac(l) − e
        shift = plan.mu_fmts[l].frac + plan.delta_frac(l) - DH_FRAC - e
        back = np.where(shift >= 0, shift_round_even(back, np.maximum(shift, 0)), back << np.maximum(-shift, 0))
        delta = ACC_FMT.saturate(back, counter, "delta") * (zs[l - 1] > 0)
        d16, e = normalize_delta(delta)
        deltas.insert(0, (d16, e))
    return deltas
