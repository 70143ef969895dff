"""The MESU update in integer arithmetic: the twin of :mod:`edge_mesu.mesu_rule` that a device runs.

The update runs over the flat parameter vector (all weights and biases, layer after layer); the few
per-layer constants apply to each layer's slice. For a parameter of layer l (μ int16 with F fractional
bits, stored σ code c, virtual code v = c + offset[l] with octave o = v // k, gradient sums Σg at frac G and
Σg·ε at frac G + 12 over S samples):

μ step (equation 1), one rounding at the end::

    B   = −Σg/S · 2**(32−G) + round((μ_prior − μ) · P)            bracket at frac 32, P = 2**(32−F)/(N·σp²)
    Δμ  = SR(B · var15[v], 32 − F + 15 − var_e + (2v)//k)         lr_μ·σ² = var15[v] · 2**(var_e − 15 − (2v)//k)

σ step (equation 2) as the relative step r = Δσ/σ at frac 32, then the code moves by the log of 1 + r::

    r·2**32 = prior32[v] − floor(Σ(g·ε)/S · sigl15[v] · 2**(sigl_e − 15 − o))      clipped to ±r_max
    Δc      = SR(−k/ln2 · (r − r²/2) · 2**32, 32)                                  k/ln2 in Q16

where sigl15[v]·2**(sigl_e − 15 − o) = lr_σ·c_σ·σ and prior32[v] = lr_σ·c_σ·(1 − σ²/σp²)/N · 2**32. The code
step is −k·log2(1 + r) to second order (error at most |r|³/(3(1 − |r|)), 0.35 % of the step at the |r| = 0.1 clip), so
E[log σ after the step] = log(σ·(1 + r)), the float rule's value: the log-domain code follows the float
learner's log σ without drift. SR is stochastic rounding with 26 random bits (round-to-nearest-even in the
ablation); the other right shifts round half up. Saturations are counted.

:class:`CodeTables` holds, per parameter, the values of the code-indexed tables; the learner keeps it and
refreshes only the parameters whose code moved (a few hundred of 39,700 per step on MNIST), so the
per-sample path never gathers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plan import CODE_STEP_SHIFT, GRAD_CLIP, H_FRAC, FixedPlan
from .prng import EPS_FRAC, SR_BITS
from .qformat import Rounding, SaturationCounter
from .rounding import div_round_even, shift_round_even, shift_round_half_up

__all__ = [
    "CodeTables",
    "LayerSlice",
    "LOG1P_POST",
    "LOG1P_PRE",
    "log1p_q32",
    "mesu_step_int",
    "round_update",
    "to_frac",
]


@dataclass(frozen=True)
class LayerSlice:
    """The parameters of one layer in the flat vector: ``[start, stop)``."""

    layer: int
    start: int
    stop: int


_FIELDS = ("sig", "var15", "mu_shift", "mu_sr", "bound", "sigl15", "sig_shift", "prior32")


class CodeTables:
    """Per-parameter values of every code-indexed table (int64), for a flat code vector over ``slices``.

    ``sig`` σ·2**(F + 16) for sampling; ``var15``/``mu_shift`` the μ step's multiplier and total shift
    (``mu_sr`` = mu_shift − SR_BITS);
    ``bound`` the |Δμ| bound (zeros without ratio_max); ``sigl15``/``sig_shift`` the σ step's multiplier and
    shift; ``prior32`` the σ prior term. Built by gathering once;
    :meth:`update` re-gathers only the parameters whose code changed.
    """

    sig: np.ndarray
    var15: np.ndarray
    mu_shift: np.ndarray
    mu_sr: np.ndarray
    bound: np.ndarray
    sigl15: np.ndarray
    sig_shift: np.ndarray
    prior32: np.ndarray

    def __init__(self, plan: FixedPlan, slices: list[LayerSlice], code: np.ndarray) -> None:
        t, k = plan.tables, 1 << plan.sigma_bits
        stored = np.arange(k)
        rows: dict[str, list[np.ndarray]] = {f: [] for f in _FIELDS}
        for l, f in enumerate(plan.mu_fmts):  # (n_layers, 2**bits) tables of stored codes
            v = stored + plan.offsets[l]
            rows["sig"].append(t["sig_sample"][l])
            rows["var15"].append(t["var15"][v])
            rows["mu_shift"].append(t["var_shift"][v] + (H_FRAC - f.frac + 15 - t["var_e"]))
            rows["mu_sr"].append(rows["mu_shift"][-1] - SR_BITS)  # the SR pre-shift (nested floors)
            rows["bound"].append(t["ratio_bound"][l] if plan.ratio_max is not None else np.zeros(k, np.int64))
            rows["sigl15"].append(t["sigl15"][v])
            rows["sig_shift"].append(t["sig_shift"][v])
            rows["prior32"].append(t["prior32"][v])
        self._flat = {name: np.concatenate(r) for name, r in rows.items()}
        base = np.empty(code.shape, dtype=np.intp)  # row offset of each parameter's layer
        for sl in slices:
            base[..., sl.start : sl.stop] = sl.layer * k
        self._base = base
        self.has_bound = plan.ratio_max is not None
        idx = base + code
        for name in _FIELDS:
            setattr(self, name, self._flat[name][idx])
        # bounds of the μ shift over every reachable code (codes stay in [code_min, code_max]): static
        reach = np.concatenate([r[plan.code_min : plan.code_max + 1] for r in rows["mu_shift"]])
        self.mu_shift_min, self.mu_shift_max = int(reach.min()), int(reach.max())

    def update(self, old: np.ndarray, new: np.ndarray) -> None:
        """Refresh the parameters whose code went from ``old`` to ``new`` (same dtype and shape)."""
        moved = np.flatnonzero(old != new)
        if moved.size:
            idx = self._base.reshape(-1)[moved] + new.reshape(-1)[moved]
            for name in _FIELDS:
                getattr(self, name).reshape(-1)[moved] = self._flat[name][idx]


def round_update(
    x: np.ndarray,
    shift: int | np.ndarray,
    rnd: np.ndarray,
    rounding: Rounding,
    shift_min: int | None = None,
    shift_max: int | None = None,
    pre: np.ndarray | None = None,
) -> np.ndarray:
    """x / 2**shift with the learner's update rounding: SR with SR_BITS random bits, or nearest-even.

    Shifts above 62 first floor by the excess (steps below 2**−62 of an LSB, immaterial). ``shift_min`` and
    ``shift_max`` may pass known bounds of an array ``shift`` (saves two reductions), ``pre`` the array
    shift − SR_BITS. SR as floor((floor(x / 2**(shift − 26)) + rnd) / 2**26): the same integer as
    floor((x + rnd·2**(shift − 26)) / 2**shift) (nested floors), one operation fewer, and what the C does.
    """
    if isinstance(shift, (int, np.integer)) or np.ndim(shift) == 0:
        shift_min = shift_max = int(shift)
    elif shift_max is None or shift_min is None:
        arr = np.asarray(shift)
        shift_min, shift_max = int(arr.min(initial=SR_BITS)), int(arr.max(initial=0))
    if shift_max > 62:
        excess = np.maximum(shift - 62, 0)
        x = x >> excess
        shift = shift - excess
        shift_max = 62
    if rounding is not Rounding.STOCHASTIC:
        return shift_round_even(x, shift)
    if shift_min >= SR_BITS:  # u = rnd scaled to [0, 2**shift): a left shift (the usual case)
        out = x >> (shift - SR_BITS if pre is None else pre)
        out += rnd
        out >>= SR_BITS
        return out
    s = np.asarray(shift, dtype=np.int64)
    u = np.where(s >= SR_BITS, rnd << np.maximum(s - SR_BITS, 0), rnd >> np.maximum(SR_BITS - s, 0))
    return (x + u) >> s


def to_frac(x: np.ndarray, frm: int, to: int) -> np.ndarray:
    """Change the fractional bits of integers: exact left shift, or round-half-up right shift."""
    return x << (to - frm) if to >= frm else shift_round_half_up(x, frm - to)


def _clip(x: np.ndarray, bound: int, counter: SaturationCounter, name: str) -> np.ndarray:
    if x.size == 0 or (x.min() >= -bound and x.max() <= bound):
        return x  # nothing to clip: two reductions
    out = np.minimum(np.maximum(x, -bound), bound)
    counter.add(name, int(np.count_nonzero(out != x)))
    return out


def _mu_bracket(
    plan: FixedPlan, slices: list[LayerSlice], mu: np.ndarray, g_sum: np.ndarray, samples: int
) -> np.ndarray:
    """B at frac 32: the likelihood gradient plus the prior pull, per layer."""
    t = plan.tables
    b = np.empty(g_sum.shape, dtype=np.int64)
    for sl in slices:
        part, g = b[..., sl.start : sl.stop], g_sum[..., sl.start : sl.stop]
        shift = H_FRAC - plan.grad_frac(sl.layer)
        grad = (g << shift) if shift >= 0 else shift_round_half_up(g, -shift)
        if samples > 1:
            grad = div_round_even(-grad, samples)
            np.negative(grad, out=grad)
        pm = t["prior"][sl.layer]
        np.subtract(t["mu_prior_q"][sl.layer], mu[..., sl.start : sl.stop], out=part)
        part *= pm.mant
        if pm.shift <= 0:  # N·σp² so small that the multiplier is >= 2**15: exact left shift
            part <<= -pm.shift
        elif pm.shift <= 62:  # else N is so large that the pull is below 2**−47 LSB per step
            shift_round_half_up(part, pm.shift, out=part)
        else:
            part[...] = 0
        part -= grad
    return b


def _ge_frac32(plan: FixedPlan, slices: list[LayerSlice], ge_sum: np.ndarray, samples: int) -> np.ndarray:
    """Σ(g·ε)/S at frac 32."""
    out = np.empty(ge_sum.shape, dtype=np.int64)
    for sl in slices:
        part, frm = out[..., sl.start : sl.stop], plan.grad_frac(sl.layer) + EPS_FRAC
        if frm <= H_FRAC:
            np.left_shift(ge_sum[..., sl.start : sl.stop], H_FRAC - frm, out=part)
        else:
            shift_round_half_up(ge_sum[..., sl.start : sl.stop], frm - H_FRAC, out=part)
    return div_round_even(out, samples) if samples > 1 else out


LOG1P_PRE, LOG1P_POST = 8, 17  # r²/2 at frac 32 as ((r >> 8)²) >> 17: the square stays below 2**49


def log1p_q32(r: np.ndarray) -> np.ndarray:
    """ln(1 + r) at frac 32 for r at frac 32, |r| < 1, to second order: r − r²/2 (in place; the error is at
    most |r|³/(3(1 − |r|)), 0.35 % of the step at |r| = 0.1).

    >>> int(log1p_q32(np.array([1 << 29]))[0]) / 2**32     # r = 1/8: ln(1.125) = 0.1178
    0.1171875
    """
    sq = r >> LOG1P_PRE
    sq *= sq
    sq >>= LOG1P_POST  # r²/2 at frac 32
    r -= sq
    return r


def mesu_step_int(
    plan: FixedPlan,
    slices: list[LayerSlice],
    mu: np.ndarray,
    code: np.ndarray,
    g_sum: np.ndarray,
    ge_sum: np.ndarray,
    samples: int,
    rnd_mu: np.ndarray,
    rnd_sig: np.ndarray,
    rounding: Rounding,
    counter: SaturationCounter,
    tables: CodeTables | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One MESU step on the flat state: returns (new μ int16, new σ code uint8). Inputs are not modified.

    Arrays are ``(P,)`` or ``(D, P)`` (a leading device axis); ``slices`` index the last axis.
    ``mu`` is int64 (values of int16), ``code`` uint8 or intp, ``g_sum``/``ge_sum`` int64 sums over ``samples``
    weight samples, ``rnd_mu``/``rnd_sig`` int64 uniforms of SR_BITS bits; ``tables`` the
    :class:`CodeTables` of ``code`` (built here when not given).
    """
    t = plan.tables
    ct = CodeTables(plan, slices, code) if tables is None else tables
    # -- μ: equation (1) --
    bracket = _clip(_mu_bracket(plan, slices, mu, g_sum, samples), GRAD_CLIP, counter, "grad_clip")
    bracket *= ct.var15
    d_mu = round_update(
        bracket,
        ct.mu_shift,
        rnd_mu,
        rounding,
        ct.mu_shift_min,
        ct.mu_shift_max,
        ct.mu_sr if ct.mu_shift_max <= 62 else None,
    )
    if ct.has_bound:  # |Δμ| <= ratio_max·σ (at least one LSB)
        flat, bound = d_mu.reshape(-1), ct.bound.reshape(-1)
        over = np.flatnonzero(np.abs(flat) > bound)
        if over.size:
            counter.add("mu_step_clip", int(over.size))
            flat[over] = np.sign(flat[over]) * bound[over]
    d_mu += mu
    new_mu = plan.mu_fmts[0].saturate(d_mu, counter, "mu")  # all μ formats are int16
    # -- σ code: equation (2) --
    ge = _clip(_ge_frac32(plan, slices, ge_sum, samples), GRAD_CLIP >> 1, counter, "grad_clip")
    ge *= ct.sigl15
    ge >>= ct.sig_shift  # floor: a bias of −2**−33 in r per step, 1e−8 code, immaterial; saves a pass
    r = np.subtract(ct.prior32, ge, out=ge)  # r at frac 32
    r = log1p_q32(_clip(r, t["rmax32"], counter, "sigma_step_clip"))
    r *= -t["klog_q16"]
    new_code = round_update(r, CODE_STEP_SHIFT, rnd_sig, rounding)
    new_code += code
    if new_code.min() < plan.code_min or new_code.max() > plan.code_max:
        counter.add("sigma_code", int(np.count_nonzero((new_code < plan.code_min) | (new_code > plan.code_max))))
        new_code = np.minimum(np.maximum(new_code, plan.code_min), plan.code_max)
    return new_mu.astype(np.int16), new_code.astype(np.uint8)
