"""``edge-mesu learn`` / ``predict``: results, JSON, exact resume through the CLI, checkpoints, exit code 2."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from edge_mesu import MESULearner, SensorPipeline
from edge_mesu.data import make_sensor_stream
from edge_mesu.statefile import load_state

CLASSES = "rest,walk,run,cycle,tremor"


@pytest.fixture
def main():
    """``edge-mesu`` as a function of its arguments (exit code)."""
    from edge_mesu_app import cli

    return lambda *argv: cli.main([str(a) for a in argv])


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A CSV of the bundled stream (100 windows of 32 samples), every 5th window unlabelled."""
    s = make_sensor_stream(n_windows=100, seed=2)
    names = np.array(s.class_names, dtype=object)[s.labels]
    names[(np.arange(len(names)) // 32) % 5 == 4] = ""
    path = tmp_path_factory.mktemp("rec") / "rec.csv"
    lines = ["t,ax,ay,az,label"] + [
        f"{i / 50:.2f},{a},{b},{c},{n}" for i, ((a, b, c), n) in enumerate(zip(s.samples.tolist(), names))
    ]
    path.write_text("\n".join(lines) + "\n")
    return path, lines


def write_rows(path, lines, rows):
    path.write_text("\n".join([lines[0]] + [lines[1 + r] for r in rows]) + "\n")
    return path


def test_learn_prints_accuracy_over_time_and_writes_json(main, recording, tmp_path, capsys):
    path, _ = recording
    out = tmp_path / "out.json"
    code = main(
        "learn",
        "--csv",
        path,
        "--channels",
        "ax,ay,az",
        "--label",
        "label",
        "--timestamp",
        "t",
        "--window",
        32,
        "--fixed",
        "--state",
        tmp_path / "s.emsu",
        "--json",
        out,
        "--report-every",
        40,
        "--plot",
        tmp_path / "acc.png",
    )
    captured = capsys.readouterr()
    text = captured.out
    assert code == 0
    assert (tmp_path / "acc.png").exists() or "matplotlib is not installed" in captured.err
    assert "windows       0-     39  accuracy" in text and "prequential accuracy" in text and "state:" in text
    result = json.loads(out.read_text())
    assert result["windows"] == 100 and result["labelled"] == 80 and result["classes"] == sorted(CLASSES.split(","))
    assert 0.3 < result["prequential_accuracy"] <= 1.0 and result["state_bytes"] == (tmp_path / "s.emsu").stat().st_size
    assert len(result["accuracy_over_time"]) == 3 and result["unlabelled_mean_mi"] is not None
    kind, meta, _ = load_state(tmp_path / "s.emsu")
    assert kind == "SensorPipeline" and meta["step"] == 80 and meta["channel_names"] == ["ax", "ay", "az"]


@pytest.mark.parametrize("cut", [1000, 1601])
def test_learning_two_halves_with_the_state_equals_one_go(main, recording, tmp_path, cut, capsys):
    path, lines = recording
    common = ["--channels", "ax,ay,az", "--label", "label", "--classes", CLASSES, "--seed", 3]
    assert (
        main("learn", "--csv", path, "--window", 32, "--hop", 16, "--fixed", "--state", tmp_path / "one.emsu", *common)
        == 0
    )
    first = write_rows(tmp_path / "a.csv", lines, range(cut))
    second = write_rows(tmp_path / "b.csv", lines, range(cut, len(lines) - 1))
    assert (
        main("learn", "--csv", first, "--window", 32, "--hop", 16, "--fixed", "--state", tmp_path / "two.emsu", *common)
        == 0
    )
    assert main("learn", "--csv", second, "--state", tmp_path / "two.emsu", *common) == 0
    assert (tmp_path / "two.emsu").read_bytes() == (tmp_path / "one.emsu").read_bytes()
    assert (
        main(
            "learn",
            "--csv",
            path,
            "--skip",
            cut,
            "--state",
            tmp_path / "three.emsu",
            "--window",
            32,
            "--hop",
            16,
            "--fixed",
            *common,
        )
        == 0
    )  # --skip reads the rest of the same file
    capsys.readouterr()


def test_checkpoints_survive_a_crash(main, recording, tmp_path, capsys):
    path, lines = recording
    bad = write_rows(tmp_path / "bad.csv", lines, range(len(lines) - 1))
    text = bad.read_text().splitlines()
    text[2000] = text[2000].replace(",", ",oops", 1)  # line 2001 of the file: a non-numeric cell in column ax
    bad.write_text("\n".join(text) + "\n")
    state = tmp_path / "ck.emsu"
    code = main(
        "learn",
        "--csv",
        bad,
        "--channels",
        "ax,ay,az",
        "--label",
        "label",
        "--classes",
        CLASSES,
        "--window",
        32,
        "--state",
        state,
        "--checkpoint-every",
        10,
        "--chunk-rows",
        500,
    )
    assert code == 2 and "line 2001: column 'ax' holds 'oops" in capsys.readouterr().err
    kind, meta, _ = load_state(state)
    # rows 0-1499 (3 chunks) hold 46 windows: the last checkpoint was after 40 windows = 1280 samples; the
    # chunk of rows 1500-1999 holds the bad cell (data row 1999) and was refused whole
    assert meta["frontend"]["seen"] == 1280 and meta["step"] == 32  # every 5th window is unlabelled
    assert SensorPipeline.load(state).frontend.samples_seen == 1280


def test_predict_labels_every_window_with_its_uncertainty(main, recording, tmp_path, capsys):
    path, _ = recording
    assert (
        main(
            "learn",
            "--csv",
            path,
            "--channels",
            "ax,ay,az",
            "--label",
            "label",
            "--window",
            32,
            "--state",
            tmp_path / "s.emsu",
        )
        == 0
    )
    capsys.readouterr()
    out = tmp_path / "p.json"
    assert (
        main(
            "predict",
            "--csv",
            path,
            "--state",
            tmp_path / "s.emsu",
            "--label",
            "label",
            "--timestamp",
            "t",
            "--json",
            out,
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "end_row,t_end,predicted,confidence,mi_bits,label" and len(lines) == 101
    assert lines[1].startswith("31,0.6200,")
    result = json.loads(out.read_text())
    assert result["windows"] == 100 and result["labelled"] == 80 and 0 <= result["accuracy"] <= 1
    assert all(np.isfinite(p["mi"]) for p in result["predictions"])


def test_stdin_and_npz_sources(main, recording, tmp_path, monkeypatch, capsys):
    path, lines = recording
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines[:961]) + "\n"))
    out = tmp_path / "stdin.json"
    assert (
        main(
            "learn",
            "--csv",
            "-",
            "--channels",
            "ax,ay,az",
            "--label",
            "label",
            "--window",
            32,
            "--classes",
            CLASSES,
            "--json",
            out,
        )
        == 0
    )
    assert json.loads(out.read_text())["windows"] == 30
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines[:100]) + "\n"))
    assert main("learn", "--csv", "-", "--channels", "ax,ay,az", "--label", "label", "--window", 32) == 2
    assert "pass --classes" in capsys.readouterr().err
    s = make_sensor_stream(n_windows=20, seed=0)
    np.savez(
        tmp_path / "r.npz",
        x=s.samples[:, 0],
        y=s.samples[:, 1],
        z=s.samples[:, 2],
        activity=np.array(s.class_names)[s.labels],
    )
    assert (
        main(
            "learn",
            "--npz",
            tmp_path / "r.npz",
            "--channels",
            "x,y,z",
            "--label",
            "activity",
            "--window",
            32,
            "--features",
            "--json",
            out,
        )
        == 0
    )
    assert json.loads(out.read_text())["windows"] == 20


@pytest.mark.parametrize(
    "args, message",
    [
        (["--channels", "ax,ay,gz", "--window", 32], "no column 'gz'"),
        (
            ["--channels", "ax,ay,az", "--window", 4000],
            "window of 4000 samples is longer than the recording (3200 rows)",
        ),
        (["--channels", "ax,ay,az", "--window", 30, "--decimate", 4], "decimate 4 must divide window 30"),
        (["--channels", "ax,ay,az"], "--window is required"),
        (["--channels", "ax,ay,az", "--window", 32, "--checkpoint-every", 5], "--checkpoint-every needs --state"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(main, recording, capsys, args, message):
    path, _ = recording
    assert main("learn", "--csv", path, "--label", "label", *args) == 2
    assert message in capsys.readouterr().err


def test_states_that_do_not_fit_the_front_end_exit_2(main, recording, tmp_path, capsys):
    path, _ = recording
    MESULearner((50, 8, 5), seed=0).save(tmp_path / "bare.emsu")
    assert (
        main(
            "learn",
            "--csv",
            path,
            "--channels",
            "ax,ay,az",
            "--label",
            "label",
            "--window",
            32,
            "--state",
            tmp_path / "bare.emsu",
        )
        == 2
    )
    assert "learner takes 50 inputs but the front end makes 96" in capsys.readouterr().err
    MESULearner((96, 8, 5), seed=0).save(tmp_path / "fits.emsu")  # a bare learner of the right size is wrapped
    assert (
        main(
            "learn",
            "--csv",
            path,
            "--channels",
            "ax,ay,az",
            "--label",
            "label",
            "--window",
            32,
            "--state",
            tmp_path / "fits.emsu",
        )
        == 0
    )
    assert load_state(tmp_path / "fits.emsu")[0] == "SensorPipeline"
    assert main("learn", "--csv", path, "--label", "label", "--window", 64, "--state", tmp_path / "fits.emsu") == 2
    assert "--window 64 disagrees with the state's front end" in capsys.readouterr().err
    assert (
        main("simulate", "--state", tmp_path / "fits.emsu", "--device", "stm32l4", "--sensor-hz", 64, "--samples", 20)
        == 0
    )
    assert "frontend" in capsys.readouterr().out
