"""Fleets: many simulated devices, each running the fixed-point learner on its own stream variant.

Within a worker a range of devices is stepped as one vectorised update over a device axis
(:class:`Fleet`, bit-identical to each device's own :class:`~edge_mesu.fixed.FixedMESULearner`); device
ranges are sharded across workers (local processes or Ray actors, :func:`run_fleet`); posteriors can be
fused across the fleet as a product of Gaussians in the learner's integer formats (:mod:`.fusion`).
"""

from __future__ import annotations

from .batched import Fleet, solo_learner
from .config import FleetConfig
from .engine import run_fleet, shard_ranges
from .fusion import FusionTables, fuse_float
from .report import format_fleet, plot_fleet
from .streams import DeviceVariant, device_seed, device_stream, device_variant

__all__ = ["DeviceVariant", "Fleet", "FleetConfig", "FusionTables", "device_seed", "device_stream",
           "device_variant", "format_fleet", "fuse_float", "plot_fleet", "run_fleet", "shard_ranges",
           "solo_learner"]
