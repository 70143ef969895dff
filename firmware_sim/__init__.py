"""firmware_sim: will it fit, will it keep up?

Device profiles (TOML, :func:`load_device`), a memory map with a greedy arena planner (:func:`memory_map`),
an op-by-op latency model (:func:`estimate_latency`) and :func:`simulate`, which replays a stream at a sensor
rate through a bounded queue while the real learner runs, and checks flash, RAM and latency budgets.

Example
-------
>>> import numpy as np
>>> from edge_mesu import MESULearner
>>> learner = MESULearner((8, 4, 2), seed=0)
>>> X = np.random.default_rng(0).normal(size=(20, 8)); y = (X[:, 0] > 0).astype(int)
>>> report = simulate(learner, "stm32l4", (X, y), rate_hz=50.0, queue=2,
...                   description=assume_fixed_point(learner))
>>> report.ok, report.processed
(True, 20)
"""

from __future__ import annotations

from edge_mesu.memplan import Buffer, MemoryPlan, Placement, plan_memory

from .device import COST_DEFAULTS, COST_KEYS, Device, FlashWrite, list_devices, load_device, parse_device
from .latency import LatencyEstimate, OpCost, cost_of, estimate_latency, step_latency
from .memory import (
    MemoryMap,
    TflmArenaEstimate,
    code_size,
    device_code_bytes,
    measured_arena,
    memory_map,
    pass_buffers,
    table_bytes,
    tflm_arena_estimate,
)
from .report import SimReport
from .simulate import budget_violations, simulate
from .stream import QueueResult, iter_stream, replay_queue
from .views import assume_fixed_point

__all__ = [
    "COST_DEFAULTS",
    "COST_KEYS",
    "Buffer",
    "Device",
    "FlashWrite",
    "LatencyEstimate",
    "MemoryMap",
    "MemoryPlan",
    "OpCost",
    "Placement",
    "QueueResult",
    "SimReport",
    "assume_fixed_point",
    "budget_violations",
    "code_size",
    "cost_of",
    "device_code_bytes",
    "estimate_latency",
    "iter_stream",
    "list_devices",
    "load_device",
    "memory_map",
    "parse_device",
    "pass_buffers",
    "plan_memory",
    "replay_queue",
    "simulate",
    "step_latency",
    "table_bytes",
    "TflmArenaEstimate",
    "measured_arena",
    "tflm_arena_estimate",
]
