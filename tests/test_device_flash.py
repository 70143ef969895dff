"""Crash-safe A/B flash slots: the C (host, ctypes) against its Python twin, and power cuts at every byte.

The C runs over a RAM-backed HAL with NOR semantics whose fault injector stops it after n byte
operations (what a power cut there leaves); after each cut the C "reboots" (its RAM state is rebuilt)
and must load either the previous state or the new one, complete — never a mix, never nothing when a
state existed. The emulated Cortex-M4 version (cuts by instruction count) is in test_device_emulated.py.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from edge_mesu.device.flash import (
    SlotLayout,
    blank_image,
    check_slot,
    read_slots,
    slot_image,
    write_slot,
)
from edge_mesu.device.host import find_compiler

CC = find_compiler()
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler found (cc, gcc or clang): cannot build the C")
HASH = 0x1234ABCD


def _slots(layout: SlotLayout, tmp_path, name: str = "s"):
    from edge_mesu.device.chost import CSlots

    return CSlots(layout, HASH, workdir=tmp_path / name)


def _payload(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def test_python_twin_round_trip_and_rejections():
    lay = SlotLayout(page_bytes=128, slot_pages=3, prog_unit=16, base=256)
    img = blank_image(lay)
    assert read_slots(img, lay, HASH).factory
    assert write_slot(img, lay, b"a" * 10, HASH) == (0, 1)
    assert write_slot(img, lay, b"b" * lay.capacity, HASH) == (1, 2)
    assert write_slot(img, lay, b"", HASH) == (0, 3)
    r = read_slots(img, lay, HASH)
    assert (r.newest, r.seq, r.payload) == (0, 3, b"")
    torn = bytearray(img)
    torn[lay.header_bytes + 3] ^= 0  # no change: still valid
    torn[5] ^= 0xFF  # version field
    assert not check_slot(bytes(torn[: lay.slot_bytes]), lay, HASH).valid
    assert read_slots(torn, lay, HASH).newest == 1  # the other slot takes over
    with pytest.raises(ValueError, match="capacity"):
        slot_image(lay, b"x" * (lay.capacity + 1), 1, HASH)
    with pytest.raises(ValueError, match="power of two"):
        SlotLayout(page_bytes=128, slot_pages=1, prog_unit=12)
    assert SlotLayout.for_payload(3000, 2048).slot_pages == 2 and SlotLayout.for_payload(2016, 2048).slot_pages == 1


def test_sequence_numbers_wrap():
    lay = SlotLayout(page_bytes=64, slot_pages=1, prog_unit=4)
    img = blank_image(lay)
    img[: lay.slot_bytes] = slot_image(lay, b"old", 0xFFFFFFFF, HASH)
    assert write_slot(img, lay, b"new", HASH) == (1, 0)  # 0 follows 2**32 - 1
    assert read_slots(img, lay, HASH).payload == b"new"


@needs_cc
@pytest.mark.parametrize("unit", [1, 8, 32, 64])
def test_c_and_python_write_the_same_bytes_and_read_each_other(tmp_path, unit):
    lay = SlotLayout(page_bytes=256, slot_pages=2, prog_unit=unit)
    c = _slots(lay, tmp_path)
    assert c.load() == (1, b"") and c.capacity == lay.capacity
    img = blank_image(lay)
    for k in range(5):
        data = _payload(1 + 97 * k % lay.capacity, k)
        assert c.save(data) == 0
        write_slot(img, lay, data, HASH)
        assert c.image == bytes(img), f"save {k}: C and Python slot bytes differ"
        c.reboot()
        assert c.load() == (0, data)
    write_slot(img, lay, b"from python", HASH)  # a factory image made in Python boots in C
    c.set_image(bytes(img))
    c.reboot()
    assert c.load() == (0, b"from python")
    assert c.save(b"x" * (lay.capacity + 1)) == -1
    # a load buffer smaller than the saved payload: EMSU_SLOTS_E_ARG, the buffer untouched
    short = ctypes.create_string_buffer(b"\xaa" * 4, 4)
    n = ctypes.c_uint32(7)
    assert c._call("load", ctypes.c_int, short, ctypes.c_uint32(4), ctypes.byref(n)) == -1
    assert short.raw == b"\xaa" * 4 and n.value == 7


@needs_cc
def test_other_configuration_reads_as_factory(tmp_path):
    lay = SlotLayout(page_bytes=256, slot_pages=1)
    img = blank_image(lay)
    write_slot(img, lay, b"other firmware", HASH + 1)
    c = _slots(lay, tmp_path)
    c.set_image(bytes(img))
    c.reboot()
    assert c.load() == (1, b"")
    assert c.save(b"ours") == 0 and c.load() == (0, b"ours")


def _ops_of_a_save(c, data: bytes) -> int:
    before = c.image
    c.cut_after(10**9)
    assert c.save(data) == 0
    used = 10**9 - c.ops_left()
    c.set_image(before)
    c.cut_after(None)
    return used


@needs_cc
@pytest.mark.parametrize("unit", [8, 32])
def test_power_cut_at_every_byte_of_a_save_recovers_old_or_new(tmp_path, unit):
    """Slots hold v1 (A) and v2 (B); saving v3 overwrites A. Cut after each of its byte operations."""
    lay = SlotLayout(page_bytes=128, slot_pages=3, prog_unit=unit)
    c = _slots(lay, tmp_path)
    v1, v2, v3 = _payload(300, 1), _payload(250, 2), _payload(333, 3)
    assert c.save(v1) == 0 and c.save(v2) == 0
    start = c.image
    total = _ops_of_a_save(c, v3)
    assert total >= lay.slot_bytes + len(v3)  # the erase of the whole slot and the payload, at least
    outcome = {"old": 0, "new": 0}
    for n in range(total + 1):
        c.set_image(start)
        c.reboot()
        c.cut_after(n)
        rc = c.save(v3)
        assert (rc == 0) == (n >= total)
        c.cut_after(None)
        c.reboot()  # power back
        code, got = c.load()
        assert code == 0 and got in (v2, v3), f"cut after {n} byte operations: torn state"
        assert got == read_slots(c.image, lay, HASH).payload  # the Python twin agrees with the boot code
        outcome["old" if got == v2 else "new"] += 1
        # and the device keeps working: the next save after the cut succeeds and wins
        assert c.save(v1) == 0 and c.load() == (0, v1)
    assert outcome["new"] >= 1 and outcome["old"] >= total - 2 * unit  # new only once the magic is written


@needs_cc
def test_power_cut_during_the_first_save_falls_back_to_factory(tmp_path):
    lay = SlotLayout(page_bytes=64, slot_pages=4, prog_unit=8)
    c = _slots(lay, tmp_path)
    data = _payload(200, 4)
    total = _ops_of_a_save(c, data)
    for n in range(total + 1):
        c.set_image(bytes(blank_image(lay)))
        c.reboot()
        c.cut_after(n)
        c.save(data)
        c.cut_after(None)
        c.reboot()
        code, got = c.load()
        assert (code, got) in ((1, b""), (0, data)), n


@needs_cc
def test_repeated_cuts_never_lose_the_last_completed_state(tmp_path):
    """A random life: saves cut at random bytes, reboots, saves; the loaded state is always the last
    completed save, or the one being written when it was cut after its magic."""
    lay = SlotLayout(page_bytes=128, slot_pages=2, prog_unit=8)
    c = _slots(lay, tmp_path)
    rng = np.random.default_rng(11)
    committed: bytes | None = None
    for k in range(400):
        data = _payload(int(rng.integers(0, lay.capacity + 1)), 100 + k)
        cut = int(rng.integers(0, 2 * lay.slot_bytes)) if rng.random() < 0.7 else None
        c.cut_after(cut)
        rc = c.save(data)
        c.cut_after(None)
        c.reboot()
        code, got = c.load()
        if rc == 0:
            committed = data
        assert code == 0 or committed is None
        assert got in ((committed or b""), data), f"life step {k}: lost or torn state"
        committed = got if code == 0 else committed
    assert committed is not None
