"""firmware_sim.flash_budget: the wear arithmetic of periodic A/B saves, checked against the slot code itself."""

from __future__ import annotations

import math

import pytest

from edge_mesu.device.flash import SlotLayout, blank_image, write_slot
from edge_mesu.device.host import find_compiler
from firmware_sim import list_devices, load_device
from firmware_sim.device import parse_device
from firmware_sim.flash_budget import flash_budget, min_save_every


def test_formula_and_inverse_agree_on_every_shipped_profile():
    for name in list_devices():
        b = flash_budget(name, state_bytes=10_100, update_rate_hz=50 / 32, save_every=1000)
        fw = load_device(name).flash_write
        assert fw is not None
        assert b.slot_pages == math.ceil((32 + 10_100) / fw.page_bytes)
        assert b.erases_per_page_per_day == pytest.approx(b.saves_per_day / 2)
        assert b.years_to_wear_out == pytest.approx(fw.endurance_cycles / (b.erases_per_page_per_day * 365.25))
        n = min_save_every(name, 10_100, 50 / 32, years=10.0)
        assert flash_budget(name, 10_100, 50 / 32, n).ok
        assert n == 1 or not flash_budget(name, 10_100, 50 / 32, n - 1).ok


def test_a_b_wear_matches_the_slots_python_twin():
    """Each save erases one whole slot, alternating: after S saves every page was erased S/2 times."""
    dev = load_device("stm32l4")
    state = 5_000
    b = flash_budget(dev, state, update_rate_hz=2.0, save_every=100)  # a save every 50 s
    fw = dev.flash_write
    assert fw is not None
    lay = SlotLayout.for_payload(state, fw.page_bytes)
    assert lay.slot_pages == b.slot_pages and lay.total_bytes == b.flash_bytes
    image, per_slot = blank_image(lay), [0, 0]
    saves = int(round(b.saves_per_day))  # one simulated day
    for k in range(saves):
        slot, _ = write_slot(image, lay, bytes([k % 256]) * state, config_hash=1)
        per_slot[slot] += 1  # every page of that slot is erased once by this save
    assert per_slot[0] == pytest.approx(b.erases_per_page_per_day, abs=1)
    assert sum(per_slot) * lay.slot_pages == pytest.approx(b.page_erases_per_day, abs=lay.slot_pages)


@pytest.mark.skipif(find_compiler() is None, reason="no C compiler found (cc, gcc or clang)")
def test_the_c_erases_one_slot_per_save(tmp_path):
    from edge_mesu.device.chost import CSlots

    lay = SlotLayout(page_bytes=256, slot_pages=3, prog_unit=8)
    c = CSlots(lay, 9, workdir=tmp_path)
    for k in range(10):
        assert c.save(bytes([k]) * 500) == 0
    assert c.erases() == 10 * lay.slot_pages


def test_figures_and_errors():
    b = flash_budget("rp2040", 10_100, 50 / 32, 1000, target_years=1.0)
    assert b.slot_pages == 3 and b.flash_bytes == 6 * 4096 and b.ok and b.years_to_wear_out > 4
    assert 0 < b.busy_fraction < 1e-3 and b.save_ms > 100  # three 45 ms sector erases
    assert "rp2040" in b.summary() and b.to_dict()["ok"] is True
    idle = flash_budget("stm32l4", 100, 0.0, 10)
    assert math.isinf(idle.years_to_wear_out) and idle.ok
    with pytest.raises(ValueError, match="save_every"):
        flash_budget("stm32l4", 100, 1.0, 0)
    with pytest.raises(ValueError, match="slots"):
        flash_budget("stm32l4", 100, 1.0, 10, slots=1)
    data = {
        "name": "x",
        "cpu": "cortex-m0",
        "memory": {"flash_bytes": 1, "sram_bytes": 1, "stack_bytes": 0},
        "core": {"clock_hz": 1, "simd": False, "fpu": False, "code_density": 1.0},
        "costs": {},
    }
    from firmware_sim.device import COST_KEYS

    data["costs"] = {k: 1.0 for k in COST_KEYS}
    with pytest.raises(ValueError, match="flash_write"):
        flash_budget(parse_device(data), 100, 1.0, 10)
