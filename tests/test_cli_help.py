"""Every ``--help`` is for users: each subcommand has a one-line description, each option a line, no reST."""

from __future__ import annotations

import argparse
import re

import pytest

from edge_mesu_app.cli import build_parser, main

_DEVELOPER_MARKUP = re.compile(r":(func|class|mod|meth|data|attr|ref):`|``")


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    """(command path, parser) of the main parser and every subcommand, depth first."""
    out: list[tuple[tuple[str, ...], object]] = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                assert helps.get(name), f"subcommand {' '.join((*path, name))} has no one-line help"
                assert "\n" not in helps[name], f"{' '.join((*path, name))}: help is not one line"
                out += _walk(sub, (*path, name))
    return out


COMMANDS = [path for path, _ in _walk(build_parser())]


def test_every_subcommand_is_walked() -> None:
    names = {" ".join(p) for p in COMMANDS}
    expected = {"demo", "info", "learn", "predict", "simulate", "export", "quant-report", "sweep", "fleet", "emulate"}
    assert expected | {"bench pmnist", "bench throughput", "bench river"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "edge-mesu")
def test_help_is_for_users(path: tuple[str, ...], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stop:
        main([*path, "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert not _DEVELOPER_MARKUP.search(text), _DEVELOPER_MARKUP.search(text)
    parser = dict(_walk(build_parser()))[path]
    assert isinstance(parser, argparse.ArgumentParser) and parser.description, "no description"
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help is not argparse.SUPPRESS, f"{' '.join(path)} {name}: no help line"
        assert name.split("/")[0] in text or action.dest in text
