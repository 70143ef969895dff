"""Device-runtime C on an emulated Cortex-M4 (arm-none-eabi-gcc + unicorn): the front end bit for bit with
Python over >= 5,000 windows with a power cycle inside a window, and the A/B flash slots under >= 200 power
cuts per scenario (firmware_sim/emulate_device.py). Skipped, naming the missing tool, without the toolchain
or unicorn.
"""

from __future__ import annotations

import numpy as np
import pytest

from edge_mesu.data import make_sensor_stream
from edge_mesu.device.flash import SlotLayout
from edge_mesu.frontend import FrontEnd, FrontEndSpec
from edge_mesu.frontend.cblob import frontend_blob


def _reason() -> str | None:
    from firmware_sim.emulate import emulator_available

    return emulator_available()


needs_emu = pytest.mark.skipif(_reason() is not None, reason=f"Cortex-M4 emulation: {_reason()}")
N_CLASSES = 5


@pytest.fixture(scope="module")
def stream():
    s = make_sensor_stream(n_windows=5000, seed=2)
    labels = s.labels.copy()
    labels[np.random.default_rng(0).random(labels.shape[0]) < 0.25] = -1
    return np.array(s.samples), labels


@needs_emu
@pytest.mark.parametrize(
    "spec",
    [
        FrontEndSpec(channels=3, window=32),
        FrontEndSpec(channels=3, window=32, hop=20, decimate=4, features=True, label_rule="majority", warmup=300),
    ],
    ids=["raw", "features_hop_dec_majority"],
)
def test_front_end_on_cortex_m4_is_bit_exact_across_a_power_cycle(stream, spec):
    from firmware_sim.emulate_device import emulate_frontend

    x, lab = stream
    cut = 2500 * 32 + 13  # inside a window and inside a decimation block
    assert cut % spec.hop_samples and (spec.decimate == 1 or cut % spec.decimate)
    dev = emulate_frontend(spec, x, lab, n_classes=N_CLASSES, restore_at=cut)
    py = FrontEnd(spec)
    ref = py.push(x, lab)
    assert len(ref) >= 5000
    assert np.array_equal(dev.values, ref.values) and np.array_equal(dev.labels, ref.labels)
    assert np.array_equal(dev.end, ref.end)
    assert dev.blob == frontend_blob(py, N_CLASSES)


@needs_emu
def test_python_state_continues_on_the_device_and_instructions_are_counted(stream):
    from firmware_sim.emulate_device import emulate_frontend

    x, lab = stream
    spec = FrontEndSpec(channels=3, window=32, hop=16, features=True)
    py = FrontEnd(spec)
    py.push(x[:1000], lab[:1000])  # 1000 = mid-window for hop 16? 1000 % 16 = 8: yes
    dev = emulate_frontend(spec, x[1000:4000], lab[1000:4000], initial_blob=frontend_blob(py), count=True)
    ref = py.push(x[1000:4000], lab[1000:4000])
    assert np.array_equal(dev.values, ref.values) and dev.blob == frontend_blob(py)
    per_sample = dev.to_dict()["instructions_per_sample"]
    assert 50 < per_sample < 2000 and dev.library_size["text"] > 0


@needs_emu
@pytest.mark.parametrize(
    "layout, prior",
    [
        (SlotLayout(page_bytes=256, slot_pages=3, prog_unit=8), b"prior state " * 20),  # both slots hold a state
        pytest.param(  # one slot holds a state; a 32-byte program unit (STM32H7's flash word)
            SlotLayout(page_bytes=512, slot_pages=1, prog_unit=32), None, marks=pytest.mark.slow
        ),
    ],
    ids=["both_slots_valid_unit8", "one_slot_unit32"],
)
def test_power_cuts_inside_a_save_always_recover_a_complete_state(layout, prior):
    from firmware_sim.emulate_device import power_cut_campaign

    rng = np.random.default_rng(1)
    old = rng.integers(0, 256, layout.capacity - 40, dtype=np.uint8).tobytes()
    new = rng.integers(0, 256, layout.capacity - 7, dtype=np.uint8).tobytes()
    res = power_cut_campaign(layout, old, new, prior=prior, points=240)
    assert res.points >= 200 and res.torn == 0, [c for c in res.cuts if c[1] == "torn"][:5]
    assert res.old + res.new == res.points and res.old > 0 and res.new > 0
    assert res.hal_calls >= layout.slot_pages + 2  # erases, payload programs, header, magic
    # a cut before the last program call (the magic) never yields the new state
    last_magic = max(n for n, kind in res.cuts if kind == "old")
    assert all(kind == "new" for n, kind in res.cuts if n > last_magic)


@needs_emu
def test_power_cuts_during_the_first_save_fall_back_to_factory():
    from firmware_sim.emulate_device import power_cut_campaign

    res = power_cut_campaign(SlotLayout(page_bytes=128, slot_pages=2, prog_unit=8), b"", b"first" * 40, prior=None)
    assert res.points >= 200 and res.torn == 0 and res.old == 0
    assert res.factory > 0 and res.new > 0
