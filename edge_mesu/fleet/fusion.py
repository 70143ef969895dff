"""Fleet posterior fusion: a product of Gaussians in natural parameters, in the learner's integer formats.

Each device's posterior over a parameter is N(μ_k, σ_k²); the devices share a reference N(μ_r, σ_r²) (the
common prior, or the state every device received at the last fusion). In natural parameters
λ = 1/σ², η = μ/σ², the evidence a device gathered since the reference is (λ_k − λ_r, η_k − η_r); counting
the reference once and every device's evidence once gives (derivation in docs/fleet.md)::

    λ = λ_r + Σ_k (λ_k − λ_r) = Σ_k λ_k − (K − 1)·λ_r,      η = Σ_k η_k − (K − 1)·η_r,      μ = η / λ

Integer version (no floats per parameter). With σ = σ_max·2^(−c/k), λ·σ_max² = 2^(2c/k) = M[(2c) mod k]·
2^(e − 22), M a k-entry Q22 table in [2^22, 2^23) and e = (2c) // k. Per parameter every term is aligned to
the largest exponent e* among the devices and the reference (right shift by e* − e, rounded half up), so
λ terms are below 2^23 and η = μ_q·M terms below 2^38: sums stay exact in int64 for up to 2^25 devices, and
since e* is global the sums do not depend on how devices are sharded. Then μ_q = round_even(H / Λ) in μ's own
format and c = round(k/2·log2(Λ·2^(e*−22))), found with a (k−1)-entry Q30 threshold table.

A fused precision below that of code_min (σ_max) is clamped there and counted (``fusion_clip``).

Examples
--------
>>> import numpy as np
>>> t = FusionTables.build(sigma_per_octave=16, code_min=0, code_max=255)
>>> mu, code = np.array([100]), np.array([32])        # σ = σ_max / 4 for each of 4 devices
>>> ref_mu, ref_code = np.array([0]), np.array([0])     # reference σ_r = σ_max
>>> e = t.exponent(np.concatenate([code, ref_code])).max(keepdims=True)
>>> lam, eta = t.terms(mu, code, e)
>>> m, c, clip = t.fuse(4 * lam, 4 * eta, 4, ref_mu, ref_code, e)
>>> int(m[0]), int(c[0]), clip   # λ = 4·16 − 3·1 = 61: σ_max/√61, μ = 4·16·100/61
(105, 47, 0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..fixed.rounding import div_round_even
from ..fixed.rule import CodeTables
from ..fixed.step import prior_step

__all__ = ["FusionTables", "aligned_shift", "decay_reference", "fuse_float"]

_M_FRAC = 22
_T_FRAC = 30


def aligned_shift(x: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """x / 2**shift rounded half up, per element, for shift >= 0 (shifts above 62 give 0 or −1 → floor)."""
    x = np.asarray(x, dtype=np.int64)
    s = np.minimum(np.asarray(shift, dtype=np.int64), 62)
    half = np.where(s > 0, np.left_shift(np.int64(1), np.maximum(s - 1, 0)), 0)
    return (x + half) >> s


def fuse_float(
    mus: np.ndarray, sigmas: np.ndarray, mu_ref: np.ndarray, sigma_ref: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Float oracle: fused (μ, σ) of K posteriors ``(K, ...)`` against a shared reference (μ_r, σ_r).

    >>> m, s = fuse_float(np.array([[1.0], [1.0]]), np.array([[0.5], [0.5]]), np.zeros(1), np.ones(1))
    >>> round(float(1 / s[0] ** 2), 9), round(float(m[0]), 9)       # 2/0.25 − 1 = 7, μ = 2·4/7
    (7.0, 1.142857143)
    """
    mus, sigmas = np.asarray(mus, dtype=np.float64), np.asarray(sigmas, dtype=np.float64)
    K = mus.shape[0]
    lam = (1.0 / sigmas**2).sum(axis=0) - (K - 1) / np.asarray(sigma_ref, dtype=np.float64) ** 2
    eta = (mus / sigmas**2).sum(axis=0) - (K - 1) * np.asarray(mu_ref) / np.asarray(sigma_ref) ** 2
    if np.any(lam <= 0):
        raise ValueError("fused precision is not positive: the devices lost more precision than they gained")
    return eta / lam, 1.0 / np.sqrt(lam)


@dataclass(frozen=True)
class FusionTables:
    """Precision tables of a σ code (σ = σ_max·2^(−c/k)): λ·σ_max² = M[(2c) mod k]·2^((2c)//k − 22)."""

    k: int
    code_min: int
    code_max: int
    mant: np.ndarray  # (k,) Q22 mantissas 2^(j/k)
    thresholds: np.ndarray  # (k − 1,) Q30 thresholds 2^(i/k), i = 1..k−1

    @classmethod
    def build(cls, sigma_per_octave: int, code_min: int, code_max: int) -> FusionTables:
        k = int(sigma_per_octave)
        j = np.arange(k)
        mant = np.rint(2.0 ** (j / k) * 2.0**_M_FRAC).astype(np.int64)
        thr = np.rint(2.0 ** (j[1:] / k) * 2.0**_T_FRAC).astype(np.int64)
        mant.setflags(write=False)
        thr.setflags(write=False)
        return cls(k, int(code_min), int(code_max), mant, thr)

    @classmethod
    def of_plan(cls, plan: object) -> FusionTables:
        return cls.build(plan.sigma_per_octave, plan.code_min, plan.code_max)  # type: ignore[attr-defined]

    def exponent(self, code: np.ndarray) -> np.ndarray:
        """e = (2c) // k: the power of two of λ·σ_max²."""
        return (2 * np.asarray(code, dtype=np.int64)) // self.k

    def terms(self, mu_q: np.ndarray, code: np.ndarray, e_star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Aligned (λ, η) integer terms at scale 2^(e* − 22) (λ in units of 1/σ_max², η at μ's frac)."""
        c = np.asarray(code, dtype=np.int64)
        m = np.take(self.mant, (2 * c) % self.k)
        shift = np.asarray(e_star, dtype=np.int64) - self.exponent(c)
        if shift.size and shift.min() < 0:
            raise ValueError("e_star must be at least every term's exponent")
        return aligned_shift(m, shift), aligned_shift(np.asarray(mu_q, dtype=np.int64) * m, shift)

    def code_of(self, lam: np.ndarray, e_star: np.ndarray) -> np.ndarray:
        """Nearest σ code (log domain) of precisions Λ·2^(e* − 22) > 0, clamped to [code_min, code_max]."""
        lam = np.asarray(lam, dtype=np.int64)
        b = np.zeros(lam.shape, dtype=np.int64)  # floor(log2 Λ) by binary search over bit positions
        for step in (32, 16, 8, 4, 2, 1):
            up = (lam >> (b + step)) > 0
            b = np.where(up, b + step, b)
        norm = np.where(b >= _T_FRAC, lam >> np.maximum(b - _T_FRAC, 0), lam << np.maximum(_T_FRAC - b, 0))
        q = np.searchsorted(self.thresholds, norm, side="right")  # floor(k·log2(Λ / 2^b))
        kE = self.k * (b + np.asarray(e_star, dtype=np.int64) - _M_FRAC)
        return np.clip((kE + 1 + q) >> 1, self.code_min, self.code_max)

    def fuse(
        self,
        sum_lam: np.ndarray,
        sum_eta: np.ndarray,
        K: int,
        ref_mu: np.ndarray,
        ref_code: np.ndarray,
        e_star: np.ndarray,
        mu_range: tuple[int, int] = (-32768, 32767),
        average: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Fused (μ int16, σ code uint8, clipped count) from the device sums over K devices and the reference.

        ``average=True`` tempers the product: the reference plus the *mean* of the devices' changes in natural
        parameters (λ_r + Σ(λ_k − λ_r)/K), i.e. each device's evidence counted 1/K times.
        """
        if K < 1:
            raise ValueError(f"K must be >= 1, got {K}")
        lam_r, eta_r = self.terms(ref_mu, ref_code, e_star)
        d_lam = np.asarray(sum_lam, dtype=np.int64) - K * lam_r
        d_eta = np.asarray(sum_eta, dtype=np.int64) - K * eta_r
        if average:
            d_lam, d_eta = div_round_even(d_lam, K), div_round_even(d_eta, K)
        lam, eta = lam_r + d_lam, eta_r + d_eta
        lam_min, _ = self.terms(np.zeros_like(lam), np.full(lam.shape, self.code_min), e_star)
        low = lam < np.maximum(lam_min, 1)
        lam_c = np.where(low, np.maximum(lam_min, 1), lam)
        mu = div_round_even(eta, lam_c)
        mu_clip = (mu < mu_range[0]) | (mu > mu_range[1])
        mu = np.clip(mu, *mu_range)
        code = self.code_of(lam_c, e_star)
        return mu.astype(np.int16), code.astype(np.uint8), int(np.count_nonzero(low | mu_clip))


def decay_reference(
    template: Any, mu: np.ndarray, code: np.ndarray, steps: int, seed: int, round_: int
) -> tuple[np.ndarray, np.ndarray]:
    """The reference advanced ``steps`` MESU steps with zero gradient: the prior pull (forgetting) every
    device applied on its own, counted once. Step s of fusion round r draws its stochastic rounding from
    the PRNG's prior stream at step ``r·2**20 + s`` of ``seed``."""
    spec = template.step_spec()
    m, c = np.asarray(mu, dtype=np.int16), np.asarray(code, dtype=np.uint8)
    tables = CodeTables(spec.plan, list(spec.layout.slices), c.astype(np.intp))
    for s in range(steps):
        m16, c8 = prior_step(spec, m, c, seed, round_ * (1 << 20) + s, tables)
        tables.update(c, c8)
        m, c = m16, c8
    return m, c
