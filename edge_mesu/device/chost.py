"""The A/B slot C on the host, behind ctypes, over a flash image Python owns (tests, tools).

:class:`CSlots` compiles ``emsu_slots.c`` with the RAM-backed HAL and points it at a ``ctypes`` buffer:
``image`` is the flash, readable from Python at any time (:func:`edge_mesu.device.flash.read_slots`).
``reboot()`` forgets everything the C held in RAM, as a power cycle does; ``cut_after(n)`` makes the HAL
stop after n more byte operations (erase or program), as a power cut there would.
"""

from __future__ import annotations

import ctypes
import tempfile
from pathlib import Path
from typing import Any

from .csources import slots_sources
from .flash import SlotLayout
from .host import compile_shared

__all__ = ["CSlots"]

_SHIM = """#include "emsu_flash_ram.h"
static emsu_flash_hal_t hal;
static emsu_flash_ram_t ram;
static emsu_slots_t slots;
int shim_boot(uint8_t *mem, uint32_t size, uint32_t page, uint32_t unit, uint32_t base, uint32_t pages,
              uint32_t hash)
{
    uint32_t ops = ram.mem == mem ? ram.ops_left : UINT32_MAX;
    emsu_flash_ram_init(&ram, &hal, mem, size, page, unit);
    ram.ops_left = ops;
    return emsu_slots_init(&slots, &hal, base, pages, hash);
}
void shim_cut_after(uint32_t n) { ram.ops_left = n; }
uint32_t shim_ops_left(void) { return ram.ops_left; }
uint32_t shim_erases(void) { return ram.erases; }
uint32_t shim_seq(void) { return slots.seq; }
int shim_newest(void) { return slots.newest; }
int shim_load(uint8_t *buf, uint32_t cap, uint32_t *len) { return emsu_slots_load(&slots, buf, cap, len); }
int shim_save(const uint8_t *data, uint32_t len) { return emsu_slots_save(&slots, data, len); }
uint32_t shim_capacity(void) { return emsu_slots_capacity(&slots); }
"""


class CSlots:
    """``emsu_slots`` + the RAM HAL over ``image`` (``layout.base + layout.total_bytes`` bytes of flash)."""

    def __init__(self, layout: SlotLayout, config_hash: int, workdir: str | Path | None = None) -> None:
        self.layout, self.config_hash = layout, config_hash
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="edge_mesu_slots_")
            workdir = self._tmp.name
        files = {**slots_sources(), "shim.c": _SHIM}
        self.lib = ctypes.CDLL(str(compile_shared(files, workdir, lib_name="slots")))
        self.size = layout.base + layout.total_bytes
        self._mem = ctypes.create_string_buffer(b"\xff" * self.size, self.size)
        self.reboot()

    def _call(self, name: str, restype: Any, *args: Any) -> Any:
        f = getattr(self.lib, f"shim_{name}")
        f.restype = restype
        return f(*args)

    @property
    def image(self) -> bytes:
        """The flash bytes of both slots (from ``layout.base``)."""
        return self._mem.raw[self.layout.base :]

    def set_image(self, data: bytes) -> None:
        """Overwrite the slots' flash (e.g. with a Python-made image)."""
        raw = bytearray(self._mem.raw)
        raw[self.layout.base : self.layout.base + len(data)] = data
        ctypes.memmove(self._mem, bytes(raw), self.size)

    def reboot(self) -> int:
        """A power cycle: the C's RAM state is rebuilt; the flash (and a pending cut) stay."""
        lay = self.layout
        return int(
            self._call(
                "boot",
                ctypes.c_int,
                self._mem,
                ctypes.c_uint32(self.size),
                ctypes.c_uint32(lay.page_bytes),
                ctypes.c_uint32(lay.prog_unit),
                ctypes.c_uint32(lay.base),
                ctypes.c_uint32(lay.slot_pages),
                ctypes.c_uint32(self.config_hash),
            )
        )

    def cut_after(self, n: int | None) -> None:
        """The HAL fails (touching nothing more) after ``n`` byte operations; ``None``: never."""
        self._call("cut_after", None, ctypes.c_uint32(0xFFFFFFFF if n is None else n))

    def ops_left(self) -> int:
        return int(self._call("ops_left", ctypes.c_uint32))

    def erases(self) -> int:
        return int(self._call("erases", ctypes.c_uint32))

    def load(self) -> tuple[int, bytes]:
        """``emsu_slots_load``: ``(return code, payload)`` (payload empty unless the code is 0)."""
        buf = ctypes.create_string_buffer(self.layout.capacity)
        n = ctypes.c_uint32(0)
        rc = int(self._call("load", ctypes.c_int, buf, ctypes.c_uint32(self.layout.capacity), ctypes.byref(n)))
        return rc, (buf.raw[: n.value] if rc == 0 else b"")

    def save(self, payload: bytes) -> int:
        """``emsu_slots_save``: its return code."""
        return int(self._call("save", ctypes.c_int, bytes(payload), ctypes.c_uint32(len(payload))))

    @property
    def seq(self) -> int:
        return int(self._call("seq", ctypes.c_uint32))

    @property
    def capacity(self) -> int:
        return int(self._call("capacity", ctypes.c_uint32))
