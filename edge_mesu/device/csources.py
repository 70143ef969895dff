"""The hand-written device-runtime C of this package (``csrc/``), as ``name → text``.

``emsu_slots.c/.h`` (crash-safe A/B state slots over a flash HAL) and ``emsu_flash_ram.c/.h`` (a RAM-backed
HAL with NOR semantics and a power-cut injector, for host tests and emulators). They are not generated:
nothing in them depends on a network or a front end.

>>> sorted(slots_sources())
['emsu_flash_ram.c', 'emsu_flash_ram.h', 'emsu_slots.c', 'emsu_slots.h']
>>> sorted(slots_sources(ram_hal=False))
['emsu_slots.c', 'emsu_slots.h']
"""

from __future__ import annotations

from importlib import resources

__all__ = ["SLOTS_FILES", "RAM_HAL_FILES", "slots_sources"]

SLOTS_FILES = ("emsu_slots.h", "emsu_slots.c")
RAM_HAL_FILES = ("emsu_flash_ram.h", "emsu_flash_ram.c")


def slots_sources(ram_hal: bool = True) -> dict[str, str]:
    """The slot module's sources, and (``ram_hal``) the RAM-backed HAL's."""
    folder = resources.files("edge_mesu.device") / "csrc"
    names = SLOTS_FILES + (RAM_HAL_FILES if ram_hal else ())
    return {name: (folder / name).read_text(encoding="utf-8") for name in names}
