"""Energy per window and battery life from instruction counts and a profile's datasheet currents.

The model: each window the core runs ``cycles`` at its clock (run current = ``run_ua_per_mhz`` × MHz), then
sleeps until the next window (``sleep_ua``); the battery delivers its nominal capacity at the profile's
supply voltage. Everything but the instruction count is modelled: CPI (cycles per instruction, see
:mod:`firmware_sim.calibration`), datasheet typical currents, no sensor, radio or regulator losses.

>>> from firmware_sim.device import load_device
>>> e = window_energy(100_000, load_device("stm32l4"), window_s=1.0, cpi=1.3)
>>> round(e.active_us), round(e.energy_uj, 1), round(e.average_ua, 1)
(1625, 39.0, 14.4)
>>> round(e.battery_years("CR2032"), 2)
1.78
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .device import Device

__all__ = ["BATTERIES", "WindowEnergy", "window_energy"]

#: Nominal capacities in mAh (the cell's datasheet; a coin cell at low drain).
BATTERIES: dict[str, float] = {
    "CR2032": 225.0,  # Panasonic / Energizer CR2032 datasheets: 225-235 mAh nominal; the lower figure taken
    "CR2450": 620.0,  # Panasonic CR2450 datasheet: 620 mAh nominal
    "2xAA": 2500.0,  # alkaline AA at low drain (Energizer E91 datasheet: ~2,500 mAh to 0.8 V at 25 mA)
}


@dataclass(frozen=True)
class WindowEnergy:
    """One window's active time and energy, and the average current of a device doing it every window."""

    device: str
    cycles: float
    active_us: float
    window_s: float
    energy_uj: float  # active energy of one window (sleep excluded)
    average_ua: float  # active charge spread over the window + sleep for the rest of it

    def battery_years(self, battery: str | float) -> float:
        """Years on ``battery`` (a name of :data:`BATTERIES` or a capacity in mAh) at the average current."""
        mah = BATTERIES[battery] if isinstance(battery, str) else float(battery)
        return mah * 1e3 / self.average_ua / (24 * 365.25)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def window_energy(instructions: float, device: Device, window_s: float, cpi: float) -> WindowEnergy:
    """Energy of ``instructions`` per window on ``device``, one window every ``window_s`` seconds.

    ``ValueError`` when the profile has no ``[power]`` section, for a non-positive window period, or when the
    work does not fit in the window.
    """
    if device.power is None:
        raise ValueError(f"device profile {device.name} has no [power] section (datasheet currents)")
    if not (window_s > 0 and math.isfinite(window_s)):
        raise ValueError(f"window period must be > 0 s, got {window_s!r}")
    cycles = float(instructions) * cpi
    active_s = cycles / device.clock_hz
    if active_s > window_s:
        raise ValueError(f"{active_s * 1e3:.1f} ms of work does not fit in a {window_s * 1e3:.1f} ms window")
    p = device.power
    run_ua = p.run_ua(device.clock_hz)
    energy_uj = run_ua * p.supply_v * active_s  # µA × V × s = µJ
    average_ua = (run_ua * active_s + p.sleep_ua * (window_s - active_s)) / window_s
    return WindowEnergy(device.name, cycles, active_s * 1e6, window_s, energy_uj, average_ua)
