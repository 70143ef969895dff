"""What-if descriptions: a network costed as if its arithmetic were fixed point.

:func:`assume_fixed_point` lets the simulator answer "would the fixed-point version of this float learner
fit?" while the real (float) learner still runs the stream: pass the result as ``simulate(...,
description=...)`` or to :func:`firmware_sim.memory_map`.

Example
-------
>>> from edge_mesu import MESULearner
>>> d = assume_fixed_point(MESULearner((4, 3, 2)))
>>> d.state_nbytes, d.arithmetic.mu_bits, d.layers
(69, 16, (4, 3, 2))
"""

from __future__ import annotations

from edge_mesu.interface import FIXED_ARITHMETIC, Arithmetic, Describable, NetworkDescription, describe

__all__ = ["assume_fixed_point"]


def assume_fixed_point(
    learner: Describable | NetworkDescription, bytes_per_param: float = 3, arithmetic: Arithmetic = FIXED_ARITHMETIC
) -> NetworkDescription:
    """The network's description with fixed-point arithmetic (default: int16 μ, uint8 σ code, int8 data) and
    ``bytes_per_param`` bytes of learning state per parameter."""
    return describe(learner).assuming(arithmetic, bytes_per_param)
