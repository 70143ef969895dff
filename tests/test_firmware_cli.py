"""The simulate sub-command: exit codes 0 / 1 / 2 and their messages."""

from __future__ import annotations

import argparse
import json

import pytest

from edge_mesu import MESULearner
from edge_mesu_app.simulate_cmd import add_commands


@pytest.fixture
def parser():
    p = argparse.ArgumentParser(prog="edge-mesu")
    add_commands(p.add_subparsers(dest="command"))
    return p


@pytest.fixture
def state(tmp_path):
    path = tmp_path / "small.emsu"
    MESULearner((8, 4, 2), seed=0).save(path)
    return str(path)


def _run(parser, *argv):
    args = parser.parse_args(["simulate", *argv])
    return args.func(args)


def test_exit_0_when_budgets_hold(parser, state, tmp_path, capsys):
    out = tmp_path / "r.json"
    code = _run(
        parser, "--state", state, "--device", "stm32l4", "--window-rate", "10", "--samples", "40", "--json", str(out)
    )
    assert code == 0
    assert "OK, every budget holds" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["ok"] is True and report["samples"] == 40 and report["device"] == "stm32l4"


def test_exit_1_names_the_violated_budget(parser, state, capsys):
    code = _run(parser, "--state", state, "--device", "rp2040", "--window-rate", "1000000", "--samples", "20")
    assert code == 1
    err = capsys.readouterr().err
    assert "latency budget exceeded on rp2040" in err and "largest consumer" in err


def test_exit_1_ram(parser, tmp_path, capsys):
    path = tmp_path / "big.emsu"
    MESULearner((784, 50, 10), seed=0).save(path)
    code = _run(parser, "--state", str(path), "--device", "stm32l4", "--window-rate", "0.5", "--samples", "2")
    assert code == 1
    assert "RAM budget exceeded on stm32l4" in capsys.readouterr().err
    code = _run(
        parser, "--state", str(path), "--device", "stm32l4", "--window-rate", "0.5", "--samples", "2", "--assume-fixed"
    )
    assert code == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--device", "stm32f9", "--window-rate", "10"], "unknown device"),
        (["--device", "stm32l4", "--window-rate", "0"], "rate_hz"),
        (["--device", "stm32l4", "--window-rate", "-5"], "rate_hz"),
        (["--device", "stm32l4", "--sensor-hz", "50"], "--sensor-hz needs a pipeline state"),
        (["--device", "stm32l4"], "give --window-rate"),
        (["--device", "stm32l4", "--window-rate", "10", "--queue", "-1"], "queue"),
        (["--device", "stm32l4", "--window-rate", "10", "--samples", "0"], "--samples"),
    ],
)
def test_exit_2_on_bad_input(parser, state, argv, message, capsys):
    assert _run(parser, "--state", state, *argv) == 2
    assert message in capsys.readouterr().err


def test_exit_2_on_unreadable_state(parser, tmp_path, capsys):
    bad = tmp_path / "bad.emsu"
    bad.write_bytes(b"not a state file at all")
    assert _run(parser, "--state", str(bad), "--device", "stm32l4", "--window-rate", "1") == 2
    assert _run(parser, "--state", str(tmp_path / "missing"), "--device", "stm32l4", "--window-rate", "1") == 2
    assert "cannot read state file" in capsys.readouterr().err


def test_exit_2_on_malformed_profile(parser, state, tmp_path, capsys):
    prof = tmp_path / "broken.toml"
    prof.write_text('name = "x"\ncpu = "y"\n')
    assert _run(parser, "--state", state, "--device", str(prof), "--window-rate", "1") == 2
    assert "broken.toml: missing section [memory]" in capsys.readouterr().err


def test_plot_is_written_or_refused_up_front_naming_the_extra(parser, state, tmp_path, capsys):
    out = tmp_path / "p.png"
    code = _run(
        parser, "--state", state, "--device", "stm32l4", "--window-rate", "10", "--samples", "10", "--plot", str(out)
    )
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert code == 2 and "pip install 'edge-mesu[plot]'" in capsys.readouterr().err and not out.exists()
    else:
        assert code == 0 and out.read_bytes()[:4] == b"\x89PNG"


def test_deprecated_rate_still_reads_as_the_window_rate_of_a_bare_learner(parser, state, capsys):
    assert _run(parser, "--state", state, "--device", "stm32l4", "--rate", "10", "--samples", "10") == 0
    captured = capsys.readouterr()
    assert "--rate is deprecated: say --window-rate" in captured.err and "@ 10 Hz" in captured.out
