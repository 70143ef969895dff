"""Latency model: the learner's operation list times the device's cycle table, op by op.

Each op kind maps to one cost key of the device profile; the three integer dot-product kinds use the
``*_simd`` cost when the device has SIMD. ``mac8x16`` (int8 activations × int16 weights) costs as
``mac_int16``: the activations are widened to int16 once per layer, as CMSIS-NN does for q7 × q15.
``alu_update_lrt`` (the local-reparameterisation update's ALU work) costs the profile's ``alu_update_lrt``,
which is the ``alu`` cost unless the profile sets it (:data:`firmware_sim.device.COST_DEFAULTS`).

Example
-------
>>> from edge_mesu import MESULearner
>>> from firmware_sim.device import load_device
>>> est = estimate_latency(MESULearner((4, 3, 2), bias=False), load_device("rp2040"), "infer")
>>> est.cycles > 0 and est.largest().op.name
'fc0.forward'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge_mesu.interface import Describable, NetworkDescription, describe
from edge_mesu.ops import KINDS, Op

from .device import Device

__all__ = ["KIND_COST", "OpCost", "LatencyEstimate", "cost_of", "estimate_latency", "step_latency"]

KIND_COST = {
    "mac8x8": "mac_int8",
    "mac8x16": "mac_int16",
    "mac16x16": "mac_int16",
    "fmac": "mac_float",
    "mul": "mul",
    "fmul": "mul_float",
    "alu": "alu",
    "alu_update_lrt": "alu_update_lrt",
    "falu": "alu_float",
    "prng": "prng_draw",
    "lut": "lut_lookup",
    "load_store": "load_store",
    "exp": "exp",
    "fexp": "exp_float",
    "div": "div",
    "fdiv": "div_float",
    "call": "call",
}
_SIMD_KINDS = ("mac8x8", "mac8x16", "mac16x16")
assert set(KIND_COST) == set(KINDS), "every op kind needs a cost key"


def cost_of(kind: str, device: Device) -> float:
    """Cycles of one op of ``kind`` on ``device``."""
    key = KIND_COST[kind]
    if kind in _SIMD_KINDS and device.simd:
        key += "_simd"
    return device.costs[key]


@dataclass(frozen=True)
class OpCost:
    """One op with its cycle cost on a device."""

    op: Op
    cycles_each: float

    @property
    def cycles(self) -> float:
        return self.op.count * self.cycles_each

    def to_dict(self) -> dict:
        return {
            "name": self.op.name,
            "kind": self.op.kind,
            "count": self.op.count,
            "cycles_each": self.cycles_each,
            "cycles": self.cycles,
            "note": self.op.note,
        }


@dataclass(frozen=True)
class LatencyEstimate:
    """Cycles of one pass (``infer``, ``predict`` or ``learn``) on one device, op by op."""

    mode: str
    clock_hz: float
    ops: tuple[OpCost, ...]

    @property
    def cycles(self) -> float:
        return float(sum(c.cycles for c in self.ops))

    @property
    def us(self) -> float:
        return self.cycles * 1e6 / self.clock_hz

    def largest(self) -> OpCost:
        """The op that costs the most cycles."""
        return max(self.ops, key=lambda c: c.cycles)

    def by_kind(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for c in self.ops:
            out[c.op.kind] = out.get(c.op.kind, 0.0) + c.cycles
        return out

    def to_dict(self) -> dict:
        return {
            "mode": self.mode,
            "cycles": self.cycles,
            "us": self.us,
            "by_kind": self.by_kind(),
            "ops": [c.to_dict() for c in self.ops],
        }


def estimate_latency(learner: Describable | NetworkDescription, device: Device, mode: str) -> LatencyEstimate:
    """Cycle estimate of one ``mode`` pass of a network (its description's operation list)."""
    ops = describe(learner).operation_list(mode)
    return LatencyEstimate(mode, device.clock_hz, tuple(OpCost(op, cost_of(op.kind, device)) for op in ops))


def step_latency(learner: Describable | NetworkDescription, device: Device, mode: str) -> dict[str, Any]:
    """Passes run per streamed sample: ``infer`` alone, or ``predict`` then ``learn`` (prequential), with
    ``uncertainty`` (k sampled forward passes) when the description has ``uncertainty_samples`` (a sensor
    pipeline: its device loop scores every window).

    Returns ``{"passes": {name: LatencyEstimate}, "frontend_cycles": float, "cycles": float, "us": float}``;
    a front end's cycles per learner input are added when the network has one.
    """
    if mode not in ("infer", "learn"):
        raise ValueError(f"mode must be 'infer' or 'learn', got {mode!r}")
    desc = describe(learner)
    names: tuple[str, ...] = ("infer",) if mode == "infer" else ("predict", "learn")
    if mode == "learn" and desc.uncertainty_samples > 0:
        names += ("uncertainty",)
    passes = {n: estimate_latency(desc, device, n) for n in names}
    fe_cycles = 0.0
    if desc.frontend is not None:  # its ops priced with this device's costs; a bare figure as given
        ops = desc.frontend.ops
        fe_cycles = (
            float(sum(op.count * cost_of(op.kind, device) for op in ops)) if ops else desc.frontend.cycles_per_window
        )
    cycles = sum(p.cycles for p in passes.values()) + fe_cycles
    return {"passes": passes, "frontend_cycles": fe_cycles, "cycles": cycles, "us": cycles * 1e6 / device.clock_hz}
