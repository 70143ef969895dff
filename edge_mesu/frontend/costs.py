"""RAM and cycle estimates of the front end, as op counts of the kinds :mod:`edge_mesu.ops` defines.

Counts describe the C a device would run per window (``hop`` raw samples plus one output vector), the
unit ``firmware_sim`` steps in. The counts come from instructions measured per unit of work on an emulated
Cortex-M4 (``MEASURED_INSTRUCTIONS``), split into kinds; ``cycles`` prices them with a nominal Cortex-M4
table (``NOMINAL_COSTS``), ``firmware_sim`` with each device's own costs.
"""

from __future__ import annotations

from ..ops import Op
from .spec import FrontEndSpec, LabelRule

__all__ = ["MEASURED_INSTRUCTIONS", "NOMINAL_COSTS", "operation_list", "cycles", "ram_bytes"]

#: cycles per op kind on a Cortex-M4 at zero wait states (ARM DDI 0439: MUL/SMULL 1, UDIV 2-12, LDR 2)
NOMINAL_COSTS = {"alu": 1.0, "mul": 1.0, "div": 8.0, "load_store": 2.0, "call": 8.0, "lut": 3.0}

#: Instructions of the generated C front end per unit of work, measured on an emulated Cortex-M4
#: (arm-none-eabi-gcc 12.2 ``-O2``) with a warmed normaliser, least-squares over 38 specs (1, 3, 6 channels;
#: windows 32/64; hops; decimation 1/2/4; raw and features; majority labels): every spec within -5.5 % /
#: +7.2 % (``python benchmarks/frontend_cost.py``). The first model (op counts by hand) was 2.8-3.5x low.
MEASURED_INSTRUCTIONS = {
    "sample": 43.3,  # per raw sample: the push call, schedule, counters
    "sample_channel": 22.5,  # per raw value: read, decimation sum
    "frame_channel": 37.6,  # per decimated value: running mean and 64-bit variance (3 roundings), ring
    "output": 24.5,  # per window value out: deviation x 1/sigma, 2 roundings, clip
    "channel": 1006.6,  # per channel and window: sigma = isqrt(64-bit v), 2**34 / sigma (64-bit software division)
    "feature_value": 30.8,  # per value summarised (features): sums, square, min, max
    "majority_label": 31.2,  # per label of the window (majority rule)
}
#: Share of loads and stores among those instructions (priced at ``load_store``; with Cortex-M4 costs the
#: total is 1.3 cycles per instruction, the emulator's CPI in ``firmware_sim.calibration``).
LOAD_STORE_SHARE = 0.3
#: Instructions of one call (argument set-up, push/pop), priced as one ``call`` per raw sample.
CALL_INSTRUCTIONS = 15


def _term(name: str, units: int, per_unit: float, note: str, muls: int = 0, calls: int = 0) -> list[Op]:
    """``units`` x ``per_unit`` measured instructions as loads/stores, multiplies, calls and ALU ops."""
    total = units * per_unit - calls * CALL_INSTRUCTIONS
    ls = int(round(LOAD_STORE_SHARE * total))
    alu = max(int(round(total)) - ls - muls, 0)
    ops = [Op(f"{name}_alu", "alu", alu, note), Op(f"{name}_ls", "load_store", ls, note)]
    if muls:
        ops.append(Op(f"{name}_mul", "mul", muls, note))
    if calls:
        ops.append(Op(f"{name}_call", "call", calls, note))
    return ops


def operation_list(spec: FrontEndSpec) -> list[Op]:
    """Ops per window (see the module docstring), from the measured instructions per unit of work
    (``MEASURED_INSTRUCTIONS``); a frozen normaliser costs the same (worst case)."""
    c, hop, frames = spec.channels, spec.hop_samples, spec.frames
    dec = spec.frame_hop  # decimated samples per window (per channel)
    m = MEASURED_INSTRUCTIONS
    ops = _term("fe.sample", hop, m["sample"], "one push per raw sample", calls=hop)
    ops += _term("fe.read", hop * c, m["sample_channel"], "read each raw value, decimation sum")
    ops += _term("fe.norm", dec * c, m["frame_channel"], "running mean and variance (64-bit), ring", muls=dec * c)
    ops += _term("fe.sigma", c, m["channel"], "sigma = isqrt(v), 2**34 / sigma, once per window and channel")
    ops += _term("fe.out", frames * c, m["output"], "deviation x 1/sigma, round, clip", muls=frames * c)
    if spec.features:
        ops += _term("fe.feat", frames * c, m["feature_value"], "sums, z^2, min, max", muls=frames * c)
    if spec.label_rule is LabelRule.MAJORITY:
        ops += _term("fe.label_majority", spec.window, m["majority_label"], "count labels over the window")
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
