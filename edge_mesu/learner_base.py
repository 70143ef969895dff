"""The streaming verbs every learner shares (river-style), built on a few hooks per learner.

A learner implements ``_learn_batch(X, y)`` (called after every check passed), ``_sample_proba(X,
samples)`` (probabilities of shape ``(S, n, C)``), ``describe``, ``state_dict`` and ``from_state_dict``.
:class:`Persistent` gives learners and sensor pipelines the same state-file verbs.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import check_positive_int, check_X, check_x, check_y
from .errors import StateFileError
from .statefile import decode_state, encode_state, load_state, save_state
from .uncertainty import Uncertainty, decompose

if TYPE_CHECKING:
    from .fixed.qformat import QFormat
    from .interface import NetworkDescription

__all__ = ["BaseLearner", "Persistent", "from_decoded", "param_names"]


def param_names(n_layers: int, bias: bool) -> list[str]:
    """Names of the parameter arrays in storage order: ``w0, b0, w1, b1, ...`` (no ``b*`` without biases)."""
    return [f"{kind}{i}" for i in range(n_layers) for kind in (("w", "b") if bias else ("w",))]


def from_decoded(cls: Any, kind: str, meta: dict, arrays: dict, source: str) -> Any:
    """``cls.from_state_dict`` of a decoded state file, refusing another class's file with a clear error."""
    if kind != cls.__name__:
        raise StateFileError(f"{source}: state file holds a {kind}, not a {cls.__name__}")
    try:
        return cls.from_state_dict({"kind": kind, "meta": meta, "arrays": arrays})
    except (KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"{source}: inconsistent {kind} state ({exc})") from None


class Persistent:
    """State-file verbs from ``state_dict`` / ``from_state_dict``: bytes, atomic save, load (see
    :mod:`edge_mesu.statefile`). A file written by another class is refused with a clear error."""

    def state_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """The state file's bytes (see :mod:`edge_mesu.statefile`)."""
        state = self.state_dict()
        return encode_state(state["kind"], state["meta"], state["arrays"])

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> Any:
        kind, meta, arrays = decode_state(data, source)
        return from_decoded(cls, kind, meta, arrays, source)

    def save(self, path: str | os.PathLike) -> int:
        """Write the state file atomically; return its size in bytes."""
        state = self.state_dict()
        return save_state(path, state["kind"], state["meta"], state["arrays"])

    @classmethod
    def load(cls, path: str | os.PathLike) -> Any:
        """Read a state file; refuse one written by another class."""
        kind, meta, arrays = load_state(path)
        return from_decoded(cls, kind, meta, arrays, str(path))


class BaseLearner(Persistent):
    """Shared API: ``learn_one``, ``learn_many``, ``predict*``, ``uncertainty``, ``save``/``load``."""

    layers: tuple[int, ...]
    predict_samples: int
    bias: bool
    _step: int

    @property
    def input_format(self) -> QFormat | None:
        """The integer format the learner reads natively; None: floats (see :mod:`edge_mesu.interface`)."""
        return None

    # -- hooks -------------------------------------------------------------------------------------------
    def _learn_batch(self, X: np.ndarray, y: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sample_proba(self, X: np.ndarray, samples: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> NetworkDescription:  # pragma: no cover - abstract
        raise NotImplementedError

    def n_params(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def state_nbytes(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- shape helpers -------------------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return len(self.layers) - 1

    @property
    def step(self) -> int:
        """Number of updates applied so far."""
        return self._step

    @property
    def param_names(self) -> list[str]:
        """Names of the parameter arrays in storage order (see :func:`param_names`)."""
        return param_names(self.n_layers, self.bias)

    @property
    def n_features(self) -> int:
        return self.layers[0]

    @property
    def n_classes(self) -> int:
        return self.layers[-1]

    # -- learning ----------------------------------------------------------------------------------------------
    def learn_one(self, x: object, y: object) -> None:
        """Update the learner with one sample. Bad input raises ``ValueError`` before any state changes."""
        X = check_x(x, self.n_features)
        Y = check_y(y, self.n_classes, 1)
        self._learn_batch(X, Y)

    def learn_many(self, X: object, y: object, batch_size: int | None = None) -> None:
        """Learn a sequence: sample by sample (default) or in mini-batches of ``batch_size``.

        The whole input is validated first, so bad input anywhere changes nothing.
        """
        Xa = check_X(X, self.n_features)
        Ya = check_y(y, self.n_classes, Xa.shape[0])
        step = 1 if batch_size is None else check_positive_int(batch_size, "batch_size")
        for start in range(0, Xa.shape[0], step):
            self._learn_batch(Xa[start : start + step], Ya[start : start + step])

    # -- prediction ----------------------------------------------------------------------------------------
    def predict_proba(self, X: object, samples: int | None = None) -> np.ndarray:
        """Class probabilities, shape ``(n, C)``: ``predict_samples`` weight samples by default, mean weights
        with ``samples=0``, or the mean over ``samples`` weight samples."""
        Xa = check_X(X, self.n_features)
        samples = self.predict_samples if samples is None else check_positive_int(samples, "samples", minimum=0)
        return self._sample_proba(Xa, samples).mean(axis=0)

    def predict(self, X: object) -> np.ndarray:
        """Most probable class per row, using ``predict_samples`` weight samples (0 = mean weights)."""
        return self.predict_proba(X, samples=self.predict_samples).argmax(axis=1)

    def predict_proba_one(self, x: object) -> dict[int, float]:
        """Probabilities of one sample as ``{class: probability}``."""
        X = check_x(x, self.n_features)
        p = self._sample_proba(X, self.predict_samples).mean(axis=0)[0]
        return {c: float(v) for c, v in enumerate(p)}

    def predict_one(self, x: object) -> int:
        """Most probable class of one sample."""
        X = check_x(x, self.n_features)
        return int(self._sample_proba(X, self.predict_samples).mean(axis=0)[0].argmax())

    def uncertainty(self, X: object, samples: int = 10) -> Uncertainty:
        """Predictive entropy, aleatoric part and mutual information (bits) from ``samples`` weight samples."""
        Xa = check_X(X, self.n_features)
        samples = check_positive_int(samples, "samples", minimum=2)
        return decompose(self._sample_proba(Xa, samples))

    def clone(self) -> BaseLearner:
        """A fresh, untrained learner with the same constructor arguments."""
        return type(self)(**self._init_args())  # type: ignore[call-arg]

    def _init_args(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._init_args().items())
        return f"{type(self).__name__}({args})"
