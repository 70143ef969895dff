"""Shared by the command-line tests: run ``edge-mesu`` in-process and return its exit code."""

from __future__ import annotations

from edge_mesu_app.cli import main


def run(*argv: object) -> int:
    """The exit code of ``edge-mesu *argv`` (argparse's SystemExit included)."""
    try:
        return int(main([str(a) for a in argv]) or 0)
    except SystemExit as stop:
        return int(stop.code or 0)
