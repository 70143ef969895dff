"""Fleet simulations: many devices, each on its own stream variant, sharded over workers.

A range of devices is stepped as one :class:`edge_mesu.fleet.Fleet` per worker; ranges are sharded
across local processes or Ray actors (:func:`run_fleet`); posteriors may be fused across the fleet
(:mod:`edge_mesu.fleet.fusion`), and each device's budget is checked with ``firmware_sim``.
"""

from __future__ import annotations

from .config import FleetConfig
from .engine import run_fleet, shard_ranges
from .report import format_fleet, plot_fleet
from .streams import DeviceVariant, device_seed, device_stream, device_variant

__all__ = [
    "DeviceVariant",
    "FleetConfig",
    "device_seed",
    "device_stream",
    "device_variant",
    "format_fleet",
    "plot_fleet",
    "run_fleet",
    "shard_ranges",
]
