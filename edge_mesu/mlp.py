"""Forward and backward passes of a ReLU MLP with softmax cross-entropy, vectorised over weight samples.

Weights have shape ``(S, fan_in, fan_out)`` (S weight samples) or ``(fan_in, fan_out)``; biases ``(S, fan_out)``
or ``(fan_out,)`` or ``None``. Inputs ``X`` have shape ``(B, fan_in)``. Shared by the float MESU and SGD
learners so that both differentiate exactly the same network. :func:`lrt_gradients` is the float MESU
learner's local-reparameterisation pass (pre-activations sampled instead of weights).
"""

from __future__ import annotations

import numpy as np

__all__ = ["forward", "backward", "lrt_gradients", "softmax", "log_softmax"]


def softmax(z: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Numerically stable log-softmax over the last axis."""
    s = z - z.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def forward(
    weights: list[np.ndarray], biases: list[np.ndarray | None], X: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return the logits and the list of layer inputs (activations) needed by :func:`backward`."""
    acts = [X]
    a = X
    last = len(weights) - 1
    for i, (W, b) in enumerate(zip(weights, biases)):
        z = a @ W
        if b is not None:
            z = z + (b[..., None, :] if b.ndim == 2 else b)
        if i < last:
            a = np.maximum(z, 0.0)
            acts.append(a)
        else:
            return z, acts
    raise AssertionError("unreachable: empty network")


def backward(
    weights: list[np.ndarray], acts: list[np.ndarray], logits: np.ndarray, y: np.ndarray, with_bias: bool
) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Gradients of C = Σ_batch −log softmax(logits)[y] with respect to every weight and bias.

    Returns per-layer lists with the same leading sample axis as ``weights``.
    """
    delta = softmax(logits)
    rows = np.arange(y.shape[0])
    delta[..., rows, y] -= 1.0
    g_w: list[np.ndarray] = [None] * len(weights)  # type: ignore[list-item]
    g_b: list[np.ndarray | None] = [None] * len(weights)
    for i in range(len(weights) - 1, -1, -1):
        a = acts[i]
        g_w[i] = np.swapaxes(a, -1, -2) @ delta
        if with_bias:
            g_b[i] = delta.sum(axis=-2)
        if i > 0:
            delta = (delta @ np.swapaxes(weights[i], -1, -2)) * (acts[i] > 0)
    return g_w, g_b


def lrt_gradients(
    mus: list[np.ndarray],
    sigmas: list[np.ndarray],
    mu_biases: list[np.ndarray | None],
    sigma_biases: list[np.ndarray | None],
    X: np.ndarray,
    y: np.ndarray,
    eps: list[np.ndarray],
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray | None], list[np.ndarray | None]]:
    """Local reparameterisation: Σ over samples and batch of (∂C/∂μ, ∂C/∂σ) of weights and biases.

    With independent Gaussian weights N(μ, σ²), a layer's pre-activation for input ``a`` is Gaussian:
    b_j ~ N(m_j, s_j²), m_j = Σ_i μ_ij·a_i + μ_bj, s_j² = Σ_i σ_ij²·a_i² + σ_bj². It is sampled directly,
    b_j = m_j + s_j·ε_j, one ε per output, per input row and per sample (``eps[l]`` has shape
    ``(S, B, fan_out)``). For one input row this is the same joint distribution of every layer's
    pre-activation as w = μ + σ·ε, so the expected loss and its gradient are the same; the pathwise
    gradient of the sampled loss is

        ∂C/∂μ_ij = δ_j·a_i,   ∂C/∂σ_ij = δ_j·ε_j·σ_ij·a_i²/s_j,   δ_j = ∂C/∂b_j,

    (biases: a_i = 1) and δ reaches the layer below through both m and s:
    ∂C/∂a_i = Σ_j δ_j·(μ_ij + ε_j·σ_ij²·a_i/s_j). Where s_j = 0 (every input zero, no bias) the σ terms are 0.

    C is Σ over the batch of the cross-entropy; the returned sums are over samples and batch (divide by S for
    the mean over samples).
    """
    n = len(mus)
    acts: list[np.ndarray] = [X]
    inv_s: list[np.ndarray] = []
    a = X
    z = X
    for i in range(n):
        v = (a * a) @ (sigmas[i] * sigmas[i])
        z = a @ mus[i]
        sb = sigma_biases[i]
        mb = mu_biases[i]
        if mb is not None and sb is not None:
            z = z + mb
            v = v + sb * sb
        s = np.sqrt(v)
        inv_s.append(np.divide(1.0, s, out=np.zeros_like(s), where=s > 0))
        z = z + s * eps[i]  # (S, B, fan_out): the first layer's m and s broadcast over the samples
        if i < n - 1:
            a = np.maximum(z, 0.0)
            acts.append(a)
    delta = softmax(z)
    rows = np.arange(y.shape[0])
    delta[..., rows, y] -= 1.0
    g_mu: list[np.ndarray] = [None] * n  # type: ignore[list-item]
    g_sigma: list[np.ndarray] = [None] * n  # type: ignore[list-item]
    gb_mu: list[np.ndarray | None] = [None] * n
    gb_sigma: list[np.ndarray | None] = [None] * n
    for i in range(n - 1, -1, -1):
        a = acts[i]
        u = delta * eps[i] * inv_s[i]  # δ_j·ε_j/s_j
        if a.ndim == 2:  # the network's input, shared by every sample
            g_mu[i] = a.T @ delta.sum(axis=0)
            g_sigma[i] = sigmas[i] * ((a * a).T @ u.sum(axis=0))
        else:
            g_mu[i] = (np.swapaxes(a, -1, -2) @ delta).sum(axis=0)
            g_sigma[i] = sigmas[i] * (np.swapaxes(a * a, -1, -2) @ u).sum(axis=0)
        sb = sigma_biases[i]
        if sb is not None:
            gb_mu[i] = delta.sum(axis=(0, 1))
            gb_sigma[i] = sb * u.sum(axis=(0, 1))
        if i > 0:
            delta = (delta @ mus[i].T + a * (u @ (sigmas[i] * sigmas[i]).T)) * (a > 0)
    return g_mu, g_sigma, gb_mu, gb_sigma
