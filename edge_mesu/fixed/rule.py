"""The MESU update in integer arithmetic: the twin of :mod:`edge_mesu.mesu_rule` that a device runs.

The update runs over the flat parameter vector (all weights and biases, layer after layer); the few
per-layer constants apply to each layer's slice. For a parameter of layer l (μ int16 with F fractional
bits, σ code c with octave o = c // k, gradient sums Σg at frac G and Σg·ε at frac G + 12 over S samples):

μ step (equation 1), one rounding at the end::

    B   = −Σg/S · 2**(32−G) + round((μ_prior − μ) · P)            bracket at frac 32, P = 2**(32−F)/(N·σp²)
    Δμ  = SR(B · var15[c], 32 − F + 15 − var_e + (2c)//k)         lr_μ·σ² = var15[c] · 2**(var_e − 15 − (2c)//k)

σ step (equation 2) as the relative step r = Δσ/σ, held at frac 32 + o so σ's power of two cancels::

    r·2**(32+o) = −round(Σ(g·ε)/S · sigl15[c] · 2**(sigl_e−15)) + prior_s[c]      clipped to ±rmax_s[c]
    Δc          = SR(−r·C · 2**(32+o), 32 + o),  C = 1/(2**(1/k) − 1) if r > 0 else 1/(1 − 2**(−1/k))

where sigl15[c]·2**(sigl_e − 15 − o) = lr_σ·c_σ·σ and prior_s[c] = lr_σ·c_σ·(1 − σ²/σp²)/N · 2**(32+o).
C makes E[σ after the step] = σ·(1 + r) exactly whenever |Δc| < 1 (the usual case). SR is stochastic
rounding with 26 random bits (round-to-nearest-even in the ablation); the other right shifts round half
up. Saturations are counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plan import GRAD_CLIP, H_FRAC, SR_BITS, FixedPlan
from .prng import EPS_FRAC
from .qformat import Rounding, SaturationCounter
from .rounding import div_round_even, shift_round_even, shift_round_half_up, shift_round_stochastic

__all__ = ["LayerSlice", "mesu_step_int", "round_update", "to_frac"]


@dataclass(frozen=True)
class LayerSlice:
    """The parameters of one layer in the flat vector: ``[start, stop)``."""

    layer: int
    start: int
    stop: int


def round_update(x: np.ndarray, shift: np.ndarray, rnd: np.ndarray, rounding: Rounding) -> np.ndarray:
    """x / 2**shift with the learner's update rounding (shift clipped to 62 after a floor pre-shift)."""
    if shift.max(initial=0) > 62:
        excess = np.maximum(shift - 62, 0)
        x = x >> excess  # steps below 2**−62 of an LSB: floored, immaterial
        shift = shift - excess
    if rounding is Rounding.STOCHASTIC:
        return shift_round_stochastic(x, shift, rnd, SR_BITS)
    return shift_round_even(x, shift)


def to_frac(x: np.ndarray, frm: int, to: int) -> np.ndarray:
    """Change the fractional bits of integers: exact left shift, or round-half-up right shift."""
    return x << (to - frm) if to >= frm else shift_round_half_up(x, frm - to)


def _clip(x: np.ndarray, bound: int, counter: SaturationCounter, name: str) -> np.ndarray:
    if x.size == 0 or (x.min() >= -bound and x.max() <= bound):
        return x  # nothing to clip: two reductions
    out = np.clip(x, -bound, bound)
    counter.add(name, int(np.count_nonzero(out != x)))
    return out


def _per_layer(slices: list[LayerSlice], x: np.ndarray, fn) -> np.ndarray:
    """Apply ``fn(slice, x[slice])`` to each layer's part of the flat vector ``x``."""
    out = np.empty(x.shape, dtype=np.int64)
    for sl in slices:
        out[sl.start:sl.stop] = fn(sl, x[sl.start:sl.stop])
    return out


def _mu_bracket(plan: FixedPlan, slices: list[LayerSlice], mu: np.ndarray, g_sum: np.ndarray,
                samples: int) -> np.ndarray:
    """B at frac 32: the likelihood gradient plus the prior pull, per layer."""
    t = plan.tables

    def layer_bracket(sl: LayerSlice, g: np.ndarray) -> np.ndarray:
        b = -to_frac(g, plan.grad_frac(sl.layer), H_FRAC)
        if samples > 1:
            b = div_round_even(b, samples)
        pm = t["prior"][sl.layer]
        pull = (t["mu_prior_q"][sl.layer] - mu[sl.start:sl.stop]) * pm.mant
        if pm.shift <= 0:  # N·σp² so small that the multiplier is >= 2**15: exact left shift
            b += pull << -pm.shift
        elif pm.shift <= 62:  # else N is so large that the pull is below 2**−47 LSB per step
            b += shift_round_half_up(pull, pm.shift)
        return b

    return _per_layer(slices, g_sum, layer_bracket)


def mesu_step_int(plan: FixedPlan, slices: list[LayerSlice], mu: np.ndarray, code: np.ndarray,
                  g_sum: np.ndarray, ge_sum: np.ndarray, samples: int, rnd_mu: np.ndarray, rnd_sig: np.ndarray,
                  rounding: Rounding, counter: SaturationCounter) -> tuple[np.ndarray, np.ndarray]:
    """One MESU step on the flat state: returns (new μ int16, new σ code uint8). Inputs are not modified.

    ``mu`` is int64 (values of int16), ``code`` intp, ``g_sum``/``ge_sum`` int64 sums over ``samples``
    weight samples, ``rnd_mu``/``rnd_sig`` int64 uniforms of SR_BITS bits.
    """
    t = plan.tables
    # -- μ: equation (1) --
    bracket = _clip(_mu_bracket(plan, slices, mu, g_sum, samples), GRAD_CLIP, counter, "grad_clip")
    shift = np.take(t["var_shift"], code)
    for sl in slices:
        shift[sl.start:sl.stop] += H_FRAC - plan.mu_fmts[sl.layer].frac + 15 - t["var_e"]
    d_mu = round_update(bracket * np.take(t["var15"], code), shift, rnd_mu, rounding)
    if t["ratio_q15"] is not None:  # |Δμ| <= ratio_max·σ (at least one LSB)
        for sl in slices:
            bound = np.maximum(np.take(t["ratio_bound"][sl.layer], code[sl.start:sl.stop]), 1)
            part = d_mu[sl.start:sl.stop]
            counter.add("mu_step_clip", int(np.count_nonzero(np.abs(part) > bound)))
            np.clip(part, -bound, bound, out=part)
    new_mu = plan.mu_fmts[0].saturate(mu + d_mu, counter, "mu")  # all μ formats are int16
    # -- σ code: equation (2) --
    ge = _per_layer(slices, ge_sum, lambda sl, x: to_frac(x, plan.grad_frac(sl.layer) + EPS_FRAC, H_FRAC))
    if samples > 1:
        ge = div_round_even(ge, samples)
    ge = _clip(ge, GRAD_CLIP >> 1, counter, "grad_clip")
    r = np.take(t["prior_s"], code) - to_frac(ge * np.take(t["sigl15"], code), 15 - t["sigl_e"], 0)
    if r.max() > t["rmax0"] or r.min() < -t["rmax0"]:  # rmax_s[c] >= rmax0: the array clip is rarely needed
        rmax = np.take(t["rmax_s"], code)
        counter.add("sigma_step_clip", int(np.count_nonzero(np.abs(r) > rmax)))
        r = np.clip(r, -rmax, rmax)
    scaled = -shift_round_half_up(r * np.where(r > 0, t["c_up_q10"], t["c_down_q10"]), 10)
    new_code = code + round_update(scaled, H_FRAC + np.take(t["octave"], code), rnd_sig, rounding)
    if new_code.min() < plan.code_min or new_code.max() > plan.code_max:
        counter.add("sigma_code", int(np.count_nonzero((new_code < plan.code_min) | (new_code > plan.code_max))))
        new_code = np.clip(new_code, plan.code_min, plan.code_max)
    return new_mu.astype(np.int16), new_code.astype(np.uint8)
