"""The frozen plan of a fixed-point MESU learner: formats, lookup tables and integer multipliers.

Everything float-derived is computed here, once (TFLite Micro's "prepare" step); the per-sample path in
:mod:`edge_mesu.fixed.kernels` and :mod:`edge_mesu.fixed.rule` touches integers only.

Number formats (defaults; see docs/fixed_point.md for the reasons)

- input x: int8, frac ``input_frac`` (Q2.5: ±4 standard deviations in steps of 1/32);
- hidden activations: int16 Q7.8 (ReLU outputs up to 128);
- μ of layer l: int16 with ``mu_frac[l]`` fractional bits (auto: 8× the initial weight range fits);
- σ: uint8 log-domain code c of layer l, σ = σ_max · 2**(−(c + offset[l])/k), ``k = sigma_per_octave`` codes
  per octave (tables are indexed by the virtual code v = c + offset[l]);
- ε: int16 Q3.12 from the inverse-CDF table of :mod:`edge_mesu.fixed.prng`;
- output δ = p − onehot in Q15 (int32), hidden δ in Q7.24 (int32); gradients in int64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..mesu_rule import MESUConfig
from .prng import EPS_FRAC, SR_BITS, gauss_table
from .qformat import QFormat

__all__ = [
    "FixedPlan",
    "Multiplier",
    "auto_mu_frac",
    "B_CLIP",
    "DH_FRAC",
    "DMU_SAT",
    "EPS_MAX",
    "EXP2_INDEX_BITS",
    "GE_SHIFT",
    "LOG2E_FRAC",
    "P_FRAC",
    "PRIOR_BITS",
    "SIGL_BITS",
    "SOFTMAX_D_MIN",
    "SR_BITS",
    "U_FRAC",
    "VAR_BITS",
    "Z_FRAC",
]

Z_FRAC = 10  # frac of logits inside the softmax
P_FRAC = 15  # probabilities and output δ are Q15
DH_FRAC = 24  # hidden δ frac
U_FRAC = 22  # frac of the σ-code step u = (k/ln2)·Δσ/σ in code units (int32)
GE_SHIFT = 13  # g16·ε (Q.12) >> 13: the σ step's 16-bit gradient-noise product
VAR_BITS = 14  # μ-step mantissa lr_μ·σ²: |bracket| <= 2**16 times 2**14 fits int32
SIGL_BITS = 13  # σ-step mantissa: |g·ε >> 13| < 2**16 times 2**13 fits int32
PRIOR_BITS = 14  # prior-pull mantissa: |μp − μ| <= 2**16 times 2**14 fits int32
EPS_MAX = int(gauss_table().max())  # the largest |ε| of the Q12 table (3.67): bounds the sampling noise
B_CLIP = 1 << 16  # |bracket| bound of the μ step: proven by the row exponent's floor tau_min
DMU_SAT = 1 << 17  # a μ step at least this large saturates μ whatever its exact value
EXP2_INDEX_BITS = 8  # 2**(f) for f in [0, 1) from a 256-entry Q15 table
LOG2E_FRAC = 15  # log2(e) in Q15 inside the softmax
SOFTMAX_D_MIN = -(1 << 40)  # logit differences below this (Q.10) underflow to 0: clamped to keep d·log2e in int64


@dataclass(frozen=True)
class Multiplier:
    """A positive real constant as ``mant · 2**(−shift)`` with ``mant`` in [2**14, 2**15): a Q15-style multiplier."""

    mant: int
    shift: int

    @classmethod
    def of(cls, value: float, bits: int = 15) -> Multiplier:
        """``value`` as ``mant · 2**(−shift)`` with ``mant`` in [2**(bits−1), 2**bits)."""
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"multiplier must be a finite positive number, got {value}")
        m, e = math.frexp(value)  # value = m · 2**e, m in [0.5, 1)
        mant = round(m * (1 << bits))
        shift = bits - e
        if mant == 1 << bits:
            mant, shift = 1 << (bits - 1), shift - 1
        return cls(mant, shift)

    @property
    def value(self) -> float:
        return self.mant * 2.0**-self.shift


def auto_mu_frac(fan_in: int, headroom: float = 8.0, mu_scale: float = 4.0) -> int:
    """Fractional bits of int16 μ so that ``headroom`` × the initial range (mu_scale/√fan_in) fits."""
    bound = headroom * mu_scale / math.sqrt(fan_in)
    return int(min(15, max(0, 15 - math.ceil(math.log2(bound)))))


def _mantissa_table(scale: float, k: int, length: int, bits: int) -> tuple[np.ndarray, int]:
    """round(m · 2**(−j/k) · 2**bits) for j < length, where scale = m · 2**e, m in [0.5, 1); returns (table, e)."""
    m, e = math.frexp(scale)
    j = np.arange(length)
    return np.rint(m * 2.0 ** (-j / k) * 2.0**bits).astype(np.int64), e


def _tau_min(pm: Multiplier) -> int:
    """The smallest row exponent τ >= 0 at which the prior pull fits 2**15 g16 units for any μ:
    (2**16·mant >> (shift + τ)) + 1 <= 2**15, so |pull − g16| <= 2**16 is proven and never clipped."""
    tau = 0
    while True:
        s = pm.shift + tau
        bound = (2**16 * pm.mant) >> s if s >= 0 else (2**16 * pm.mant) << -s
        if bound + 1 <= 2**15:
            return tau
        tau += 1


@dataclass(frozen=True)
class FixedPlan:
    """Formats, tables and multipliers of one fixed-point MESU network (immutable, built once).

    The rule's hyper-parameters are those of ``rule`` (the learner's :class:`MESUConfig`, never copied);
    ``sigma_max`` is the top of the σ-code window (σ of virtual code 0).
    """

    layers: tuple[int, ...]
    bias: bool
    input_fmt: QFormat
    act_fmt: QFormat
    mu_fmts: tuple[QFormat, ...]
    sigma_bits: int
    sigma_per_octave: int
    sigma_max: float
    rule: MESUConfig
    code_min: int
    code_max: int
    code_offset: tuple[int, ...] = ()
    tables: dict = field(compare=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.sigma_max < 2:
            raise ValueError(f"sigma_max must be in (0, 2) for the Q30 σ table, got {self.sigma_max}")
        if not 2 <= self.sigma_bits <= 8:
            raise ValueError(f"sigma_bits must be in [2, 8], got {self.sigma_bits}")
        if not 1 <= self.sigma_per_octave <= 128:
            raise ValueError(f"sigma_per_octave must be in [1, 128], got {self.sigma_per_octave}")
        for l, f in enumerate(self.mu_fmts):
            if f.bits > 16 or not f.signed:
                raise ValueError(f"μ format of layer {l} must be signed and at most 16 bits, got {f}")
        if self.input_fmt.bits > 16 or self.act_fmt.bits > 16:
            raise ValueError("input and activation formats must be at most 16 bits")
        if self.code_offset and (len(self.code_offset) != len(self.layers) - 1 or min(self.code_offset) < 0):
            raise ValueError(f"code_offset needs one offset >= 0 per layer, got {self.code_offset}")
        if not 0 <= self.code_min < self.code_max <= (1 << self.sigma_bits) - 1:
            raise ValueError(f"σ code range [{self.code_min}, {self.code_max}] is empty or out of range")
        object.__setattr__(self, "tables", self._build_tables())

    # -- the rule's hyper-parameters ---------------------------------------------------------------------------
    @property
    def N(self) -> float:
        return self.rule.N

    @property
    def sigma_prior(self) -> float:
        return self.rule.sigma_prior

    @property
    def mu_prior(self) -> float:
        return self.rule.mu_prior

    @property
    def lr_mu(self) -> float:
        return self.rule.lr_mu

    @property
    def lr_sigma(self) -> float:
        return self.rule.lr_sigma

    @property
    def c_sigma(self) -> float:
        return self.rule.c_sigma

    @property
    def ratio_max(self) -> float | None:
        return self.rule.ratio_max

    @property
    def sigma_step_max(self) -> float | None:
        return self.rule.sigma_step_max

    # -- derived quantities ----------------------------------------------------------------------------------
    def in_frac(self, layer: int) -> int:
        """Fractional bits of the input of ``layer``."""
        return self.input_fmt.frac if layer == 0 else self.act_fmt.frac

    def delta_frac(self, layer: int) -> int:
        """Fractional bits of δ at the output of ``layer``."""
        return P_FRAC if layer == len(self.layers) - 2 else DH_FRAC

    def grad_frac(self, layer: int) -> int:
        return self.in_frac(layer) + self.delta_frac(layer)

    @property
    def offsets(self) -> tuple[int, ...]:
        """Per-layer σ-code offset: layer l's stored code c is the virtual code v = c + offset[l]."""
        return self.code_offset or (0,) * (len(self.layers) - 1)

    @property
    def n_virtual(self) -> int:
        """Entries of the virtual-code tables: every stored code of every layer."""
        return (1 << self.sigma_bits) + max(self.offsets)

    def sigma_of_code(self, code: np.ndarray, layer: int = 0) -> np.ndarray:
        """σ in float of stored codes of ``layer`` (for reporting and conversion only)."""
        v = np.asarray(code, dtype=np.float64) + self.offsets[layer]
        return self.sigma_max * 2.0 ** (-v / self.sigma_per_octave)

    def code_of_sigma(self, sigma: np.ndarray, layer: int = 0) -> np.ndarray:
        """Nearest stored code of σ (float) in ``layer``, clamped to the code range."""
        s = np.maximum(np.asarray(sigma, dtype=np.float64), 1e-300)
        code = np.rint(-self.sigma_per_octave * np.log2(s / self.sigma_max)) - self.offsets[layer]
        return np.clip(code, self.code_min, self.code_max).astype(np.uint8)

    def _build_tables(self) -> dict:
        """Per-code and per-layer tables of format 2 (every per-parameter product fits int32); once.

        Virtual-code tables have ``n_virtual`` entries; per-layer tables are indexed by the stored code.
        """
        k = self.sigma_per_octave
        code = np.arange(self.n_virtual)  # virtual code v: σ = σ_max · 2**(−v/k)
        octave = code // k
        stored = np.arange(1 << self.sigma_bits)
        t: dict = {"octave": octave.astype(np.int64)}
        # μ step: lr_μ·σ(v)² = var14[v] · 2**(var_e − 14 − (2v)//k), var14 <= 2**14
        var, t["var_e"] = _mantissa_table(self.lr_mu * self.sigma_max**2, k, k, VAR_BITS)
        t["var14"] = var[(2 * code) % k]
        var_shift = (2 * code) // k
        # σ step: (k/ln2)·lr_σ·c_σ·σ(v) = sigl13[v] · 2**(sigl_e − 13 − octave(v)), sigl13 <= 2**13
        kl = k / math.log(2.0)
        sigl, t["sigl_e"] = _mantissa_table(kl * self.lr_sigma * self.c_sigma * self.sigma_max, k, k, SIGL_BITS)
        t["sigl13"] = sigl[code % k]
        # LRT σ step: (k/ln2)·lr_σ·c_σ·σ(v)² = sq13[v] · 2**(sq_e − 13 − (2v)//k), sq13 <= 2**13
        sq, t["sq_e"] = _mantissa_table(kl * self.lr_sigma * self.c_sigma * self.sigma_max**2, k, k, SIGL_BITS)
        t["sq13"] = sq[(2 * code) % k]
        sigma = self.sigma_max * 2.0 ** (-code / k)
        t["pk"] = np.rint(
            kl * self.lr_sigma * self.c_sigma * (1.0 - sigma**2 / self.sigma_prior**2) / self.N * 2.0**U_FRAC
        ).astype(np.int64)
        r_max = min([1.0] + [v for v in (self.ratio_max, self.sigma_step_max) if v is not None])
        t["umax"] = round(kl * r_max * 2**U_FRAC)
        t["xsat"] = t["umax"] + int(np.abs(t["pk"]).max()) + 1
        if t["xsat"] + int(np.abs(t["pk"]).max()) >= 2**31 or t["umax"] * 3 // 2 >= 2**31:
            raise ValueError("σ step out of 32-bit range: lower sigma_per_octave or raise N")
        # ln(1 + r)·k/ln2 = u − u²·ln2/(2k): t = u/2**a < 2**12, t²·Lq < 2**31 with Lq in [128, 256)
        t["lp_a"] = max(1, int(t["umax"]).bit_length() - 11)
        lval = math.log(2.0) / (2 * k)
        lf = 7 - math.floor(math.log2(lval))
        t["lp_q"] = round(lval * 2**lf)
        t["lp_sh"] = lf + U_FRAC - 2 * t["lp_a"]
        if t["lp_sh"] < 0 or t["lp_q"] >= 256:
            raise ValueError(f"σ-step log correction out of range (sigma_per_octave={k})")
        # per layer (indexed by the stored code): sampling, μ-step and σ-step shifts, limits, prior pull
        for name in (
            "sig16",
            "sample_shift",
            "mu_lim",
            "mu_sh",
            "ssh",
            "prior",
            "tau_min",
            "mu_prior_q",
            "sq16",
            "sshq",
        ):
            t[name] = []
        for l, f in enumerate(self.mu_fmts):
            v = stored + self.offsets[l]
            G = self.grad_frac(l)
            top = float(self.sigma_of_code(np.array([0]), l)[0]) * 2.0**f.frac
            ss = 14 - math.floor(math.log2(top))
            sig16 = np.rint(self.sigma_of_code(stored, l) * 2.0 ** (f.frac + ss)).astype(np.int64)
            while sig16.max() >= 2**15:
                ss -= 1
                sig16 = np.rint(self.sigma_of_code(stored, l) * 2.0 ** (f.frac + ss)).astype(np.int64)
            shift = ss + EPS_FRAC
            if shift < 1:
                raise ValueError(f"layer {l}: σ_max·2**F too large for the 32-bit sampling product")
            noise = (int(sig16.max()) * EPS_MAX + (1 << (shift - 1))) >> shift
            mu_lim = 32767 - noise
            if mu_lim < 2**10:
                raise ValueError(
                    f"layer {l}: σ_max={self.sigma_max} is too large for μ's format Q.{f.frac} "
                    f"(3.7σ spans {noise} of 32767 LSBs); lower sigma_max or mu_frac"
                )
            t["sig16"].append(sig16)
            # LRT variance: σ² · 2**(2(F + SS) − 14) < 2**16 (sig16 < 2**15), the same σ of each code as sig16
            t["sq16"].append(
                np.rint(self.sigma_of_code(stored, l) ** 2 * 2.0 ** (2 * (f.frac + ss) - 14)).astype(np.int64)
            )
            t["sshq"].append(13 + (2 * v) // k - t["sq_e"] - U_FRAC)
            t["sample_shift"].append(shift)
            t["mu_lim"].append(mu_lim)
            t["mu_sh"].append(G - f.frac - t["var_e"] + VAR_BITS + var_shift[v])
            t["ssh"].append(12 + octave[v] + G - t["sigl_e"] - U_FRAC)
            pm = Multiplier.of(2.0 ** (G - f.frac) / (self.N * self.sigma_prior**2), PRIOR_BITS)
            t["prior"].append(pm)
            t["tau_min"].append(_tau_min(pm))
            t["mu_prior_q"].append(int(f.quantize(self.mu_prior)))
        t["ratio_q15"] = None if self.ratio_max is None else round(self.ratio_max * 2**15)
        if self.ratio_max is not None:
            t["ratio_bound"] = [
                np.maximum(np.rint(self.ratio_max * self.sigma_of_code(stored, l) * 2.0**f.frac), 1).astype(np.int64)
                for l, f in enumerate(self.mu_fmts)
            ]
        # softmax: 2**(i/256 + 1/512) in Q15 (bin mid-points) and log2(e) in Q15
        i = np.arange(1 << EXP2_INDEX_BITS)
        t["exp2_q15"] = np.rint(2.0 ** ((i + 0.5) / (1 << EXP2_INDEX_BITS)) * 2.0**15).astype(np.int64)
        t["log2e_q15"] = round(math.log2(math.e) * 2**LOG2E_FRAC)
        for arr in t.values():
            for a in arr if isinstance(arr, list) else [arr]:
                if isinstance(a, np.ndarray):
                    a.setflags(write=False)
        return t

    def to_dict(self) -> dict:
        return {
            "layers": list(self.layers),
            "bias": self.bias,
            "input_fmt": self.input_fmt.to_dict(),
            "act_fmt": self.act_fmt.to_dict(),
            "mu_fmts": [f.to_dict() for f in self.mu_fmts],
            "sigma_bits": self.sigma_bits,
            "sigma_per_octave": self.sigma_per_octave,
            "sigma_max": self.sigma_max,
            "N": self.N,
            "sigma_prior": self.sigma_prior,
            "mu_prior": self.mu_prior,
            "lr_mu": self.lr_mu,
            "lr_sigma": self.lr_sigma,
            "c_sigma": self.c_sigma,
            "ratio_max": self.ratio_max,
            "sigma_step_max": self.sigma_step_max,
            "code_min": self.code_min,
            "code_max": self.code_max,
            "code_offset": list(self.offsets),
            "eps_frac": EPS_FRAC,
        }
