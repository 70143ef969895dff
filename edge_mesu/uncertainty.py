"""Uncertainty from weight samples, in bits: predictive = aleatoric + epistemic (mutual information)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Uncertainty", "entropy_bits", "decompose"]


@dataclass(frozen=True)
class Uncertainty:
    """Per-input uncertainty, each an array of shape ``(n,)`` in bits.

    predictive = H(mean_s p_s); aleatoric = mean_s H(p_s); epistemic = predictive − aleatoric, the mutual
    information between the prediction and the weights (the OOD score of a Bayesian network).
    """

    predictive: np.ndarray
    aleatoric: np.ndarray
    epistemic: np.ndarray


def entropy_bits(p: np.ndarray) -> np.ndarray:
    """Shannon entropy in bits over the last axis (0·log 0 = 0)."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return terms.sum(axis=-1)


def decompose(probs: np.ndarray) -> Uncertainty:
    """Split the uncertainty of sampled predictions ``probs`` of shape ``(S, n, C)``."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 3:
        raise ValueError(f"probs must have shape (samples, n, classes), got {probs.shape}")
    predictive = entropy_bits(probs.mean(axis=0))
    aleatoric = entropy_bits(probs).mean(axis=0)
    epistemic = np.maximum(predictive - aleatoric, 0.0)
    # samples that agree exactly carry no epistemic uncertainty: 0, not the rounding of a mean of copies
    agree = np.all(probs == probs[:1], axis=(0, 2))
    epistemic[agree] = 0.0
    predictive[agree] = aleatoric[agree]
    return Uncertainty(predictive=predictive, aleatoric=aleatoric, epistemic=epistemic)
