"""The MESU update as pure functions (float reference).

MESU (Metaplasticity from Synaptic Uncertainty; Bonnet, Querlioz et al., arXiv 2312.10153 and 2504.13569)
keeps a Gaussian N(μ, σ²) per parameter and, for each streamed sample or mini-batch, moves it by

    Δμ = lr_μ · σ² · (−∂C/∂μ + (μ_prior − μ) / (N·σ_prior²))                       (1)
    Δσ = lr_σ · c_σ · (−σ²·∂C/∂σ + σ·(σ_prior² − σ²) / (N·σ_prior²))             (2)

with c_σ = ½ in the paper (the authors' PyTorch code uses 1), C the negative log-likelihood of the batch
summed over its samples and averaged over weight samples, ∂C/∂μ = E[∂C/∂w] and ∂C/∂σ = E[ε·∂C/∂w] through
w = μ + σ·ε. Both updates use the values *before* the step. Optional knobs from the authors' PyTorch code:
``ratio_max`` clips each step to ``ratio_max·σ`` and ``sigma_min``/``sigma_max`` clamp σ. Our own guard,
``sigma_step_max``, clips only the relative σ step |Δσ|/σ: with one weight sample per update the σ step is
noisy enough to flip σ's sign or run away on real data (see docs/robustness.md); this keeps σ positive
and finite without touching the μ step.

Example
-------
>>> import numpy as np
>>> cfg = MESUConfig(N=100, sigma_prior=1.0)
>>> mu, sigma = mesu_update(np.zeros(1), np.full(1, 0.5), np.zeros(1), np.zeros(1), cfg)
>>> round(float(sigma[0]), 6)   # no data: σ relaxes towards σ_prior
0.501875
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["MESUConfig", "mesu_update", "mesu_step_sizes"]


@dataclass(frozen=True)
class MESUConfig:
    """Hyper-parameters of the MESU rule (defaults: the paper's permuted-MNIST settings).

    Parameters
    ----------
    N : memory window in samples (or batches); old evidence fades on this time scale.
    sigma_prior, mu_prior : the prior N(μ_prior, σ_prior²) that σ and μ relax to without data.
    lr_mu, lr_sigma : extra step factors (1 in the paper).
    c_sigma : factor of the σ step, ½ in the paper's equation, 1 in the authors' PyTorch code.
    ratio_max : if set, |Δμ| and |Δσ| are clipped to ``ratio_max·σ`` (authors' PyTorch knob).
    sigma_step_max : if set, |Δσ| is clipped to ``sigma_step_max·σ`` (σ only; must be < 1).
    sigma_min, sigma_max : if set, σ is clamped into this range after the step.
    """

    N: float = 300_000.0
    sigma_prior: float = 1.0
    mu_prior: float = 0.0
    lr_mu: float = 1.0
    lr_sigma: float = 1.0
    c_sigma: float = 0.5
    ratio_max: float | None = None
    sigma_step_max: float | None = None
    sigma_min: float | None = None
    sigma_max: float | None = None

    def __post_init__(self) -> None:
        for name in ("N", "sigma_prior", "lr_mu", "lr_sigma", "c_sigma"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"MESUConfig.{name} must be a finite number > 0, got {value!r}")
        if not math.isfinite(self.mu_prior):
            raise ValueError(f"MESUConfig.mu_prior must be finite, got {self.mu_prior!r}")
        if self.sigma_step_max is not None and not 0 < self.sigma_step_max < 1:
            raise ValueError(f"MESUConfig.sigma_step_max must be None or in (0, 1), got {self.sigma_step_max!r}")
        for name in ("ratio_max", "sigma_min", "sigma_max"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"MESUConfig.{name} must be None or a finite number > 0, got {value!r}")
        if self.sigma_min is not None and self.sigma_max is not None and self.sigma_min >= self.sigma_max:
            raise ValueError(f"MESUConfig.sigma_min ({self.sigma_min}) must be < sigma_max ({self.sigma_max})")

    def to_dict(self) -> dict:
        return asdict(self)


def mesu_step_sizes(
    mu: np.ndarray, sigma: np.ndarray, grad_mu: np.ndarray, grad_sigma: np.ndarray, cfg: MESUConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Return (Δμ, Δσ) of equations (1) and (2), clipped by ``ratio_max`` when set. Pure."""
    var = sigma * sigma
    inv_n_prior = 1.0 / (cfg.N * cfg.sigma_prior**2)
    d_mu = cfg.lr_mu * var * (-grad_mu + (cfg.mu_prior - mu) * inv_n_prior)  # (1)
    d_sigma = cfg.lr_sigma * cfg.c_sigma * (-var * grad_sigma + sigma * (cfg.sigma_prior**2 - var) * inv_n_prior)  # (2)
    if cfg.ratio_max is not None:
        bound = cfg.ratio_max * sigma
        d_mu = np.clip(d_mu, -bound, bound)
        d_sigma = np.clip(d_sigma, -bound, bound)
    if cfg.sigma_step_max is not None:
        bound = cfg.sigma_step_max * sigma
        d_sigma = np.clip(d_sigma, -bound, bound)
    return d_mu, d_sigma


def mesu_update(
    mu: np.ndarray, sigma: np.ndarray, grad_mu: np.ndarray, grad_sigma: np.ndarray, cfg: MESUConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Return the new (μ, σ) after one MESU step. Pure: the inputs are not modified."""
    d_mu, d_sigma = mesu_step_sizes(mu, sigma, grad_mu, grad_sigma, cfg)
    new_sigma = sigma + d_sigma
    if cfg.sigma_min is not None or cfg.sigma_max is not None:
        new_sigma = np.clip(new_sigma, cfg.sigma_min, cfg.sigma_max)
    return mu + d_mu, new_sigma
