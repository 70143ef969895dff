"""What callers may rely on: the streaming-learner protocol and a read-only description of a network.

Two contracts, and nothing else is read from outside a learner:

- :class:`StreamingLearner` — the river-style verbs every learner implements (learn, predict, uncertainty,
  persistence, :meth:`~StreamingLearner.describe`).
- :class:`NetworkDescription` — what ``export``, ``firmware_sim`` and the C generator need to know about a
  network, as data: architecture, number formats (:class:`Arithmetic`), parameter count, state bytes, the
  mean network and the posterior in float, the operation list of each pass, the scratch-buffer list, and for
  a fixed-point learner its plan and integer state (:class:`FixedNetwork`); for a sensor pipeline also its
  front end (:class:`FrontEndDescription`). Arrays in a description are read-only copies.

Example
-------
>>> from edge_mesu import FixedMESULearner
>>> d = FixedMESULearner((4, 3, 2), seed=0).describe()
>>> d.kind, d.layers, d.n_params, d.state_nbytes, d.arithmetic.mu_bits, d.fixed.mu.flags.writeable
('FixedMESULearner', (4, 3, 2), 23, 69, 16, False)
>>> sum(op.count for op in d.operation_list("infer") if op.kind == "mac8x8")
18
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from .fixed.plan import FixedPlan
from .fixed.qformat import QFormat, Rounding
from .fixed.step import Layout
from .frontend.spec import FrontEndSpec
from .memplan import Buffer
from .mesu_rule import MESUConfig
from .ops import FIXED_ARITHMETIC, FLOAT_ARITHMETIC, Arithmetic, Op, operation_list

if TYPE_CHECKING:
    from .fixed.entropy import IntUncertainty
    from .uncertainty import Uncertainty

__all__ = [
    "Arithmetic",
    "Describable",
    "FIXED_ARITHMETIC",
    "FLOAT_ARITHMETIC",
    "FixedNetwork",
    "FrontEndDescription",
    "IntegerInputLearner",
    "NetworkDescription",
    "StreamingLearner",
    "describe",
    "read_only",
]


def read_only(a: Any, dtype: Any = None) -> np.ndarray:
    """A read-only copy of ``a`` (descriptions never alias a learner's state)."""
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class FixedNetwork:
    """The plan and integer state of a fixed-point network: what the C generator and state blobs read.

    ``mu`` (int16) and ``code`` (uint8) are the flat state vectors in :class:`~edge_mesu.fixed.step.Layout`
    order; ``counters`` the saturation counters by name.
    """

    plan: FixedPlan
    rounding: Rounding
    layout: Layout
    train_samples: int
    mu: np.ndarray
    code: np.ndarray
    seed: int
    step: int
    counters: dict[str, int] = field(default_factory=dict)
    sampling: str = "weights"  # how learning estimates gradients: "weights" or "lrt" (the C runs both)
    sigma_grad: str = "reparam"  # the σ-gradient estimator: "reparam" or "centered" (the C runs "reparam")


@dataclass(frozen=True)
class FrontEndDescription:
    """A sensor front end as the device runs it: its spec, RAM, cost per learner input and state bytes."""

    spec: FrontEndSpec
    ram_bytes: int
    cycles_per_window: float
    state_nbytes: int
    ops: tuple[Op, ...] = ()


@dataclass(frozen=True)
class NetworkDescription:
    """A network as data (see the module docstring); built by ``learner.describe()``.

    ``mean_params`` is ``((W, b), ...)`` in float64 (zero biases without bias); ``posterior`` is
    ``((name, μ, σ), ...)`` per parameter array in storage order (σ = 0 for a deterministic learner).
    ``buffer_lists`` maps a pass (``"predict"``, ``"learn"``) to the scratch buffers the device code uses,
    when the learner has a device implementation (the fixed learner's C): the generated C lays out its arena
    from exactly these, and ``firmware_sim`` budgets them. ``uncertainty_samples`` > 0 (a sensor pipeline's
    description: its device loop scores every window) adds an ``"uncertainty"`` pass to the budget.
    """

    kind: str
    layers: tuple[int, ...]
    bias: bool
    train_samples: int
    predict_samples: int
    arithmetic: Arithmetic
    n_params: int
    state_nbytes: int
    mean_params: tuple[tuple[np.ndarray, np.ndarray], ...]
    posterior: tuple[tuple[str, np.ndarray, np.ndarray], ...]
    input_format: QFormat | None = None
    config: MESUConfig | None = None
    fixed: FixedNetwork | None = None
    frontend: FrontEndDescription | None = None
    buffer_lists: dict[str, tuple[Buffer, ...]] = field(default_factory=dict)
    arena_alignment: int = 4
    uncertainty_samples: int = 0  # weight samples of a per-window mutual information (a sensor pipeline's)
    sampling: str = "weights"  # what a learn step samples: "weights" (w = μ + σ·ε) or "lrt" (the pre-activations)

    @property
    def n_features(self) -> int:
        return self.layers[0]

    @property
    def n_classes(self) -> int:
        return self.layers[-1]

    def operation_list(self, mode: str) -> list[Op]:
        """The operations of one ``"infer"``, ``"predict"``, ``"learn"`` or ``"uncertainty"`` pass
        (:mod:`edge_mesu.ops`)."""
        return operation_list(self, mode)

    def with_frontend(self, frontend: FrontEndDescription | None) -> NetworkDescription:
        return replace(self, frontend=frontend)

    def assuming(self, arithmetic: Arithmetic, bytes_per_param: float) -> NetworkDescription:
        """This network costed with other arithmetic and state bytes (a what-if: nothing else changes)."""
        if not bytes_per_param > 0:
            raise ValueError(f"bytes_per_param must be > 0, got {bytes_per_param!r}")
        return replace(
            self, arithmetic=arithmetic, state_nbytes=int(round(bytes_per_param * self.n_params)), buffer_lists={}
        )


def describe(obj: Describable | NetworkDescription) -> NetworkDescription:
    """``obj`` itself if it is a description, else ``obj.describe()`` (a learner or a pipeline)."""
    if isinstance(obj, NetworkDescription):
        return obj
    if not isinstance(obj, Describable):
        raise TypeError(f"expected an edge-mesu learner, pipeline or NetworkDescription, got {type(obj).__name__}")
    return obj.describe()


@runtime_checkable
class Describable(Protocol):
    """Anything that can describe its network: learners and sensor pipelines."""

    def describe(self) -> NetworkDescription: ...


@runtime_checkable
class StreamingLearner(Protocol):
    """The verbs every edge-mesu learner offers (river-style; inputs are numpy rows of ``n_features``).

    ``input_format`` is the integer format the learner reads natively (a fixed-point learner's int8 input),
    or None for a float learner: a caller holding integers of that format may use the learner's ``*_q``
    entry points instead of converting to floats.
    """

    layers: tuple[int, ...]

    @property
    def input_format(self) -> QFormat | None: ...

    @property
    def step(self) -> int: ...

    @property
    def n_features(self) -> int: ...

    @property
    def n_classes(self) -> int: ...

    def learn_one(self, x: object, y: object) -> None: ...

    def learn_many(self, X: object, y: object, batch_size: int | None = None) -> None: ...

    def predict_one(self, x: object) -> int: ...

    def predict_proba_one(self, x: object) -> dict[int, float]: ...

    def predict(self, X: object) -> np.ndarray: ...

    def predict_proba(self, X: object, samples: int | None = None) -> np.ndarray: ...

    def uncertainty(self, X: object, samples: int = 10) -> Uncertainty: ...

    def describe(self) -> NetworkDescription: ...

    def state_dict(self) -> dict[str, Any]: ...

    def to_bytes(self) -> bytes: ...

    def save(self, path: str | os.PathLike) -> int: ...

    def n_params(self) -> int: ...

    def state_nbytes(self) -> int: ...


@runtime_checkable
class IntegerInputLearner(StreamingLearner, Protocol):
    """A learner that reads integers of its ``input_format`` natively (the fixed-point learner): its ``*_q``
    entry points take them as they are, so a caller holding such integers converts nothing."""

    def learn_one_q(self, x_q: object, y: object) -> None: ...

    def predict_proba_q(self, X_q: object, samples: int | None = None) -> np.ndarray: ...

    def uncertainty_q(self, X_q: object, samples: int = 10) -> Uncertainty: ...

    def uncertainty_int_q(self, X_q: object, samples: int = 8) -> IntUncertainty: ...
