"""A newcomer's first hour (issue 16): the CLI paths after the demo, and every bad input refused up front.

Each bad input exits 2 with a message naming the problem and the user's path; nothing is half-written (no
new file, no temporary left behind) and an existing state file is untouched, byte for byte.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import numpy as np
import pytest

from edge_mesu import FixedMESULearner, MESULearner, SensorPipeline
from edge_mesu.data import make_sensor_stream
from edge_mesu.frontend import FrontEndSpec
from edge_mesu.statefile import load_state

RATE = 50  # Hz: the recording's sensor rate


def run(*argv: object) -> int:
    from edge_mesu_app.cli import main

    return main([str(a) for a in argv])


def write_csv(path: Path, samples: np.ndarray, labels: list[str], columns: str = "ax,ay,az") -> Path:
    lines = [f"t,{columns},label"] + [
        f"{i / RATE:.2f},{a},{b},{c},{n}" for i, ((a, b, c), n) in enumerate(zip(samples.tolist(), labels))
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 50 Hz recording and what 'learn' makes of it: a fixed-point pipeline (window 100, hop 50, the rate
    recorded) and a float one (no rate); a second recording with other column names."""
    d = tmp_path_factory.mktemp("made")
    s = make_sensor_stream(n_windows=40, window=50, seed=1)
    names = list(np.array(s.class_names, dtype=object)[s.labels])
    csv = write_csv(d / "rec.csv", s.samples, names)
    other = write_csv(d / "gyro.csv", s.samples[:730], names[:730], columns="gx,gy,gz")
    common = ["--csv", csv, "--channels", "ax,ay,az", "--label", "label", "--window", 100, "--hop", 50]
    assert run("learn", *common, "--sensor-hz", RATE, "--fixed", "--hidden", 8, "--state", d / "fixed.emsu") == 0
    assert run("learn", *common, "--hidden", 8, "--state", d / "float.emsu") == 0
    MESULearner((8, 4, 2), seed=0).save(d / "bare.emsu")
    return {"dir": d, "csv": csv, "gyro": other, "fixed": d / "fixed.emsu", "float": d / "float.emsu"} | {
        "bare": d / "bare.emsu"
    }


@pytest.fixture
def state(made: dict[str, Path], tmp_path: Path) -> Path:
    """A copy of the fixed pipeline state in this test's directory (to check it is left untouched)."""
    return Path(shutil.copy(made["fixed"], tmp_path / "mine.emsu"))


# -- 1. export --c of the states the CLI makes ------------------------------------------------------------------
def test_export_c_of_a_pipeline_state_exports_its_learner(
    made: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert run("export", "--state", made["fixed"], "--c", tmp_path / "c", "--c-name", "dev") == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["dev.c", "dev.h", "dev_model.h"]
    assert "arena_bytes" in out and "x        int8     300" in out
    assert "The front end is not part of these artefacts" in out and "--firmware DIR" in out
    assert "window 100, hop 50" in out


def test_quant_report_of_a_pipeline_state_reports_its_learner(made: dict[str, Path], capsys) -> None:
    argv = ["quant-report", "--state", made["fixed"], "--eval-samples", 100, "--calibration-samples", 50]
    assert run(*argv) == 0
    assert "tflite-int8" in capsys.readouterr().out


def test_export_c_of_a_float_state_names_the_fix(made: dict[str, Path], tmp_path: Path, capsys) -> None:
    assert run("export", "--state", made["float"], "--c", tmp_path / "c") == 2
    err = capsys.readouterr().err
    assert "needs a fixed-point learner" in err and "learn --fixed" in err and "SensorPipeline" not in err
    assert not (tmp_path / "c").exists()


# -- 2. simulate: the window rate of a pipeline state, derived -----------------------------------------------------
def test_simulate_derives_the_window_rate_from_the_state(made: dict[str, Path], capsys) -> None:
    base = ["simulate", "--state", made["fixed"], "--device", "stm32l4", "--samples", 30]
    assert run(*base) == 0
    out = capsys.readouterr().out
    assert "rate: 1 windows/s = sensor 50 Hz (recorded in the state) / hop 50 samples" in out
    assert "ok (utilisation" in out and "@ 1 Hz" in out
    assert run(*base, "--sensor-hz", 200) == 0
    assert "rate: 4 windows/s = sensor 200 Hz (--sensor-hz) / hop 50 samples" in capsys.readouterr().out
    assert run(*base, "--window-rate", 3) == 0
    assert "rate: 3 windows/s = given with --window-rate" in capsys.readouterr().out


def test_simulate_bare_learner_takes_the_window_rate(made: dict[str, Path], tmp_path: Path, capsys) -> None:
    base = ["simulate", "--state", made["bare"], "--device", "stm32l4", "--samples", 20]
    assert run(*base, "--window-rate", 10, "--json", tmp_path / "r.json") == 0
    assert json.loads((tmp_path / "r.json").read_text())["rate_derivation"] == "given with --window-rate"
    assert run(*base, "--rate", 10) == 0  # the old spelling still works for a bare learner, with a warning
    assert "--rate is deprecated" in capsys.readouterr().err


def test_old_pipeline_states_load_and_new_ones_record_the_rate(made: dict[str, Path]) -> None:
    assert load_state(made["fixed"])[1]["sample_rate_hz"] == RATE
    assert "sample_rate_hz" not in load_state(made["float"])[1]  # written only when known: old files unchanged
    pipe = SensorPipeline.load(made["float"])
    assert pipe.sample_rate_hz is None and pipe.window_rate_hz is None
    assert SensorPipeline.load(made["fixed"]).window_rate_hz == 1.0


# -- 3. outputs checked before the work; all-or-nothing export ------------------------------------------------
def test_multi_target_export_is_all_or_nothing(
    made: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import export

    (tmp_path / "a.onnx").write_bytes(b"old")

    def broken(learner, path, **kw):
        raise ValueError(f"cannot finish {path}")

    monkeypatch.setattr(export, "to_tflite_int8", broken)
    argv = ["export", "--state", made["fixed"], "--onnx", tmp_path / "a.onnx", "--onnx-int8", tmp_path / "b.onnx"]
    assert run(*argv, "--tflite", tmp_path / "c.tflite", "--c", tmp_path / "c", "--calibration-samples", 50) == 2
    err = capsys.readouterr().err
    assert f"cannot finish {tmp_path / 'c.tflite'}" in err and ".part" not in err and "nothing was written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx"] and (tmp_path / "a.onnx").read_bytes() == b"old"


def test_artefacts_respect_the_umask(made: dict[str, Path], tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        argv = ["export", "--state", made["fixed"], "--onnx", tmp_path / "m.onnx", "--tflite", tmp_path / "m.tflite"]
        assert run(*argv, "--c", tmp_path / "c", "--c-no-emulate", "--calibration-samples", 50) == 0
        assert run("simulate", "--state", made["fixed"], "--device", "stm32l4", "--json", tmp_path / "r.json") == 0
        learn = ["learn", "--csv", made["csv"], "--label", "label", "--state", tmp_path / "s.emsu", "--window", 100]
        assert run(*learn, "--channels", "ax,ay,az", "--json", tmp_path / "l.json", "--quiet") == 0
        files = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert len(files) == 8
        assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {"0o644"}, files
        assert stat.S_IMODE((tmp_path / "c").stat().st_mode) == 0o755
    finally:
        os.umask(old)


# -- 5. states to inspect and reuse ----------------------------------------------------------------------------------
def test_info_describes_a_pipeline_state(made: dict[str, Path], capsys) -> None:
    assert run("info", made["fixed"]) == 0
    out = capsys.readouterr().out
    for expected in (
        "SensorPipeline state",
        "FixedMESULearner 300-8-5",
        "input Q2.5 (int8)",
        "channels:    ax, ay, az",
        "window 100, hop 50",
        "sample rate: 50 Hz -> 1 windows/s",
        "classes:     cycle, rest, run, tremor, walk",
        "step 39",
        "saturation:  front end",
    ):
        assert expected in out, expected
    assert run("info", made["fixed"], "--json") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "SensorPipeline" and info["layers"] == [300, 8, 5] and info["bytes"] > 0


def _predict(made: dict[str, Path], tmp_path: Path, *extra: object) -> dict:
    out = tmp_path / "p.json"
    assert run("predict", "--csv", made["gyro"], "--state", made["fixed"], "--json", out, *extra) == 0
    return json.loads(out.read_text())


def test_predict_starts_a_new_recording_and_maps_channels(made: dict[str, Path], tmp_path: Path, capsys) -> None:
    state_bytes = made["fixed"].read_bytes()
    fresh = _predict(made, tmp_path, "--channels", "gx,gy,gz", "--label", "label")
    captured = capsys.readouterr()
    assert "the file's gx, gy, gz are read as the state's ax, ay, az" in captured.err
    assert fresh["predictions"][0]["end_row"] == 99  # the first window is this file's first 100 samples
    assert fresh["windows"] == (730 - 100) // 50 + 1 and fresh["new_recording"] is True
    assert f"accuracy {100 * fresh['accuracy']:.1f}% over {fresh['labelled']} labelled" in captured.err
    resumed = _predict(made, tmp_path, "--channels", "gx,gy,gz", "--continue")  # the state's last 100 samples
    assert resumed["predictions"][0]["end_row"] == 49 and resumed["new_recording"] is False  # + 50 of this file
    assert made["fixed"].read_bytes() == state_bytes  # predict only reads the state


# -- 6. bad input: exit 2, the problem and the user's path named, nothing written, the state untouched --------------
def _unwritable_dir(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        d = tmp_path / "ro"
        d.mkdir()
        d.chmod(0o500)
        return d
    for candidate in ("/sys", "/proc/sys"):
        try:
            fd, name = tempfile.mkstemp(dir=candidate)
        except OSError:
            return Path(candidate)
        os.close(fd)
        os.unlink(name)
    pytest.skip("no directory this user cannot write")


BAD = [
    # learn: every output checked before the recording is read
    (
        "learn --csv {csv} --channels ax,ay,az --label label --window 100 --state {tmp}/nodir/s.emsu",
        "{tmp}/nodir/s.emsu",
    ),
    ("learn --csv {csv} --label label --state {state} --json {tmp}/nodir/o.json", "{tmp}/nodir/o.json"),
    ("learn --csv {csv} --label label --state {state} --plot {state}/p.png", "is not a directory"),
    ("learn --csv {csv} --label label --state {state} --json {ro}/o.json", "cannot write in directory {ro}"),
    ("learn --csv {csv} --label label --state {state} --json {state}", "name the same file"),
    ("learn --csv {csv} --label label --state {state} --report-every 0", "--report-every must be >= 1"),
    ("learn --csv {csv} --label label --state {state} --sensor-hz 0", "--sensor-hz must be a finite number > 0"),
    ("learn --csv {csv} --label label --state {state} --sensor-hz 20", "disagrees with the state's sensor rate"),
    ("learn --csv {gyro} --label label --state {state}", "pass --channels COL1,...,COL3"),
    ("learn --csv {csv} --label label --state {state} --channels ax,ay", "names 2 column(s) (ax, ay)"),
    # demo: device and output directory before the stream is learned
    ("demo --device foo --out {tmp}/demo", "unknown device 'foo'"),
    ("demo --out {state}", "--out {state}: exists and is not a directory"),
    ("demo --out {ro}/demo", "cannot write in directory {ro}"),
    ("demo --windows 10 --out {tmp}/demo", "--windows must be >= 100"),
    # export: all outputs checked, then all written or none
    ("export --state {state} --onnx {tmp}/a.onnx --tflite {tmp}/b.tflite --c {ro}/c", "--c {ro}/c"),
    ("export --state {state} --tflite {tmp}/b.tflite --onnx {tmp}/nodir/a.onnx", "{tmp}/nodir/a.onnx"),
    ("export --state {state} --onnx {tmp}/a.onnx --tflite {tmp}/a.onnx", "name the same file"),
    ("export --state {state} --onnx {tmp}", "is a directory, not a file"),
    ("export --state {float} --c {tmp}/c", "needs a fixed-point learner"),
    ("export --state {state} --onnx {tmp}/a.onnx --check tflm", "--check tflm needs --tflite"),
    ("export --state {tmp}/missing.emsu --onnx {tmp}/a.onnx", "{tmp}/missing.emsu"),
    ("quant-report --state {state} --json {tmp}/nodir/q.json", "{tmp}/nodir/q.json"),
    # simulate: the rate, the outputs
    ("simulate --state {state} --device stm32l4 --rate 50", "--rate is ambiguous for a pipeline state"),
    ("simulate --state {float} --device stm32l4", "does not record its sensor's rate: give --sensor-hz"),
    ("simulate --state {bare} --device stm32l4 --sensor-hz 50", "needs a pipeline state"),
    ("simulate --state {bare} --device stm32l4", "give --window-rate"),
    ("simulate --state {state} --device stm32l4 --sensor-hz 50 --window-rate 1", "not several"),
    ("simulate --state {state} --device stm32l4 --json {tmp}/nodir/r.json", "{tmp}/nodir/r.json"),
    # predict and info
    ("predict --csv {gyro} --state {state}", "no column 'ax' in the header"),
    ("predict --csv {gyro} --state {state} --channels gx,gy", "names 2 column(s) (gx, gy)"),
    ("predict --csv {csv} --state {bare}", "holds a MESULearner, not a SensorPipeline"),
    ("predict --csv {csv} --state {state} --json {tmp}/nodir/p.json", "{tmp}/nodir/p.json"),
    ("info {tmp}/missing.emsu", "{tmp}/missing.emsu"),
    # long work
    ("bench throughput --learners sgd --n 5 --repeats 1 --json {tmp}/nodir/t.json", "{tmp}/nodir/t.json"),
    ("fleet --devices 2 --samples 40 --json {tmp}/nodir/f.json", "{tmp}/nodir/f.json"),
    ("sweep examples/sweeps/quant-small.toml --out {tmp}/nodir/r.csv", "{tmp}/nodir/r.csv"),
]


@pytest.mark.parametrize("command, message", BAD, ids=[f"{c.split()[0]}-{i}" for i, (c, _) in enumerate(BAD)])
def test_bad_input_exits_2_and_writes_nothing(
    made: dict[str, Path], state: Path, tmp_path: Path, command: str, message: str, capsys
) -> None:
    ro = _unwritable_dir(tmp_path) if "{ro}" in command else None
    fill = {k: str(v) for k, v in made.items()} | {"tmp": str(tmp_path), "state": str(state), "ro": str(ro)}
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    root = Path(__file__).resolve().parents[1]
    argv = [a.format(**fill) for a in command.split()]
    argv = [str(root / a) if a.startswith("examples/") else a for a in argv]
    assert run(*argv) == 2
    captured = capsys.readouterr()
    assert message.format(**fill) in captured.err, captured.err
    assert ".tmp" not in captured.err and ".part" not in captured.err and "Traceback" not in captured.err
    assert "learning" not in captured.out and "windows" not in captured.out  # refused before any work
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing new, nothing half-written, the state file untouched (bytes)


# -- 8. progress bars: on a terminal only ----------------------------------------------------------------------------
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal, quiet, shown", [(True, False, True), (True, True, False), (False, False, False)])
def test_learn_draws_a_progress_bar_only_on_a_terminal(
    made: dict[str, Path], monkeypatch: pytest.MonkeyPatch, terminal: bool, quiet: bool, shown: bool
) -> None:
    err = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    argv = ["learn", "--csv", made["csv"], "--channels", "ax,ay,az", "--label", "label", "--window", 100]
    assert run(*argv, *(["--quiet"] if quiet else [])) == 0
    text = err.getvalue()
    assert ("2000/2000" in text and "rows" in text) is shown, text


def test_throughput_bench_draws_a_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    err = _Terminal()
    monkeypatch.setattr("sys.stderr", err)
    assert run("bench", "throughput", "--learners", "sgd", "--n", 5, "--repeats", 2) == 0
    assert "6/6" in err.getvalue() and "learn_one/s" in capsys.readouterr().out


# -- 9. the demo says what is measured and what is modelled; writes its plot -------------------------------------------
def test_demo_report_plot_and_next_steps(tmp_path: Path, capsys) -> None:
    assert run("demo", "--windows", 300, "--no-export", "--out", tmp_path / "d") == 0
    out = capsys.readouterr().out
    assert "(sensor 50 Hz / hop 32 samples)" in out and "utilisation = latency / window period" in out
    assert "measured (run here)" in out and "modelled (computed, no hardware run)" in out
    assert "utilisation 0.00" not in out and "%" in out.split("latency/sample")[1].splitlines()[0]
    assert f"plot: {tmp_path / 'd' / 'demo.png'}" in out
    assert (tmp_path / "d" / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "edge-mesu learn --csv my.csv" in out.splitlines()[-5] and "edge-mesu emulate" in out.splitlines()[-2]
    assert SensorPipeline.load(tmp_path / "d" / "state.emsu").sample_rate_hz == 50


def test_arena_figures_are_explained() -> None:
    from types import SimpleNamespace

    from edge_mesu_app.arena import explain_arenas

    est = SimpleNamespace(required=2312)
    measured = SimpleNamespace(total=1872, head=48, tail=1824, smallest=2248)
    lines = "\n".join(explain_arenas(SimpleNamespace(measured=measured, reason="", estimate=est), 752))
    for figure, words in (("752", "C library"), ("1,872", "measured"), ("2,248", "reserve"), ("2,312", "modelled")):
        assert any(figure in line and words in line for line in lines.splitlines()), (figure, lines)
    lines = "\n".join(explain_arenas(SimpleNamespace(measured=None, reason="no tflite-micro", estimate=est), 752))
    assert "not measured (no tflite-micro)" in lines


def test_pipeline_rate_is_checked() -> None:
    learner = FixedMESULearner((12, 4, 2), seed=0, input_frac=5)
    spec = FrontEndSpec(channels=3, window=8, features=True)
    for bad in (0, -1.0, float("nan"), float("inf"), True, "50"):
        with pytest.raises(ValueError, match="sample_rate_hz"):
            SensorPipeline(spec, learner, sample_rate_hz=bad)  # type: ignore[arg-type]
