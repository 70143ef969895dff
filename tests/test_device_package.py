"""The packaged device library (edge_mesu/device/package.py): builds with CMake on the host and for a
Cortex-M4 with -Wall -Wextra -Werror, and its example — front end -> predict -> learn -> periodic crash-safe
save, restarted in the middle of a window — gives Python's windows, predictions and final state exactly.
Skipped, naming the missing tool, without cmake, a C compiler or arm-none-eabi-gcc.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from edge_mesu.data import make_sensor_stream
from edge_mesu.device.flash import SlotLayout, read_slots
from edge_mesu.device.host import find_compiler
from edge_mesu.device.package import (
    NOVELTY_THRESHOLD_BITS,
    combined_config_hash,
    detect_prefixes,
    novelty_q16,
    write_library,
)
from edge_mesu.fixed import FixedMESULearner
from edge_mesu.fixed.cblob import state_blob
from edge_mesu.fixed.cgen import generate_c
from edge_mesu.frontend import FrontEnd, FrontEndSpec
from edge_mesu.frontend.cblob import frontend_blob
from edge_mesu.frontend.cgen import frontend_config_hash, generate_frontend_c

CMAKE = shutil.which("cmake")
needs_host = pytest.mark.skipif(
    CMAKE is None or find_compiler() is None, reason="cmake or a C compiler (cc, gcc, clang) not found"
)
needs_arm = pytest.mark.skipif(
    CMAKE is None or shutil.which("arm-none-eabi-gcc") is None, reason="cmake or arm-none-eabi-gcc not found"
)
SPEC = FrontEndSpec(channels=3, window=32, hop=16, decimate=2, features=True, label_rule="majority")
N_CLASSES = 5
SAVE_EVERY = 40


def _learner() -> FixedMESULearner:
    return FixedMESULearner((SPEC.n_outputs, 16, N_CLASSES), seed=3, input_frac=SPEC.out_frac)


def _sources() -> dict[str, str]:
    return {
        **generate_c(_learner(), name="net").files,
        **generate_frontend_c(SPEC, name="imu_fe", n_classes=N_CLASSES).files,
    }


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("lib") / "emsu_dev"
    return write_library(root, _sources(), name="emsu_dev", save_every=SAVE_EVERY)


def _cmake(args: list[str], cwd) -> None:
    res = subprocess.run([CMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]


def test_library_tree_and_manifests(library):
    root = library.root
    assert library.learner == "net" and library.frontend == "imu_fe"
    for rel in (
        "src/emsu_dev.h",
        "src/emsu_dev_learner.h",
        "src/emsu_slots.c",
        "src/net_model.h",
        "CMakeLists.txt",
        "cmake/arm-none-eabi.cmake",
        "library.json",
        "library.properties",
        "zephyr/module.yml",
        "zephyr/CMakeLists.txt",
        "zephyr/Kconfig",
        "examples/host/main.c",
        "README.md",
    ):
        assert (root / rel).is_file(), rel
    manifest = json.loads((root / "library.json").read_text())
    assert manifest["name"] == "emsu_dev" and manifest["build"]["srcDir"] == "src"
    props = dict(line.split("=", 1) for line in (root / "library.properties").read_text().splitlines())
    assert props["includes"] == "emsu_dev.h" and props["category"] == "Data Processing"
    assert "cmake: zephyr" in (root / "zephyr/module.yml").read_text()
    assert "CONFIG_EMSU_DEV" in (root / "zephyr/CMakeLists.txt").read_text()
    # the learner's generated API is named in one file only (besides its own sources)
    own = {"net.c", "net.h", "net_model.h", "emsu_dev_learner.h"}
    for path in [*(root / "src").iterdir(), root / "examples/host/main.c"]:
        if path.name not in own:
            assert not re.search(r"\bnet_\w+|\bNET_\w+", path.read_text()), f"{path.name} names the learner's API"
    learner_hash = int(re.search(r"NET_CONFIG_HASH UINT32_C\((\d+)\)", (root / "src/net.h").read_text()).group(1))
    assert library.config_hash == combined_config_hash(learner_hash, frontend_config_hash(SPEC, N_CLASSES))
    with pytest.raises(ValueError, match="not empty"):
        write_library(root, _sources())
    with pytest.raises(ValueError, match="learner header"):
        detect_prefixes({"a.h": "int x;"})


def test_uncertainty_options(tmp_path):
    """No uncertainty step (k = 0: MI -1, never novel) compiles; a bad k or threshold is refused by name."""
    for bad, match in (({"uncertainty_samples": 1}, "got 1"), ({"novelty_threshold": -0.1}, "got -0.1")):
        with pytest.raises(ValueError, match=match):
            write_library(tmp_path / "bad", _sources(), **bad)
    lib = write_library(tmp_path / "none", _sources(), uncertainty_samples=0, novelty_threshold=0.125)
    assert (lib.uncertainty_samples, lib.novelty_q16) == (0, 8192)
    header = (lib.root / "src" / f"{lib.name}.h").read_text()
    assert f"#define {lib.name.upper()}_UNCERTAINTY_SAMPLES 0u" in header
    cc = find_compiler()
    if cc is not None:
        src = lib.root / "src"
        for c in sorted(src.glob("*.c")):
            cmd = [cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-c", str(c), "-o", str(tmp_path / "o.o")]
            res = subprocess.run(cmd, cwd=src, capture_output=True, text=True)
            assert res.returncode == 0, res.stderr


def _stream() -> tuple[np.ndarray, np.ndarray]:
    s = make_sensor_stream(n_windows=300, seed=4)
    labels = s.labels.copy()
    labels[np.random.default_rng(1).random(labels.shape[0]) < 0.3] = -1
    labels[3000:4500] = -1  # a stretch with no labels at all: windows predicted, not learned
    return np.array(s.samples), labels


def _text(x: np.ndarray, lab: np.ndarray) -> str:
    return "".join(f"{a} {b} {c} {d}\n" for (a, b, c), d in zip(x.tolist(), lab.tolist()))


def _reference(x: np.ndarray, lab: np.ndarray, cut: int) -> tuple[list[tuple[int, ...]], bytes]:
    """Python's windows ``(end, pred, label, learned, saved, mi_q16, novel)`` and final state, the example's
    save rule included (every SAVE_EVERY learned windows, and at the end of each run); the MI over 8 weight
    samples before learning, the flag at the default threshold."""
    fe, learner = FrontEnd(SPEC), _learner()
    rows, since = [], 0
    threshold = novelty_q16(NOVELTY_THRESHOLD_BITS)
    for lo, hi in ((0, cut), (cut, x.shape[0])):
        out = fe.push(x[lo:hi], lab[lo:hi])
        for v, label, end in zip(out.values, out.labels, out.end):
            pred = int(np.argmax(learner.predict_q15(fe.to_float(v[None]))[0]))
            mi = int(learner.uncertainty_int_q(v[None], 8).mi[0])
            learned = int(0 <= label < N_CLASSES)
            if learned:
                learner.learn_one_q(v, int(label))
                since += 1
            saved = int(since >= SAVE_EVERY)
            since = 0 if saved else since
            rows.append((int(end), pred, int(label), learned, saved, mi, int(mi >= threshold)))
        since = 0  # the example saves at the end of its input
    return rows, state_blob(learner) + frontend_blob(fe, N_CLASSES)


@needs_host
def test_host_cmake_build_and_example_resumes_exactly(library, tmp_path):
    build = tmp_path / "build"
    _cmake(["-S", str(library.root), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release"], tmp_path)
    _cmake(["--build", str(build)], tmp_path)
    exe = build / "emsu_dev_example"
    assert exe.is_file() and (build / "libemsu_dev.a").is_file()
    x, lab = _stream()
    cut = 150 * 32 + 9  # the device is switched off inside a window (and inside a decimation block)
    flash = tmp_path / "flash.bin"
    rows, boots = [], []
    for lo, hi in ((0, cut), (cut, x.shape[0])):
        res = subprocess.run(
            [str(exe), str(flash)], input=_text(x[lo:hi], lab[lo:hi]), capture_output=True, text=True, timeout=300
        )
        assert res.returncode == 0, res.stderr
        lines = res.stdout.splitlines()
        boots.append(lines[0])
        rows += [tuple(int(v) for v in line.split()) for line in lines[1:-1]]
        assert lines[-1].startswith("saves ")
    assert boots == ["boot 1", "boot 0"]  # factory first, then the state saved by the first run
    ref_rows, ref_state = _reference(x, lab, cut)
    assert len(rows) == len(ref_rows) > 500
    assert 0 < sum(r[3] for r in rows) < len(rows) and sum(r[4] for r in rows) >= 10  # learned, saved
    assert rows == ref_rows
    assert 0 < sum(r[6] for r in rows) < len(rows) and all(r[5] >= 0 for r in rows)  # some windows flagged novel
    lay = SlotLayout(library.page_bytes, library.slot_pages, library.prog_unit)
    image = flash.read_bytes()
    assert len(image) == lay.total_bytes
    got = read_slots(image, lay, library.config_hash)
    assert not got.factory and got.payload == ref_state and len(got.payload) == library.state_bytes


@needs_arm
def test_cortex_m4_cmake_build(library, tmp_path):
    build = tmp_path / "build-arm"
    toolchain = library.root / "cmake" / "arm-none-eabi.cmake"
    _cmake(["-S", str(library.root), "-B", str(build), f"-DCMAKE_TOOLCHAIN_FILE={toolchain}"], tmp_path)
    _cmake(["--build", str(build)], tmp_path)
    assert (build / "libemsu_dev.a").is_file() and (build / "emsu_dev_example").is_file()
    head = (build / "emsu_dev_example").read_bytes()[:20]
    assert head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == 40  # EM_ARM


def _emu_reason() -> str | None:
    from firmware_sim.emulate import emulator_available

    return emulator_available()


@pytest.mark.slow
@pytest.mark.skipif(_emu_reason() is not None, reason=f"Cortex-M4 emulation: {_emu_reason()}")
def test_device_loop_on_cortex_m4_equals_python_and_survives_power_cuts_in_its_saves(library):
    """The whole packaged library on an emulated M4: windows, predictions, learning and saves as in Python;
    the power cut inside the first two periodic saves (40 instants each) always leaves a loadable state."""
    from firmware_sim.emulate_device import emulate_library

    x, lab = _stream()
    n = 120 * 32
    x, lab = x[:n], lab[:n]
    ref_rows, ref_state = _reference(x, lab, n)
    saves_at = tuple(r[0] for r in ref_rows if r[4])[:2]  # raw samples whose push saves
    lay = SlotLayout(library.page_bytes, library.slot_pages, library.prog_unit)
    res = emulate_library(
        library.root, "emsu_dev", 3, N_CLASSES, lay, library.config_hash, x, lab, SAVE_EVERY, cut_at=saves_at
    )
    assert res.boot == 1 and res.rows == ref_rows
    # after the last periodic save the flash holds the state Python had at that window
    assert read_slots(res.flash, lay, library.config_hash).seq == sum(r[4] for r in ref_rows)
    assert len(res.cuts) >= 78 and res.torn == 0
    kinds = {k for _, _, k in res.cuts}
    assert kinds <= {"factory", "old", "new"} and {"old", "new"} <= kinds and "factory" in kinds
