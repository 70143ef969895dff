"""The MESU update in integer arithmetic (format 2): the twin of :mod:`edge_mesu.mesu_rule` that a device runs.

Every per-parameter value below fits int32 (bounds proven from the plan in docs/fixed_point.md; numpy holds
them in int64 and computes the same integers as the C's int32). The update runs per layer over rows: row i
of layer l is the ``fan_out`` weights fed by input i (the biases are one more row). A row carries a
gradient exponent τ_i: its gradients are ``g16 · 2**(τ_i − G)`` with |g16| <= 2**15 (:mod:`.step`).
For a parameter with μ (int16, F fractional bits), stored code c and the per-code table values of its layer::

    μ step   pr = round_half_up((μp − μ)·Pm / 2**(Ps + τ))          prior pull in g16 units (0 when Ps+τ >= 31)
             q  = (pr − g16) · var14[c]                               |pr| <= 2**15 since τ >= tau_min of the
             Δμ = SR(q, mu_sh[c] − τ)                                   layer, so |q| <= 2**16 · 2**14
    σ step   ge = round_half_up(g16·ε, 13)                             |ge| < 2**16
             u  = pk[c] − floor(ge · sigl13[c] / 2**(ssh[c] − τ))      (k/ln2)·Δσ/σ in codes at frac 22
      (LRT)  u  = pk[c] − floor(h16 · sq13[c] / 2**(sshq[c] − τσ))     h16·2**τσ = ∂C/∂σ / σ, |h16| <= 2**15
             Δc = SR(−(u − u²·ln2/(2k)), 22)                           −k·log2(1 + r) to second order

SR is stochastic rounding with SR_BITS = 20 random bits as floor((floor(x / 2**(s − 20)) + rnd) / 2**20)
(round-to-nearest-even in the ablation); a negative shift (a step so large it saturates) is an exact left
shift saturated at a bound that saturates the result anyway. Saturations and clips are counted per row
(one count per row in which any parameter saturated): the common case costs one OR per parameter on a device.

:class:`CodeTables` holds, per parameter, the values of the code-indexed tables; the learner keeps it and
refreshes only the parameters whose code moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plan import DMU_SAT, U_FRAC, FixedPlan
from .prng import SR_BITS
from .qformat import Rounding, SaturationCounter
from .rounding import shift_round_even

__all__ = [
    "CodeTables",
    "LayerSlice",
    "count_rows",
    "log1p_code",
    "mesu_step_int",
    "rhu",
    "round_shift32",
    "shl_sat",
]


@dataclass(frozen=True)
class LayerSlice:
    """The parameters of one layer in the flat vector: ``[start, stop)``."""

    layer: int
    start: int
    stop: int


_FIELDS = ("sig16", "var14", "mu_sh", "bound", "sigl13", "ssh", "pk")
LRT_FIELDS = ("sq16", "sq13", "sshq")  # gathered only for sampling="lrt" (:mod:`.lrt`)


class CodeTables:
    """Per-parameter values (int32) of every code-indexed table, for a flat code vector over ``slices``.

    ``sig16`` σ·2**(F + SS) for sampling; ``var14``/``mu_sh`` the μ step's multiplier and shift; ``bound`` the
    |Δμ| bound (zeros without ratio_max); ``sigl13``/``ssh`` the σ step's multiplier and shift; ``pk`` the σ
    prior term. Built by gathering once; :meth:`update` re-gathers only the parameters whose code changed.
    With ``lrt``, also ``sq16`` (σ² for the sampled pre-activation's variance) and ``sq13``/``sshq`` (the LRT σ
    step's σ² multiplier and shift).
    """

    sig16: np.ndarray
    var14: np.ndarray
    mu_sh: np.ndarray
    bound: np.ndarray
    sigl13: np.ndarray
    ssh: np.ndarray
    pk: np.ndarray
    sq16: np.ndarray
    sq13: np.ndarray
    sshq: np.ndarray

    def __init__(self, plan: FixedPlan, slices: list[LayerSlice], code: np.ndarray, lrt: bool = False) -> None:
        t, k = plan.tables, 1 << plan.sigma_bits
        stored = np.arange(k)
        self.fields = _FIELDS + (LRT_FIELDS if lrt else ())
        rows: dict[str, list[np.ndarray]] = {f: [] for f in self.fields}
        for l in range(len(plan.mu_fmts)):  # (n_layers, 2**bits) tables of stored codes
            v = stored + plan.offsets[l]
            rows["sig16"].append(t["sig16"][l])
            rows["var14"].append(t["var14"][v])
            rows["mu_sh"].append(np.asarray(t["mu_sh"][l], dtype=np.int64))
            rows["bound"].append(t["ratio_bound"][l] if plan.ratio_max is not None else np.zeros(k, np.int64))
            rows["sigl13"].append(t["sigl13"][v])
            rows["ssh"].append(np.asarray(t["ssh"][l], dtype=np.int64))
            rows["pk"].append(t["pk"][v])
            if lrt:
                rows["sq16"].append(t["sq16"][l])
                rows["sq13"].append(t["sq13"][v])
                rows["sshq"].append(np.asarray(t["sshq"][l], dtype=np.int64))
        self._flat = {name: np.concatenate(r).astype(np.int32) for name, r in rows.items()}
        base = np.empty(code.shape, dtype=np.intp)  # row offset of each parameter's layer
        for sl in slices:
            base[..., sl.start : sl.stop] = sl.layer * k
        self._base = base
        self.has_bound = plan.ratio_max is not None
        idx = base + code
        for name in self.fields:
            setattr(self, name, self._flat[name][idx])

    def update(self, old: np.ndarray, new: np.ndarray) -> None:
        """Refresh the parameters whose code went from ``old`` to ``new`` (same dtype and shape)."""
        moved = np.flatnonzero(old != new)
        if moved.size:
            idx = self._base.reshape(-1)[moved] + new.reshape(-1)[moved]
            for name in self.fields:
                getattr(self, name).reshape(-1)[moved] = self._flat[name][idx]


def rhu(x: np.ndarray, s: int | np.ndarray) -> np.ndarray:
    """x / 2**s rounded half up, for shifts s >= 0 (scalar or array; s = 0 is the identity); keeps the
    integer dtype of ``x`` (int32 or int64: the caller guarantees x + 2**(s−1) does not overflow it)."""
    x = np.asarray(x)
    s = np.asarray(s, dtype=x.dtype)
    half = np.left_shift(x.dtype.type(1), s) >> 1
    return (x + half) >> s


def shl_sat(x: np.ndarray, n: np.ndarray, sat: int) -> np.ndarray:
    """x · 2**n (n >= 0, capped at 31) saturated at ±sat: exact whenever |x · 2**n| <= sat."""
    n = np.minimum(n, 31)
    lim = np.right_shift(sat, n)
    return np.where(x > lim, sat, np.where(x < -lim, -sat, x << n))


def _where_neg(out: np.ndarray, x: np.ndarray, s: np.ndarray, sat: int) -> np.ndarray:
    """``out`` with the elements of negative shift ``s`` replaced by shl_sat(x, −s, sat) (rare: a subset)."""
    if s.min(initial=0) >= 0:
        return out
    idx = np.nonzero(s < 0)
    out[idx] = shl_sat(x[idx], -s[idx], sat)
    return out


def round_shift32(x: np.ndarray, s: np.ndarray, rnd: np.ndarray, rounding: Rounding, sat: int) -> np.ndarray:
    """x / 2**s with the update rounding for int32 ``x`` (|x| <= 2**30) and per-element shifts ``s``.

    s >= 20: floor((floor(x / 2**min(s − 20, 31)) + rnd) / 2**20); 0 <= s < 20: floor((x + (rnd >> (20 − s)))
    / 2**s); nearest-even: 0 for s >= 31. s < 0: :func:`shl_sat` at ``sat``.
    """
    lo_s, hi_s = int(s.min(initial=0)), int(s.max(initial=0))
    pos = np.maximum(s, 0) if lo_s < 0 else s
    if rounding is Rounding.STOCHASTIC:
        pre = pos - SR_BITS
        if lo_s < SR_BITS:
            np.maximum(pre, 0, out=pre)
        if hi_s > SR_BITS + 31:
            np.minimum(pre, 31, out=pre)
        out = x >> pre
        out += rnd
        out >>= SR_BITS
        if lo_s < SR_BITS:
            idx = np.nonzero(pos < SR_BITS)
            out[idx] = (x[idx] + (rnd[idx] >> (SR_BITS - pos[idx]))) >> pos[idx]
    else:
        out = np.where(pos >= 31, 0, shift_round_even(x, np.minimum(pos, 30)))
    return _where_neg(out, x, s, sat)


def count_rows(
    counter: SaturationCounter, name: str, mask: np.ndarray, plan: FixedPlan, slices: list[LayerSlice]
) -> None:
    """Add to ``name`` the number of rows (of each device) in which ``mask`` holds for any parameter."""
    if not mask.any():
        return
    n = 0
    for sl in slices:
        part = mask[..., sl.start : sl.stop]
        n += int(np.count_nonzero(part.reshape(part.shape[:-1] + (-1, plan.layers[sl.layer + 1])).any(axis=-1)))
    counter.add(name, n)


def _clip_rows(x, bound, counter, name, plan, slices):  # type: ignore[no-untyped-def]
    """x clipped to ±bound (scalar or per element), the clipped rows counted."""
    if np.ndim(bound) == 0:
        if x.min(initial=0) >= -bound and x.max(initial=0) <= bound:
            return x
    over = np.abs(x) > bound
    if not over.any():
        return x
    count_rows(counter, name, over, plan, slices)
    return np.minimum(np.maximum(x, -bound), bound)


def log1p_code(plan: FixedPlan, u: np.ndarray) -> np.ndarray:
    """u − u²·ln2/(2k) at frac 22 (u clipped to ±umax): the code step of ln(1 + r) to second order.

    >>> from edge_mesu.fixed import FixedMESULearner
    >>> plan = FixedMESULearner((4, 3, 2), seed=0, sigma_per_octave=64).plan
    >>> u = round(64 / 0.6931471805599453 * 0.125 * 2**22)          # r = 1/8
    >>> round(float(log1p_code(plan, np.array([u]))[0]) / 2**22 * 0.6931471805599453 / 64, 4)   # ln 1.125
    0.1172
    """
    t = plan.tables
    a = t["lp_a"]
    tt = (u + (1 << (a - 1))) >> a
    return u - ((tt * tt * t["lp_q"]) >> t["lp_sh"])


def mesu_step_int(
    plan: FixedPlan,
    slices: list[LayerSlice],
    mu: np.ndarray,
    code: np.ndarray,
    g16: np.ndarray,
    tau: np.ndarray,
    ge: np.ndarray,
    rnd_mu: np.ndarray,
    rnd_sig: np.ndarray,
    rounding: Rounding,
    counter: SaturationCounter,
    tables: CodeTables | None = None,
    lrt: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One MESU step on the flat state: returns (new μ int16, new σ code uint8). Inputs are not modified.

    Arrays are ``(P,)`` or ``(D, P)`` int64; ``g16`` the gradients (|g16| <= 2**15) with their row exponent
    ``tau`` (per parameter), ``ge`` round_half_up(g16·ε, 13), ``rnd_mu``/``rnd_sig`` uniforms of SR_BITS bits,
    ``tables`` the :class:`CodeTables` of ``code`` (built here when not given). ``lrt`` = (h16, τσ), local
    reparameterisation's σ gradient (:mod:`.lrt`): ∂C/∂σ = σ · h16 · 2**τσ, |h16| <= 2**15; ``ge`` is then unused.
    """
    t = plan.tables
    ct = CodeTables(plan, slices, code, lrt=lrt is not None) if tables is None else tables
    assert lrt is None or "sq13" in ct.fields, "sampling='lrt' needs CodeTables(..., lrt=True)"
    i32 = np.int32  # every value below fits int32 (module docstring): numpy computes what the C's int32 does
    code, mu, g16, tau, ge, rnd_mu, rnd_sig = (
        np.asarray(a, dtype=i32) for a in (code, mu, g16, tau, ge, rnd_mu, rnd_sig)
    )
    # -- μ: equation (1) --
    b = np.empty(g16.shape, dtype=i32)
    for sl in slices:
        s = np.s_[..., sl.start : sl.stop]
        pm = t["prior"][sl.layer]
        ps = pm.shift + tau[s]
        x = (t["mu_prior_q"][sl.layer] - mu[s]) * pm.mant
        # τ >= tau_min makes Ps + τ >= 14: a right shift rounded half up, 0 from 31 on (|x| < 2**30)
        if int(ps.max(initial=1)) <= 30:
            x += np.left_shift(i32(1), ps - 1)
            x >>= ps
            pr = x
        else:
            pc = np.minimum(ps, 30)
            pr = np.where(ps >= 31, i32(0), (x + np.left_shift(i32(1), pc - 1)) >> pc)
        np.subtract(pr, g16[s], out=b[s])  # |b| <= 2**16: proven by tau_min
    d_mu = round_shift32(b * ct.var14, ct.mu_sh - tau, rnd_mu, rounding, DMU_SAT)
    if ct.has_bound:  # |Δμ| <= ratio_max·σ (at least one LSB)
        d_mu = _clip_rows(d_mu, ct.bound, counter, "mu_step_clip", plan, slices)
    d_mu += mu
    new_mu = d_mu
    for sl in slices:
        lim = t["mu_lim"][sl.layer]
        new_mu[..., sl.start : sl.stop] = _clip_rows(
            d_mu[..., sl.start : sl.stop], lim, counter, "mu", plan, [LayerSlice(sl.layer, 0, sl.stop - sl.start)]
        )
    # -- σ code: equation (2); σ·∂C/∂σ = ge·σ (weight sampling) or h16·σ² (LRT) --
    if lrt is None:
        x = ge * ct.sigl13
        sh = ct.ssh - tau
    else:
        x = np.asarray(lrt[0], dtype=i32) * ct.sq13  # |h16| <= 2**15, sq13 <= 2**13: |x| <= 2**28
        sh = ct.sshq - np.asarray(lrt[1], dtype=i32)
    lo_s, hi_s = int(sh.min(initial=0)), int(sh.max(initial=0))
    X = x >> (np.minimum(np.maximum(sh, 0), 31) if lo_s < 0 or hi_s > 31 else sh)
    X = _where_neg(X, x, sh, t["xsat"])
    u = _clip_rows(np.subtract(ct.pk, X, out=X), t["umax"], counter, "sigma_step_clip", plan, slices)
    d = -log1p_code(plan, u)
    if rounding is Rounding.STOCHASTIC:
        dc = ((d >> (U_FRAC - SR_BITS)) + rnd_sig) >> SR_BITS
    else:
        dc = shift_round_even(d, U_FRAC)
    new_code = code + dc
    out = (new_code < plan.code_min) | (new_code > plan.code_max)
    if out.any():
        count_rows(counter, "sigma_code", out, plan, slices)
        new_code = np.minimum(np.maximum(new_code, plan.code_min), plan.code_max)
    return new_mu.astype(np.int16), new_code.astype(np.uint8)
