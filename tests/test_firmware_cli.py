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
    code = _run(parser, "--state", state, "--device", "stm32l4", "--rate", "10", "--samples", "40", "--json", str(out))
    assert code == 0
    assert "OK, every budget holds" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["ok"] is True and report["samples"] == 40 and report["device"] == "stm32l4"


def test_exit_1_names_the_violated_budget(parser, state, capsys):
    code = _run(parser, "--state", state, "--device", "rp2040", "--rate", "1000000", "--samples", "20")
    assert code == 1
    err = capsys.readouterr().err
    assert "latency budget exceeded on rp2040" in err and "largest consumer" in err


def test_exit_1_ram(parser, tmp_path, capsys):
    path = tmp_path / "big.emsu"
    MESULearner((784, 50, 10), seed=0).save(path)
    code = _run(parser, "--state", str(path), "--device", "stm32l4", "--rate", "0.5", "--samples", "2")
    assert code == 1
    assert "RAM budget exceeded on stm32l4" in capsys.readouterr().err
    code = _run(
        parser, "--state", str(path), "--device", "stm32l4", "--rate", "0.5", "--samples", "2", "--assume-fixed"
    )
    assert code == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--device", "stm32f9", "--rate", "10"], "unknown device"),
        (["--device", "stm32l4", "--rate", "0"], "rate_hz"),
        (["--device", "stm32l4", "--rate", "-5"], "rate_hz"),
        (["--device", "stm32l4", "--rate", "10", "--queue", "-1"], "queue"),
        (["--device", "stm32l4", "--rate", "10", "--samples", "0"], "--samples"),
    ],
)
def test_exit_2_on_bad_input(parser, state, argv, message, capsys):
    assert _run(parser, "--state", state, *argv) == 2
    assert message in capsys.readouterr().err


def test_exit_2_on_unreadable_state(parser, tmp_path, capsys):
    bad = tmp_path / "bad.emsu"
    bad.write_bytes(b"not a state file at all")
    assert _run(parser, "--state", str(bad), "--device", "stm32l4", "--rate", "1") == 2
    assert _run(parser, "--state", str(tmp_path / "missing"), "--device", "stm32l4", "--rate", "1") == 2
    assert "cannot read state file" in capsys.readouterr().err


def test_exit_2_on_malformed_profile(parser, state, tmp_path, capsys):
    prof = tmp_path / "broken.toml"
    prof.write_text('name = "x"\ncpu = "y"\n')
    assert _run(parser, "--state", state, "--device", str(prof), "--rate", "1") == 2
    assert "broken.toml: missing section [memory]" in capsys.readouterr().err


def test_plot_without_matplotlib_is_a_clear_warning(parser, state, tmp_path, capsys):
    out = tmp_path / "p.png"
    code = _run(parser, "--state", state, "--device", "stm32l4", "--rate", "10", "--samples", "10", "--plot", str(out))
    assert code == 0
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib" in capsys.readouterr().err and not out.exists()
    else:
        assert out.exists()
