"""Generated data and small learners for the export tests and examples (no files, fixed seeds)."""

from __future__ import annotations

import numpy as np

from edge_mesu.interface import FLOAT_ARITHMETIC, NetworkDescription, read_only

__all__ = ["gaussian_task", "trained_learner", "StubLearner"]


def gaussian_task(
    n: int, n_features: int = 16, n_classes: int = 4, seed: int = 0, noise: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """A separable Gaussian mixture: class centres ~ N(0, 1), samples = centre + N(0, noise²)."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(1234).normal(size=(n_classes, n_features))
    y = rng.integers(0, n_classes, size=n)
    return centres[y] + noise * rng.normal(size=(n, n_features)), y


def trained_learner(layers: tuple[int, ...] = (16, 12, 4), n_train: int = 400, seed: int = 1) -> object:
    """A MESULearner trained one pass, sample by sample, on :func:`gaussian_task` (about 0.1 s)."""
    from edge_mesu import MESULearner

    X, y = gaussian_task(n_train, layers[0], layers[-1], seed=seed)
    learner = MESULearner(layers=layers, N=10_000, sigma_init="paper", ratio_max=0.1, seed=seed)
    learner.learn_many(X, y)
    return learner


class StubLearner:
    """Duck-typed learner over given mean weights (and σ), to test the interface and bad parameters."""

    def __init__(
        self, weights: list[np.ndarray], biases: list[np.ndarray] | None = None, sigmas: list[np.ndarray] | None = None
    ) -> None:
        self.layers = (weights[0].shape[0],) + tuple(w.shape[1] for w in weights)
        self.bias = biases is not None
        self._w = [np.asarray(w, dtype=np.float64) for w in weights]
        self._b = (
            [np.asarray(b, dtype=np.float64) for b in biases]
            if biases is not None
            else [np.zeros(w.shape[1]) for w in weights]
        )
        self._s = sigmas if sigmas is not None else [np.zeros_like(w) for w in self._w]

    def describe(self) -> NetworkDescription:
        return NetworkDescription(
            kind="StubLearner",
            layers=self.layers,
            bias=self.bias,
            train_samples=1,
            predict_samples=0,
            arithmetic=FLOAT_ARITHMETIC,
            n_params=sum(w.size + b.size for w, b in self.mean_params()),
            state_nbytes=0,
            mean_params=tuple((read_only(w), read_only(b)) for w, b in self.mean_params()),
            posterior=tuple((n, read_only(m), read_only(s)) for n, (m, s) in self.params().items()),
        )

    def mean_params(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return list(zip(self._w, self._b, strict=True))

    def params(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {}
        for i, (w, b, s) in enumerate(zip(self._w, self._b, self._s, strict=True)):
            out[f"w{i}"] = (w, np.asarray(s, dtype=np.float64))
            if self.bias:
                out[f"b{i}"] = (b, np.zeros_like(b))
        return out

    def predict_proba(self, X: np.ndarray, samples: int = 0) -> np.ndarray:
        a = np.asarray(X, dtype=np.float64)
        for i, (w, b) in enumerate(zip(self._w, self._b, strict=True)):
            a = a @ w + b
            if i < len(self._w) - 1:
                a = np.maximum(a, 0.0)
        e = np.exp(a - a.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
