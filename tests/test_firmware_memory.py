"""Memory map and planner: hand-computed totals for a small network, and the no-overlap property."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import firmware_sim as fs
from edge_mesu import Arithmetic, FrontEndDescription, MESULearner, NetworkDescription
from edge_mesu.frontend import FrontEndSpec
from edge_mesu.ops import FIXED_LRT_UPDATE_ALU, FIXED_UPDATE_ALU, operation_list, total_by_kind
from edge_mesu.pipeline import SensorPipeline

PROFILE = """
name = "toy"
cpu = "toy-core"
[memory]
flash_bytes = 100000
sram_bytes = 2000
stack_bytes = 1000
[core]
clock_hz = 1000000
simd = false
fpu = false
code_density = 1.0
[costs]
{costs}
[flash_write]
page_bytes = 64
erase_us_per_page = 100.0
program_us_per_byte = 1.0
endurance_cycles = 10000
"""


def ToyFixed() -> NetworkDescription:
    """A 4-3-2 fixed-point network without biases: 18 parameters, 3 bytes each (int8 data, int16 μ)."""
    return NetworkDescription(
        kind="ToyFixed",
        layers=(4, 3, 2),
        bias=False,
        train_samples=1,
        predict_samples=0,
        arithmetic=Arithmetic(
            False, input_bits=8, act_bits=8, weight_bits=16, mu_bits=16, sigma_bits=8, grad_bits=16, acc_bits=32
        ),
        n_params=18,
        state_nbytes=54,
        mean_params=(),
        posterior=(),
    )


@pytest.fixture
def toy_device(tmp_path):
    costs = "\n".join(f"{k} = 1.0" for k in fs.COST_KEYS)
    path = tmp_path / "toy.toml"
    path.write_text(PROFILE.format(costs=costs))
    return fs.load_device(path)


def test_learn_mode_totals_by_hand(toy_device):
    m = fs.memory_map(ToyFixed(), toy_device, "learn")
    # arena, traced by hand through the greedy planner (alignment 4);
    # steps: fwd 1, 2; softmax 3; bwd 4 (fc1), 5 (fc0)
    # fc0.acc 12 B [1,1] @0; delta1 12 B [4,5] @0; weight_row 8 B [1,2] @12; logits 8 B [2,3] @0;
    # input 4 B [0,5] @20; delta_out 4 B [3,4] @12; h1 3 B [1,4] @24  ->  arena 27 B
    assert m.plans["learn"].offsets() == {
        "fc0.acc": 0,
        "delta1": 0,
        "weight_row": 12,
        "logits": 0,
        "input": 20,
        "delta_out": 12,
        "h1": 24,
    }
    assert m.plans["learn"].arena_bytes == 27
    assert m.plans["predict"].arena_bytes == 19  # fc0.acc @0, logits @0, input @12, h1 @16
    assert m.ram == {"state": 54, "prng": 16, "arena": 27, "stack": 1000}
    assert m.ram_bytes == 1097
    # code 1024 + 768 + 320 + 1536 + 384 + 2 layers x 64 = 4160; tables 512 exp + 512 icdf + 512 sigma
    # + 1024 sigma^2 + 512 1/sigma = 3072; state image 2 slots x one 64-byte page = 128
    assert m.flash == {
        "code": 4160,
        "exp_table": 512,
        "gauss_icdf": 512,
        "sigma": 512,
        "sigma_sq": 1024,
        "inv_sigma": 512,
        "state_image": 128,
    }
    assert m.flash_bytes == 7360


def test_infer_mode_totals_by_hand(toy_device):
    m = fs.memory_map(ToyFixed(), toy_device, "infer")
    # code 512 + 768 + 384 + 2 x 64; int8 weights 4*3 + 3*2; quant params 8 B per output channel (3 + 2)
    assert m.flash == {"code": 1792, "exp_table": 512, "weights": 18, "quant_params": 40}
    # TFLM arena (firmware_sim.memory.TFLM_ARENA_BYTES): head = int8 input/h1/logits/probs, 16 B each,
    # planned into 32 B; tail = 896 + 24 x 8 tensors + 64 x 3 ops + 112 x 2 FC + 2 x 16 + 2 x 16 = 1568;
    # prepare = max(232 + 8 x 3, 37 x 8) = 296; arena = 1568 + max(32, 296) = 1864 (TFLM measured: 1864)
    assert m.ram == {"arena": 1864, "stack": 1000}
    assert m.tflm["estimated"] == {"head": 32, "tail": 1568, "prepare": 296, "required": 1864}


def test_float_learner_state_and_arena_are_float32():
    dev = fs.load_device("stm32l4")
    learner = MESULearner((4, 3, 2), bias=False)
    m = fs.memory_map(learner, dev, "learn")
    assert m.ram["state"] == 18 * 2 * 4
    sizes = {p.buffer.name: p.buffer.size for p in m.plans["learn"].placements}
    assert sizes["input"] == 16 and sizes["h1"] == 12 and sizes["weight_row"] == 16


def test_frontend_is_counted_when_attached(toy_device):
    learner = ToyFixed().with_frontend(
        FrontEndDescription(
            FrontEndSpec(channels=3, window=32), ram_bytes=300, cycles_per_window=1234.0, state_nbytes=0
        )
    )
    assert fs.memory_map(learner, toy_device, "learn").ram["frontend"] == 300
    lat = fs.step_latency(learner, toy_device, "learn")
    assert lat["frontend_cycles"] == 1234.0
    assert lat["cycles"] == pytest.approx(sum(p.cycles for p in lat["passes"].values()) + 1234.0)


def test_learn_op_counts():
    totals = total_by_kind(operation_list(ToyFixed(), "learn"))
    # format 2: eps drawn, eps regenerated (its low bits round the σ code), one more draw rounds μ
    assert totals["prng"] == 3 * 18
    assert totals["mac8x16"] == 18  # forward dot products
    infer = total_by_kind(operation_list(ToyFixed(), "infer"))
    assert infer["mac8x8"] == 18 and "prng" not in infer
    float_kinds = set(total_by_kind(operation_list(MESULearner((4, 3, 2)).describe(), "learn")))
    assert not float_kinds & {"mac8x16", "mul", "exp", "div"} and "fmac" in float_kinds


def test_lrt_learn_op_counts():
    """Local reparameterisation: one draw per output in the forward pass and the two rounding draws per
    parameter in the update (no weight sample), and a second dot product (the variance)."""
    import dataclasses

    totals = total_by_kind(operation_list(dataclasses.replace(ToyFixed(), sampling="lrt"), "learn"))
    assert totals["prng"] == 2 * 18 + (3 + 2)  # 4-3-2: 5 outputs
    assert totals["mac8x16"] == 18 and totals["mac16x16"] == 18  # m = a·μ and s² = a²·σ²
    assert totals["div"] >= 2 * (3 + 2)  # √s² and u = δ·ε/s per output
    weights = total_by_kind(operation_list(ToyFixed(), "learn"))
    assert weights.get("mac16x16", 0) == 0
    # the update's calibrated ALU count is its own kind (a per-core cost); weight sampling's stays "alu"
    assert totals["alu_update_lrt"] == FIXED_LRT_UPDATE_ALU * 18 and "alu_update_lrt" not in weights
    assert weights["alu"] >= FIXED_UPDATE_ALU * 18


def test_lrt_update_is_priced_at_the_profiles_own_cost(tmp_path):
    """A profile's ``alu_update_lrt`` prices the LRT update's ALU work (default: ``alu``); weight sampling's
    learn and the predict pass do not read it."""
    import dataclasses

    lrt = dataclasses.replace(ToyFixed(), sampling="lrt")
    costs = "\n".join(f"{k} = 1.0" for k in fs.COST_KEYS if k != "alu_update_lrt")
    path = tmp_path / "base.toml"
    path.write_text(PROFILE.format(costs=costs))
    base = fs.load_device(path)
    path.write_text(PROFILE.format(costs=costs + "\nalu_update_lrt = 3.0"))
    own = fs.load_device(path)
    assert base.costs["alu_update_lrt"] == 1.0 and fs.cost_of("alu_update_lrt", own) == 3.0
    diff = fs.estimate_latency(lrt, own, "learn").cycles - fs.estimate_latency(lrt, base, "learn").cycles
    assert diff == pytest.approx(2.0 * FIXED_LRT_UPDATE_ALU * 18)
    for desc, mode in ((ToyFixed(), "learn"), (lrt, "predict")):
        assert fs.estimate_latency(desc, own, mode).cycles == fs.estimate_latency(desc, base, mode).cycles


def test_mode_is_checked(toy_device):
    with pytest.raises(ValueError, match="mode"):
        fs.memory_map(ToyFixed(), toy_device, "train")
    with pytest.raises(ValueError, match="mode"):
        operation_list(ToyFixed(), "train")


_buffers = st.lists(st.tuples(st.integers(0, 300), st.integers(0, 30), st.integers(0, 12)), min_size=0, max_size=25)


@settings(max_examples=200, deadline=None)
@given(_buffers, st.sampled_from([1, 4, 8, 16]))
def test_planner_never_overlaps_live_buffers(specs, alignment):
    bufs = [fs.Buffer(f"b{i}", size, first, first + span) for i, (size, first, span) in enumerate(specs)]
    plan = fs.plan_memory(bufs, alignment)
    placed = plan.placements
    assert len(placed) == len(bufs)
    for p in placed:
        assert p.offset % alignment == 0 and p.end <= plan.arena_bytes
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            if a.buffer.lives_with(b.buffer) and a.buffer.size and b.buffer.size:
                assert a.end <= b.offset or b.end <= a.offset, (a, b)
    assert plan.arena_bytes == max((p.end for p in placed), default=0)
    peak = max((sum(b.size for b in bufs if b.first_use <= t <= b.last_use) for t in range(45)), default=0)
    assert peak <= plan.arena_bytes <= sum(-(-b.size // alignment) * alignment for b in bufs)


def test_planner_rejects_bad_buffers():
    with pytest.raises(ValueError, match="last_use"):
        fs.Buffer("x", 4, 3, 2)
    with pytest.raises(ValueError, match="size"):
        fs.Buffer("x", -1, 0, 0)
    with pytest.raises(ValueError, match="unique"):
        fs.plan_memory([fs.Buffer("x", 1, 0, 0), fs.Buffer("x", 1, 0, 0)])


@pytest.mark.parametrize("layers", [(784, 50, 10), (96, 32, 5), (4, 3, 2), (10, 8, 6, 3)])
def test_c_arena_and_firmware_sim_arena_are_one_figure(layers):
    """The generated C lays out its arena from the learner's buffer list; firmware_sim budgets that list."""
    from edge_mesu import FixedMESULearner
    from edge_mesu.fixed.cgen import generate_c

    learner = FixedMESULearner(layers, seed=0)
    macros = generate_c(learner, name="net").macros
    m = fs.memory_map(learner, fs.load_device("stm32l4"), "learn")
    assert m.ram["arena"] == macros["NET_ARENA_BYTES"]
    offsets = m.plans["learn"].offsets()
    assert {k: macros[f"NET_OFF_{k.upper()}"] for k in offsets} == offsets


ARM_GCC = shutil.which("arm-none-eabi-gcc")


@pytest.mark.skipif(ARM_GCC is None, reason="arm-none-eabi-gcc not found: cannot compile the device library")
@pytest.mark.parametrize(
    "hidden, fe",
    [
        ((32,), {"channels": 3, "window": 32, "decimate": 2, "features": True}),
        ((16, 16), {"channels": 2, "window": 40}),
    ],
)
def test_device_library_memory_model_within_10_percent_of_the_compiled_library(tmp_path, hidden, fe):
    """Flash (code + read-only + initialised data of every object) and RAM (initialised data + the device
    struct) of the library compiled for a Cortex-M4, against memory_map's figures without stack and slots."""
    from edge_mesu.device.package import pipeline_sources, write_library
    from firmware_sim.emulate import ARM_FLAGS

    pipe = SensorPipeline.create(FrontEndSpec(**fe), ["a", "b", "c", "d"], hidden=hidden, seed=0)
    sources, fe_state = pipeline_sources(pipe)
    src = write_library(tmp_path / "lib", sources, name="emsu_dev", frontend_state=fe_state).root / "src"
    (src / "probe.c").write_text('#include "emsu_dev.h"\nemsu_dev_t probe_dev;\n', encoding="utf-8")
    flash = data = 0
    for c in sorted(src.glob("*.c")):
        subprocess.run([ARM_GCC, *ARM_FLAGS, "-c", c.name, "-o", f"{c.stem}.o"], cwd=src, check=True)
        text, dat, _ = (
            int(v)
            for v in subprocess.run(
                [ARM_GCC.replace("gcc", "size"), f"{c.stem}.o"], cwd=src, capture_output=True, text=True, check=True
            )
            .stdout.splitlines()[1]
            .split()[:3]
        )
        if c.stem != "probe":
            flash, data = flash + text + dat, data + dat
    nm = subprocess.run([ARM_GCC.replace("gcc", "nm"), "-S", "probe.o"], cwd=src, capture_output=True, text=True)
    struct_bytes = int(next(line.split()[1] for line in nm.stdout.splitlines() if line.endswith(" probe_dev")), 16)
    m = fs.memory_map(pipe, fs.load_device("stm32l4"), "learn")
    model_flash = m.flash_bytes - m.flash["state_image"]
    model_ram = m.ram_bytes - m.ram["stack"]
    assert abs(model_flash / flash - 1) < 0.10, (model_flash, flash, m.flash)
    assert abs(model_ram / (data + struct_bytes) - 1) < 0.10, (model_ram, data, struct_bytes, m.ram)
