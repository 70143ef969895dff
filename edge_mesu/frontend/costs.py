"""RAM and cycle estimates of the front end, as op counts of the kinds :mod:`edge_mesu.ops` defines.

Counts describe the C a device would run per window (``hop`` raw samples plus one output vector), the
unit ``firmware_sim`` steps in. ``cycles`` prices them with a nominal Cortex-M4 table (``NOMINAL_COSTS``)
until firmware_sim prices them per device.
"""

from __future__ import annotations

from ..ops import Op
from .spec import FrontEndSpec, LabelRule

__all__ = ["NOMINAL_COSTS", "operation_list", "cycles", "ram_bytes"]

#: cycles per op kind on a Cortex-M4 at zero wait states (ARM DDI 0439: MUL/SMULL 1, UDIV 2-12, LDR 2)
NOMINAL_COSTS = {"alu": 1.0, "mul": 1.0, "div": 8.0, "load_store": 2.0, "call": 8.0, "lut": 3.0}
_ISQRT_ALU = 48  # bitwise integer square root of a 64-bit value: 16 iterations of ~3 ops
_DIV64 = 6  # a 64-by-32 division in software, in units of one 32-bit division


def operation_list(spec: FrontEndSpec) -> list[Op]:
    """Ops per window (see the module docstring); a frozen normaliser costs the same (worst case)."""
    c, hop, frames = spec.channels, spec.hop_samples, spec.frames
    dec = spec.frame_hop
    ops = [
        Op("fe.read", "load_store", hop * c, "read each raw sample"),
        Op("fe.call", "call", hop, "one call per raw sample (sensor ISR / FIFO drain)"),
    ]
    if spec.decimate > 1:
        ops += [
            Op("fe.decimate", "alu", hop * c + 2 * dec * c, "accumulate; finish the block"),
            Op("fe.decimate_div", "div", dec * c, "block sum / decimate"),
        ]
    ops += [
        Op("fe.norm_alu", "alu", 22 * dec * c, "mean and variance update with 3 roundings (64-bit)"),
        Op("fe.norm_mul", "mul", dec * c, "d8² (32×32→64)"),
        Op("fe.norm_ls", "load_store", 7 * dec * c, "load/store mean (32-bit), variance (64-bit), ring"),
        Op("fe.sigma", "alu", _ISQRT_ALU * c, "σ = round(√v), once per window and channel"),
        Op("fe.inv", "div", _DIV64 * c, "2**34 / σ"),
        Op("fe.norm_out_mul", "mul", frames * c, "d8 · inv"),
        Op("fe.norm_out_alu", "alu", 11 * frames * c, "deviation, 2 roundings, clip"),
        Op("fe.norm_out_ls", "load_store", 2 * frames * c, "read the ring, write the output"),
    ]
    if spec.features:
        ops += [
            Op("fe.feat_alu", "alu", 6 * frames * c + 12 * c, "sums, min, max; requantise"),
            Op("fe.feat_mul", "mul", frames * c, "z²"),
            Op("fe.feat_div", "div", 2 * c, "mean and mean square"),
            Op("fe.feat_sqrt", "alu", _ISQRT_ALU * c, "rms"),
        ]
    if spec.label_rule is LabelRule.MAJORITY:
        ops.append(Op("fe.label_majority", "alu", 3 * spec.window, "count labels over the window"))
    return ops


def cycles(ops: list[Op], costs: dict[str, float] | None = None) -> float:
    """Σ count × cost of kind (``NOMINAL_COSTS`` by default)."""
    table = NOMINAL_COSTS if costs is None else costs
    return float(sum(op.count * table[op.kind] for op in ops))


def ram_bytes(spec: FrontEndSpec) -> int:
    """Front-end RAM: the ring of decimated int16 samples, per-channel statistics (int32 mean, int64
    variance, int32 decimation sum, int32 reciprocal), counters, labels, feature accumulators; the output
    vector is the learner's input buffer and is counted in its arena.

    >>> ram_bytes(FrontEndSpec(channels=3, window=32))
    280
    """
    c = spec.channels
    total = 2 * spec.frames * c + (4 + 8 + 4 + 4) * c + 24  # ring, statistics, k/countdown/acc_n/seen/flags
    total += spec.window if spec.label_rule is LabelRule.MAJORITY else 1
    if spec.features:
        total += (4 + 8 + 2 + 2) * c  # Σz, Σz², min, max
    return -(-total // 4) * 4
