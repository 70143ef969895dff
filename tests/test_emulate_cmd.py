"""``edge-mesu emulate``: the device library of a pipeline state on an emulated Cortex-M4 over a CSV.

Bit-exact with the pipeline in Python at every window and in the final state; instructions per window by
part; memory measured beside the model; energy from the profile's datasheet currents. Bad options fail
before any work (these run without the toolchain).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run

from edge_mesu import SensorPipeline
from edge_mesu.data import make_sensor_stream
from edge_mesu.frontend import FrontEndSpec
from firmware_sim.device import load_device
from firmware_sim.energy import BATTERIES, window_energy

SPEC = FrontEndSpec(channels=3, window=32, hop=16, decimate=2, features=True, label_rule="majority")


def _emulator_reason() -> str | None:
    from firmware_sim.emulate import emulator_available

    return emulator_available()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("emu")
    s = make_sensor_stream(n_windows=200, seed=11)
    x, lab = np.array(s.samples), s.labels
    pipe = SensorPipeline.create(SPEC, s.class_names, fixed=True, hidden=(8,), seed=2, sample_rate_hz=50.0)
    pipe.process(x[:1500], lab[:1500], uncertainty="none")
    pipe.channel_names = ["ax", "ay", "az"]
    pipe.save(d / "pipe.emsu")
    with open(d / "rec.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ax", "ay", "az", "label"])
        for i, ((a, b, c), y) in enumerate(zip(x[1500:].tolist(), lab[1500:].tolist())):
            w.writerow([a, b, c, s.class_names[y] if (i // 200) % 2 == 0 else ""])  # labelled stretches
    return {"dir": d, "state": d / "pipe.emsu", "csv": d / "rec.csv"}


@pytest.mark.skipif(_emulator_reason() is not None, reason=f"Cortex-M4 emulation: {_emulator_reason()}")
def test_emulate_is_bit_exact_and_reports_parts_memory_and_energy(files, capsys) -> None:
    out = files["dir"] / "emu.json"
    argv = ["emulate", "--state", files["state"], "--csv", files["csv"], "--label", "label", "--max-windows", 80]
    assert run(*argv, "--save-every", 10, "--json", out) == 0
    text = capsys.readouterr().out
    assert "bit-exact with SensorPipeline: yes" in text and "years on CR2032" in text
    got = json.loads(out.read_text())
    assert got["bit_exact"] and got["windows"] == 80 and got["boot"] == 1
    ipw = got["instructions_per_window"]
    assert ipw["front_end"] > 0 and ipw["predict"] > 0 and ipw["learn"] > ipw["predict"] and ipw["save"] > 0
    assert ipw["uncertainty"] > 4 * ipw["predict"] and 0 < ipw["learned_fraction"] < 1 and ipw["saved_fraction"] > 0
    # the parts account for the total (the rest: the device loop, copies; learn measured apart from it)
    assert abs(ipw["loop_and_rest"]) < 0.05 * ipw["total"]
    m = got["memory"]["measured"]
    assert m["flash"] == m["text"] + m["data"] > 0 and m["ram"] == m["data"] + m["bss"] + m["device_struct"]
    # firmware_sim budgets those measurements when given them, and says which figures are measured
    assert run("simulate", "--state", files["state"], "--device", "stm32l4", "--measured", out, "--samples", 20) == 0
    sim = capsys.readouterr().out
    assert f"library (measured) {m['flash']:,}" in sim and f"library (measured) {m['ram']:,}" in sim
    assert f"predict {ipw['predict'] * 1.3:,.0f}, learn {ipw['learn'] * 1.3:,.0f}" in sim
    assert "latency instructions measured on an emulated cortex-m4" in sim and "state slots modelled" in sim
    assert run("simulate", "--state", files["state"], "--device", "stm32h7", "--measured", out) == 2
    assert "stm32h7 has a cortex-m7 core" in capsys.readouterr().err
    e, dev = got["energy"], load_device("stm32l4")
    assert e["window_s"] == pytest.approx(16 / 50.0)
    ref = window_energy(ipw["total"], dev, 16 / 50.0, 1.3)
    assert e["energy_uj"] == pytest.approx(ref.energy_uj) and e["battery_years"] == pytest.approx(
        BATTERIES["CR2032"] * 1e3 / ref.average_ua / (24 * 365.25)
    )


@pytest.mark.skipif(_emulator_reason() is not None, reason=f"Cortex-M4 emulation: {_emulator_reason()}")
def test_scoring_only_unlabelled_windows_is_bit_exact_and_cheaper(files, capsys) -> None:
    from firmware_sim.firmware_run import run_firmware

    argv = ["emulate", "--state", files["state"], "--csv", files["csv"], "--label", "label", "--max-windows", 30]
    out = files["dir"] / "emu_unlabelled.json"
    assert run(*argv, "--save-every", 0, "--uncertainty-windows", "unlabelled", "--json", out) == 0
    assert "on unlabelled windows" in capsys.readouterr().out
    got = json.loads(out.read_text())
    assert got["bit_exact"] and got["uncertainty_windows"] == "unlabelled"
    assert 0 < got["instructions_per_window"]["scored_fraction"] < 1
    pipe = SensorPipeline.load(files["state"])
    s = make_sensor_stream(n_windows=200, seed=11)
    x = np.array(s.samples)[1500:3000]
    codes = np.where((np.arange(len(x)) // 200) % 2 == 0, np.asarray(s.labels)[1500:3000], -1)
    runs = {
        m: run_firmware(pipe, x, codes, load_device("stm32l4"), 0, uncertainty_windows=m) for m in ("all", "unlabelled")
    }
    a, u = runs["all"], runs["unlabelled"]
    assert a.bit_exact and u.bit_exact
    labelled = np.array([r[2] >= 0 for r in u.rows])
    mi_u, mi_a = np.array([r[5] for r in u.rows]), np.array([r[5] for r in a.rows])
    assert 0 < labelled.sum() < len(labelled) and np.all(mi_a >= 0)
    assert np.all(mi_u[labelled] == -1) and np.array_equal(mi_u[~labelled], mi_a[~labelled])
    assert u.split["scored_fraction"] == pytest.approx(1 - labelled.mean()) and a.split["scored_fraction"] == 1.0
    assert u.per_window < a.per_window - 0.5 * labelled.mean() * a.split["uncertainty"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--device", "stm32h7"], "--device stm32h7: no emulator CPI for core 'cortex-m7'"),
        (["--device", "nosuch"], "unknown device 'nosuch'"),
        (["--battery", "AAA"], "--battery must be one of CR2032, CR2450, 2xAA or a capacity in mAh > 0, got 'AAA'"),
        (["--max-windows", "-1"], "--max-windows must be >= 0, got -1"),
        (["--save-every", "-2"], "--save-every must be >= 0, got -2"),
        (["--sensor-hz", "0"], "--sensor-hz must be > 0, got 0.0"),
        (["--freeze"], "--freeze does not apply"),
        (["--uncertainty-samples", "1"], "--uncertainty-samples must be 0 (none) or in [2, 32], got 1"),
        (["--novelty-threshold", "-1"], "--novelty-threshold must be in [0, 16) bits, got -1.0"),
    ],
)
def test_bad_options_fail_before_any_work(files, tmp_path, capsys, extra, message) -> None:
    argv = ["emulate", "--state", files["state"], "--csv", files["csv"], "--json", tmp_path / "o.json", *extra]
    assert run(*argv) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_emulate_refuses_a_bare_learner_and_a_missing_json_directory(files, tmp_path, capsys) -> None:
    from edge_mesu import FixedMESULearner

    bare = tmp_path / "bare.emsu"
    FixedMESULearner((12, 8, 3), seed=0).save(bare)
    if _emulator_reason() is None:
        assert run("emulate", "--state", bare, "--csv", files["csv"], "--channels", "ax,ay,az") == 2
        assert "holds a bare FixedMESULearner: emulate needs a sensor-pipeline state" in capsys.readouterr().err
    missing = tmp_path / "no" / "o.json"
    assert run("emulate", "--state", files["state"], "--csv", files["csv"], "--json", missing) == 2
    assert str(missing.parent) in capsys.readouterr().err


def test_window_energy_needs_power_figures_and_a_window_that_fits() -> None:
    l4 = load_device("stm32l4")
    with pytest.raises(ValueError, match="stm32h7 has no \\[power\\] section"):
        window_energy(1000, load_device("stm32h7"), 1.0, 1.3)
    with pytest.raises(ValueError, match="does not fit in a 1.0 ms window"):
        window_energy(1_000_000, l4, 0.001, 1.3)
    e = window_energy(0, l4, 2.0, 1.3)
    assert e.energy_uj == 0 and e.average_ua == pytest.approx(1.4)  # asleep the whole window


@pytest.mark.skipif(_emulator_reason() is not None, reason=f"Cortex-M4 emulation: {_emulator_reason()}")
def test_demo_ends_with_the_firmware_step(tmp_path) -> None:
    from edge_mesu_app.demo import run_demo

    lines: list[str] = []
    assert run_demo(windows=300, out_dir=tmp_path, write=lines.append, plot=False) == 0
    text = "\n".join(lines)
    assert "firmware [measured]:" in text and "bit-exact with the pipeline in Python at every window" in text
    assert "uJ per window" in text and "edge-mesu emulate --state my.emsu" in text


def test_measured_figures_are_checked_before_use(tmp_path) -> None:
    from firmware_sim.measured import Measured, load_measured

    run_json = {
        "bit_exact": True,
        "instructions_per_window": {"front_end": 10.0, "predict": 20.0, "learn": 30.0},
        "memory": {"measured": {"flash": 1000, "ram": 200}},
    }
    m = Measured.from_run(run_json, "r.json")
    assert (m.frontend, m.predict, m.learn, m.flash_bytes, m.ram_bytes) == (10.0, 20.0, 30.0, 1000, 200)
    with pytest.raises(ValueError, match="r.json: that firmware run was not bit-exact"):
        Measured.from_run({**run_json, "bit_exact": False}, "r.json")
    with pytest.raises(ValueError, match="r.json: not the JSON of 'edge-mesu emulate' \\(missing 'memory'\\)"):
        Measured.from_run({k: v for k, v in run_json.items() if k != "memory"}, "r.json")
    bad = {**run_json, "instructions_per_window": {"front_end": -1, "predict": 2, "learn": 3}}
    with pytest.raises(ValueError, match="frontend must be a number >= 0, got -1"):
        Measured.from_run(bad, "r.json")
    (tmp_path / "x.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="x.json: not the JSON of 'edge-mesu emulate'"):
        load_measured(tmp_path / "x.json")
    with pytest.raises(ValueError, match="cannot read"):
        load_measured(tmp_path / "missing.json")
