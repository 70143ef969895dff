"""Forward and backward passes of a ReLU MLP with softmax cross-entropy, vectorised over weight samples.

Weights have shape ``(S, fan_in, fan_out)`` (S weight samples) or ``(fan_in, fan_out)``; biases ``(S, fan_out)``
or ``(fan_out,)`` or ``None``. Inputs ``X`` have shape ``(B, fan_in)``. Shared by the float MESU and SGD
learners so that both differentiate exactly the same network.
"""

from __future__ import annotations

import numpy as np

__all__ = ["forward", "backward", "softmax", "log_softmax"]


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
