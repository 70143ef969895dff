"""Flash wear of periodic state saves: erase cycles per day against the part's endurance, years to wear-out.

A device that learns keeps its state in flash with the crash-safe A/B slots of
:mod:`edge_mesu.device.flash` (``emsu_slots.c``): each save erases every page of one slot, alternating
between the two, so each page is erased once every ``slots`` saves. With saves every ``save_every``
learner updates at ``update_rate_hz`` updates per second::

    saves per day            = 86,400 · update_rate_hz / save_every
    erases per page per day  = saves per day / slots
    years to wear-out        = endurance_cycles / (erases per page per day · 365.25)

The profile's ``[flash_write]`` section gives the erase unit (``page_bytes``), the endurance and the
erase / program times (each number cited in the TOML). A slot holds the 32-byte header (or one program
unit, if larger) and the payload, rounded up to whole pages.

Example
-------
>>> b = flash_budget("stm32l4", state_bytes=10_000, update_rate_hz=50 / 32, save_every=1000)
>>> b.slot_pages, round(b.saves_per_day, 1), round(b.erases_per_page_per_day, 1), round(b.years_to_wear_out, 2)
(5, 135.0, 67.5, 0.41)
>>> b.ok                                    # the default target is 10 years
False
>>> min_save_every("stm32l4", 10_000, 50 / 32, years=10.0)    # updates between saves for 10 years
24655
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .device import Device, load_device

__all__ = ["FlashBudget", "SLOT_HEADER_BYTES", "flash_budget", "min_save_every"]

SLOT_HEADER_BYTES = 32  # edge_mesu.device.flash: the slot header (max(32, program unit) bytes)
_DAY_S, _YEAR_DAYS = 86_400.0, 365.25


@dataclass(frozen=True)
class FlashBudget:
    """Wear and cost of saving ``state_bytes`` every ``save_every`` updates on ``device``."""

    device: str
    state_bytes: int
    update_rate_hz: float
    save_every: int
    slots: int
    page_bytes: int
    slot_pages: int
    endurance_cycles: int
    save_interval_s: float
    saves_per_day: float
    page_erases_per_day: float  # erase operations per day, all pages together
    erases_per_page_per_day: float  # what each page endures
    years_to_wear_out: float
    save_ms: float  # erase one slot + program header and payload, per save
    busy_fraction: float  # share of the time the flash is busy saving
    flash_bytes: int  # flash the slots occupy
    target_years: float

    @property
    def ok(self) -> bool:
        """True when the flash outlives ``target_years``."""
        return self.years_to_wear_out >= self.target_years

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["ok"] = self.ok
        return out

    def summary(self) -> str:
        life = "unlimited" if math.isinf(self.years_to_wear_out) else f"{self.years_to_wear_out:,.2f} years"
        return (
            f"{self.device}: {self.state_bytes:,} B state in {self.slots} x {self.slot_pages} page(s) of "
            f"{self.page_bytes:,} B; a save every {self.save_every:,} updates ({self.save_interval_s:,.0f} s): "
            f"{self.saves_per_day:,.1f} saves/day, {self.erases_per_page_per_day:,.2f} erases/page/day of "
            f"{self.endurance_cycles:,} cycles -> {life} ({'ok' if self.ok else 'under'} the "
            f"{self.target_years:g}-year target); {self.save_ms:,.1f} ms per save"
        )


def _flash(device: str | Device) -> tuple[Device, Any]:
    dev = load_device(device)
    if dev.flash_write is None:
        raise ValueError(f"device {dev.name!r} has no [flash_write] section (page_bytes, endurance_cycles, timings)")
    return dev, dev.flash_write


def _check(state_bytes: int, update_rate_hz: float, slots: int) -> None:
    if isinstance(state_bytes, bool) or not isinstance(state_bytes, int) or state_bytes < 0:
        raise ValueError(f"state_bytes must be an integer >= 0, got {state_bytes!r}")
    if not isinstance(update_rate_hz, (int, float)) or not math.isfinite(update_rate_hz) or update_rate_hz < 0:
        raise ValueError(f"update_rate_hz must be a finite number >= 0, got {update_rate_hz!r}")
    if isinstance(slots, bool) or not isinstance(slots, int) or slots < 2:
        raise ValueError(f"slots must be an integer >= 2 (the A/B scheme), got {slots!r}")


def flash_budget(
    device: str | Device,
    state_bytes: int,
    update_rate_hz: float,
    save_every: int,
    *,
    target_years: float = 10.0,
    slots: int = 2,
    header_bytes: int = SLOT_HEADER_BYTES,
) -> FlashBudget:
    """Erase cycles per day and years to wear-out of saving the state every ``save_every`` updates.

    ``state_bytes`` is the payload of a save (e.g. the learner's ``NAME_STATE_BYTES`` plus the front end's);
    ``update_rate_hz`` the learner updates per second (windows learned per second); ``slots`` 2 for the
    shipped A/B module (more: the same arithmetic for a ring of slots, which the C does not implement).
    Raises ``ValueError`` for a profile without ``[flash_write]`` or bad arguments.
    """
    _check(state_bytes, update_rate_hz, slots)
    if isinstance(save_every, bool) or not isinstance(save_every, int) or save_every < 1:
        raise ValueError(f"save_every must be an integer >= 1, got {save_every!r}")
    dev, fw = _flash(device)
    slot_pages = max(1, math.ceil((header_bytes + state_bytes) / fw.page_bytes))
    saves_per_s = update_rate_hz / save_every
    saves_per_day = saves_per_s * _DAY_S
    per_page = saves_per_day / slots
    years = math.inf if per_page == 0 else fw.endurance_cycles / (per_page * _YEAR_DAYS)
    save_us = slot_pages * fw.erase_us_per_page + (header_bytes + state_bytes) * fw.program_us_per_byte
    return FlashBudget(
        device=dev.name,
        state_bytes=state_bytes,
        update_rate_hz=float(update_rate_hz),
        save_every=save_every,
        slots=slots,
        page_bytes=fw.page_bytes,
        slot_pages=slot_pages,
        endurance_cycles=fw.endurance_cycles,
        save_interval_s=math.inf if saves_per_s == 0 else 1.0 / saves_per_s,
        saves_per_day=saves_per_day,
        page_erases_per_day=saves_per_day * slot_pages,
        erases_per_page_per_day=per_page,
        years_to_wear_out=years,
        save_ms=save_us / 1000.0,
        busy_fraction=save_us * 1e-6 * saves_per_s,
        flash_bytes=slots * slot_pages * fw.page_bytes,
        target_years=float(target_years),
    )


def min_save_every(
    device: str | Device, state_bytes: int, update_rate_hz: float, years: float = 10.0, slots: int = 2
) -> int:
    """The fewest updates between saves for the flash to last ``years`` (at least 1)."""
    _check(state_bytes, update_rate_hz, slots)
    _, fw = _flash(device)
    # years = endurance · slots / (86,400 · rate / n · 365.25), so n = years · 365.25 · 86,400 · rate
    # / (endurance · slots)
    need = years * _YEAR_DAYS * _DAY_S * update_rate_hz / (fw.endurance_cycles * slots)
    return max(1, math.ceil(need - 1e-9))
