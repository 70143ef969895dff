"""Plain SGD MLP with the learners' interface: the forgetting baseline of the continual-learning benchmark."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._validation import check_positive_int
from .interface import FLOAT_ARITHMETIC, NetworkDescription, read_only
from .learner_base import BaseLearner
from .mesu import _split_layers, _unzip, check_layers
from .mlp import backward, forward, softmax

__all__ = ["SGDLearner"]


class SGDLearner(BaseLearner):
    """Deterministic ReLU MLP trained by plain SGD on the summed cross-entropy of each sample or batch.

    Weights start as PyTorch's ``nn.Linear`` default, U(±1/√fan_in); biases at 0.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4)); y = (X[:, 0] > 0).astype(int)
    >>> m = SGDLearner(layers=(4, 8, 2), lr=0.05, seed=1); m.learn_many(X, y)
    >>> float((m.predict(X) == y).mean()) > 0.8
    True
    """

    predict_samples = 0

    def __init__(
        self,
        layers: tuple[int, ...] | list[int] = (784, 50, 10),
        *,
        lr: float = 0.01,
        bias: bool = True,
        dtype: str = "float32",
        seed: int = 0,
    ) -> None:
        self.layers = check_layers(layers)
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.lr = float(lr)
        self.bias = bool(bias)
        self.dtype = dtype
        self.seed = check_positive_int(seed, "seed", minimum=0)
        rng = np.random.Generator(np.random.PCG64(self.seed))
        params = []
        for fan_in, fan_out in zip(self.layers[:-1], self.layers[1:]):
            bound = 1.0 / math.sqrt(fan_in)
            params.append(rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(dtype))
            if self.bias:
                params.append(np.zeros(fan_out, dtype=dtype))
        self._w = params
        self._step = 0

    def n_params(self) -> int:
        return int(sum(w.size for w in self._w))

    def state_nbytes(self) -> int:
        return int(sum(w.nbytes for w in self._w))

    def describe(self) -> NetworkDescription:
        """The network as data, for export and firmware_sim (σ = 0: a deterministic network)."""
        return NetworkDescription(
            kind=type(self).__name__,
            layers=self.layers,
            bias=self.bias,
            train_samples=1,
            predict_samples=0,
            arithmetic=FLOAT_ARITHMETIC,
            n_params=self.n_params(),
            state_nbytes=self.state_nbytes(),
            mean_params=tuple((read_only(w), read_only(b)) for w, b in self.mean_params()),
            posterior=tuple((n, read_only(m), read_only(s)) for n, (m, s) in self.params().items()),
        )

    def mean_params(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return _split_layers(self._w, self.layers, self.bias)

    def params(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{name: (w, 0)}``: a deterministic network has zero σ."""
        return {n: (w.astype(np.float64), np.zeros(w.shape)) for n, w in zip(self.param_names, self._w)}

    def _learn_batch(self, X: np.ndarray, y: np.ndarray) -> None:
        weights, biases = _unzip(self._w, self.bias)
        logits, acts = forward(weights, biases, X.astype(self.dtype, copy=False))
        g_w, g_b = backward(weights, acts, logits, y, self.bias)
        grads = [g for pair in zip(g_w, g_b) for g in pair if g is not None] if self.bias else g_w
        new = [w - self.lr * g for w, g in zip(self._w, grads)]
        if not all(np.all(np.isfinite(w)) for w in new):
            raise FloatingPointError(f"SGD step {self._step} produced a non-finite weight; state left unchanged")
        self._w = [w.astype(self.dtype, copy=False) for w in new]
        self._step += 1

    def _sample_proba(self, X: np.ndarray, samples: int) -> np.ndarray:
        weights, biases = _unzip(self._w, self.bias)
        logits, _ = forward(weights, biases, X.astype(self.dtype, copy=False))
        p = softmax(logits.astype(np.float64))[None]
        return np.repeat(p, max(samples, 1), axis=0)  # no weight uncertainty: every "sample" agrees

    def _init_args(self) -> dict[str, Any]:
        return {"layers": self.layers, "lr": self.lr, "bias": self.bias, "dtype": self.dtype, "seed": self.seed}

    def state_dict(self) -> dict[str, Any]:
        meta = {"init": {**self._init_args(), "layers": list(self.layers)}, "step": self._step}
        return {
            "kind": type(self).__name__,
            "meta": meta,
            "arrays": {f"w_{n}": w.copy() for n, w in zip(self.param_names, self._w)},
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> SGDLearner:
        meta, arrays = state["meta"], state["arrays"]
        obj = cls(**meta["init"])
        ws = []
        for name, ref in zip(obj.param_names, obj._w):
            w = np.asarray(arrays[f"w_{name}"])
            if w.shape != ref.shape or not np.all(np.isfinite(w)):
                raise ValueError(f"array {name} has shape {w.shape} (needs {ref.shape}) or non-finite values")
            ws.append(w.astype(obj.dtype))
        obj._w, obj._step = ws, int(meta["step"])
        return obj
