"""``edge-mesu export --firmware DIR``: the device library of a pipeline state continues Python's stream.

The library's factory state is the exported pipeline's (learner weights, front-end normaliser, partial
window): built with CMake on the host, its example fed the rest of the recording gives the windows,
predictions, learning steps and final flash state Python gives. Bad options fail before anything is written.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run

from edge_mesu import SensorPipeline, load_learner
from edge_mesu.data import make_sensor_stream
from edge_mesu.device.flash import SlotLayout, read_slots
from edge_mesu.device.host import find_compiler
from edge_mesu.frontend import FrontEndSpec
from edge_mesu.frontend.cblob import frontend_blob
from firmware_sim.firmware_run import python_rows

CMAKE = shutil.which("cmake")
SPEC = FrontEndSpec(channels=3, window=32, hop=16, decimate=2, features=True, label_rule="majority")
SAVE_EVERY = 25


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A fixed pipeline that learned the first part of a stream (stopped inside a window), saved."""
    d = tmp_path_factory.mktemp("fw")
    s = make_sensor_stream(n_windows=260, seed=7)
    x, lab = np.array(s.samples), s.labels.copy()
    lab[np.random.default_rng(2).random(lab.shape[0]) < 0.3] = -1
    pipe = SensorPipeline.create(SPEC, s.class_names, fixed=True, hidden=(16,), seed=1)
    cut = 120 * 32 + 11  # inside a window and a decimation block
    pipe.process(x[:cut], lab[:cut], uncertainty="none")
    pipe.save(d / "pipe.emsu")
    return {
        "dir": d,
        "state": d / "pipe.emsu",
        "x": x[cut:],
        "lab": lab[cut:],
        "n_classes": len(s.class_names),
        "cut": cut,
    }


def _reference(state: Path, x: np.ndarray, lab: np.ndarray, n_classes: int) -> tuple[list[tuple[int, ...]], bytes]:
    """The saved pipeline continuing in Python: ``(end, pred, label, learned, saved, mi_q16, novel)`` per
    window, final state."""
    pipe = load_learner(str(state))
    assert isinstance(pipe, SensorPipeline) and pipe.learner.n_classes == n_classes
    return python_rows(pipe, x, lab, SAVE_EVERY)


def test_export_firmware_writes_the_library_and_says_what_it_holds(exported, capsys) -> None:
    out_dir = exported["dir"] / "lib"
    argv = ["export", "--state", exported["state"], "--firmware", out_dir, "--firmware-name", "dev"]
    assert run(*argv, "--save-every", SAVE_EVERY) == 0
    text = capsys.readouterr().out
    for rel in ("src/dev.h", "src/dev.c", "src/dev_factory.h", "CMakeLists.txt", "library.json", "zephyr/module.yml"):
        assert (out_dir / rel).is_file(), rel
    assert "C99 device library" in text and "factory state" in text
    assert "mutual information over 8 weight samples" in text and ">= 0.125 bits" in text
    assert f"cmake -S {out_dir} -B build" in text and ".part" not in text  # the user's path, not the staging
    assert not [p for p in exported["dir"].iterdir() if p.name.startswith(".")]  # no staging left behind
    fe_bytes = len(frontend_blob(load_learner(str(exported["state"])).frontend, exported["n_classes"]))
    assert f"#define DEV_FACTORY_FE_BYTES {fe_bytes}" in (out_dir / "src/dev_factory.h").read_text()


needs_build = pytest.mark.skipif(CMAKE is None or find_compiler() is None, reason="cmake or a C compiler not found")


@pytest.fixture(scope="module")
def built(exported, tmp_path_factory) -> Path:
    """The exported library built with CMake on the host: its example's path."""
    d = tmp_path_factory.mktemp("built")
    out_dir = d / "lib"
    argv = ["export", "--state", exported["state"], "--firmware", out_dir, "--firmware-name", "dev"]
    assert run(*argv, "--save-every", SAVE_EVERY) == 0
    build = d / "build"
    for args in (["-S", str(out_dir), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release"], ["--build", str(build)]):
        res = subprocess.run([CMAKE, *args], capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return build / "dev_example"


def _feed(exe: Path, flash: Path, x: np.ndarray, lab: np.ndarray) -> tuple[str, list[tuple[int, ...]]]:
    feed = "".join(f"{a} {b} {c} {d}\n" for (a, b, c), d in zip(x.tolist(), lab.tolist()))
    res = subprocess.run([str(exe), str(flash)], input=feed, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    return lines[0], [tuple(int(v) for v in line.split()) for line in lines[1:-1]]


def _layout(state_bytes: int) -> SlotLayout:
    return SlotLayout(2048, -(-(max(32, 8) + state_bytes) // 2048), 8)


@needs_build
def test_exported_library_continues_the_pipeline_exactly(exported, built, tmp_path) -> None:
    x, lab = exported["x"], exported["lab"]
    flash = tmp_path / "flash.bin"
    boot, rows = _feed(built, flash, x, lab)
    assert boot == "boot 1"  # no saved state: the factory state, i.e. the exported pipeline
    ref_rows, ref_state = _reference(exported["state"], x, lab, exported["n_classes"])
    assert len(rows) == len(ref_rows) > 200 and sum(r[3] for r in rows) > 50
    assert rows == ref_rows  # first window ends where the saved partial window left off
    got = read_slots(flash.read_bytes(), _layout(len(ref_state)), _config_hash(built.parent.parent / "lib"))
    assert got.payload == ref_state


@needs_build
def test_both_slots_corrupt_boot_the_factory_state_and_bad_labels_are_not_learned(exported, built, tmp_path) -> None:
    x, lab = exported["x"][:3000], exported["lab"][:3000].copy()
    flash = tmp_path / "flash.bin"
    _, first = _feed(built, flash, x, lab)
    lay = _layout(len(_reference(exported["state"], x[:0], lab[:0], exported["n_classes"])[1]))
    image = bytearray(flash.read_bytes())
    for slot in range(2):  # one flipped byte in each slot's payload
        image[slot * lay.slot_pages * lay.page_bytes + 40] ^= 0x5A
    flash.write_bytes(bytes(image))
    boot, again = _feed(built, flash, x, lab)
    assert boot == "boot 1" and again == first  # neither slot loads: the factory state runs, and says so
    bad = lab.copy()
    bad[:1000] = np.where(bad[:1000] >= 0, exported["n_classes"] + 3, -1)  # labels beyond the classes
    _, rows = _feed(built, tmp_path / "fresh.bin", x, bad)
    ref_rows, _ = _reference(
        exported["state"], x, np.where(bad >= exported["n_classes"], -1, bad), exported["n_classes"]
    )
    inside = [r for r in rows if SPEC.window <= r[0] - exported["cut"] < 1000]  # windows wholly in the bad stretch
    assert rows == ref_rows and len(inside) > 50 and not any(r[3] for r in inside)  # never learned


def _config_hash(out_dir: Path) -> int:
    import re

    from edge_mesu.device.package import combined_config_hash

    net = int(re.search(r"EMSU_NET_CONFIG_HASH UINT32_C\((\d+)\)", (out_dir / "src/emsu_net.h").read_text()).group(1))
    fe = int(re.search(r"EMSU_FE_CONFIG_HASH UINT32_C\((\d+)\)", (out_dir / "src/emsu_fe.h").read_text()).group(1))
    return combined_config_hash(net, fe)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--flash-page", "1000"], "--flash-page must be a power of two >= 64 bytes, got 1000"),
        (["--flash-unit", "3"], "--flash-unit must divide --flash-page (2048), got 3"),
        (["--save-every", "-1"], "--save-every must be >= 0, got -1"),
        (["--firmware-name", "my-lib"], "--firmware-name must be a C identifier, got 'my-lib'"),
    ],
)
def test_bad_firmware_options_fail_before_any_work(exported, tmp_path, capsys, extra, message) -> None:
    out_dir = tmp_path / "lib"
    assert run("export", "--state", exported["state"], "--firmware", out_dir, *extra) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_firmware_refuses_a_bare_learner_and_a_non_empty_directory(exported, tmp_path, capsys) -> None:
    from edge_mesu import FixedMESULearner

    bare = tmp_path / "bare.emsu"
    FixedMESULearner((4, 8, 3), seed=0).save(bare)
    assert run("export", "--state", bare, "--firmware", tmp_path / "lib") == 2
    assert "--firmware needs a sensor-pipeline state" in capsys.readouterr().err
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    assert run("export", "--state", exported["state"], "--firmware", full) == 2
    assert f"--firmware {full}: exists and is not empty" in capsys.readouterr().err
    assert [p.name for p in full.iterdir()] == ["keep.txt"] and not (tmp_path / "lib").exists()
