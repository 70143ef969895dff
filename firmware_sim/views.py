"""A what-if view of a learner: the same learner, costed as if its arithmetic were fixed point.

Until a learner exposes ``arithmetic()`` itself, :func:`assume_fixed_point` lets the simulator answer
"would the fixed-point version fit?" while the real (float) learner still runs the stream.

Example
-------
>>> from edge_mesu import MESULearner
>>> view = assume_fixed_point(MESULearner((4, 3, 2)))
>>> view.state_nbytes(), view.arithmetic()["mu_bits"], view.layers
(69, 16, (4, 3, 2))
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_FIXED_ARITHMETIC", "FixedPointView", "assume_fixed_point"]

DEFAULT_FIXED_ARITHMETIC = {"mu_bits": 16, "sigma_bits": 8, "weight_bits": 16, "act_bits": 8, "input_bits": 8,
                            "grad_bits": 16, "acc_bits": 32, "float": False}


class FixedPointView:
    """Delegates everything to ``learner`` except ``arithmetic()`` and ``state_nbytes()``."""

    def __init__(self, learner: Any, arithmetic: dict | None = None, bytes_per_param: float = 3) -> None:
        if not bytes_per_param > 0:
            raise ValueError(f"bytes_per_param must be > 0, got {bytes_per_param!r}")
        self.__dict__["_learner"] = learner
        self.__dict__["_arithmetic"] = dict(arithmetic or DEFAULT_FIXED_ARITHMETIC)
        self.__dict__["_bytes_per_param"] = bytes_per_param

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_learner"], name)

    def arithmetic(self) -> dict:
        return dict(self._arithmetic)

    def state_nbytes(self) -> int:
        return int(round(self._bytes_per_param * self._learner.n_params()))

    def __repr__(self) -> str:
        return f"assume_fixed_point({self._learner!r})"


def assume_fixed_point(learner: Any, bytes_per_param: float = 3,
                       arithmetic: dict | None = None) -> FixedPointView:
    """Cost ``learner`` as a fixed-point learner (default: int16 μ, uint8 σ code, int8 activations)."""
    return FixedPointView(learner, arithmetic, bytes_per_param)
