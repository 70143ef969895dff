"""The ``export`` and ``quant-report`` subcommands, driven through argparse as the main CLI would."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from edge_mesu_app.export_cmd import add_commands
from export._testing import trained_learner

MNIST_DIR = Path(os.environ.get("EDGE_MESU_MNIST", Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="edge-mesu")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("state") / "learner.emsu"
    trained_learner().save(path)
    return path


def test_export_writes_all_three(state: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = {k: tmp_path / f"m{k}" for k in (".onnx", ".int8.onnx", ".tflite")}
    rc = _run(
        [
            "export",
            "--state",
            str(state),
            "--onnx",
            str(out[".onnx"]),
            "--onnx-int8",
            str(out[".int8.onnx"]),
            "--tflite",
            str(out[".tflite"]),
            "--calibration-samples",
            "200",
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0 and all(p.stat().st_size > 0 for p in out.values())
    assert "generated N(0, 1) inputs (200 x 16" in text
    assert "FULLY_CONNECTED+RELU" in text and "Gemmx2" in text and "per-channel" in text
    assert "bytes" in text and "reference_check" in text


def test_quant_report_prints_and_writes_json(state: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = _run(
        [
            "quant-report",
            "--state",
            str(state),
            "--json",
            str(tmp_path / "r.json"),
            "--eval-samples",
            "300",
            "--calibration-samples",
            "200",
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0 and "tflite-int8" in text and "accuracy equals agreement" in text
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["n_samples"] == 300 and {r["name"] for r in data["rows"]} >= {"onnx-int8", "tflite-int8"}


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "--state", "/nonexistent/state", "--tflite", "x.tflite"],
        ["export", "--state", "{state}"],
        ["export", "--state", "{state}", "--tflite", "{tmp}/m.tflite", "--calibration-samples", "0"],
        ["export", "--state", "{state}", "--tflite", "{tmp}/no/dir/m.tflite"],
        ["export", "--state", "{state}", "--tflite", "{tmp}/m.tflite", "--data", "{tmp}/no-mnist"],
        ["quant-report", "--state", "{state}", "--json", "{tmp}/no/dir/r.json"],
    ],
)
def test_bad_input_exits_2(state: Path, tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str]) -> None:
    argv = [a.format(state=state, tmp=tmp_path) for a in argv]
    assert _run(argv) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert not any(p.suffix == ".tflite" for p in tmp_path.iterdir())


def test_corrupt_state_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.emsu"
    bad.write_bytes(b"EMSU-not-really")
    assert _run(["export", "--state", str(bad), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.data
@pytest.mark.slow
def test_export_with_mnist_calibration(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    if not MNIST_DIR.is_dir():
        pytest.skip(f"MNIST not found at {MNIST_DIR}")
    from edge_mesu import MESULearner

    state = tmp_path / "mnist.emsu"
    MESULearner(layers=(784, 50, 10), bias=False, seed=0).save(state)
    rc = _run(
        [
            "export",
            "--state",
            str(state),
            "--tflite",
            str(tmp_path / "m.tflite"),
            "--data",
            str(MNIST_DIR),
            "--calibration-samples",
            "200",
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0 and "MNIST task 1 train split" in text and "200/200 rows bit-exact" in text
    small = tmp_path / "small.emsu"
    trained_learner().save(small)
    assert (
        _run(["export", "--state", str(small), "--tflite", str(tmp_path / "s.tflite"), "--data", str(MNIST_DIR)]) == 2
    )
