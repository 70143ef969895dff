"""A recording on the command line: the options ``learn`` and ``predict`` share, its columns, its rows."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.frontend.readers import read_recording
from edge_mesu.pipeline import SensorPipeline
from edge_mesu.statefile import atomic_write_bytes

from .progress import add_quiet_argument

__all__ = [
    "add_source_arguments",
    "check_numbers",
    "count_rows",
    "file_columns",
    "open_recording",
    "source",
    "split_list",
    "write_json",
]


def add_source_arguments(p: argparse.ArgumentParser) -> None:
    """The recording options shared by ``learn`` and ``predict``."""
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--csv", metavar="FILE", help="CSV with a header line; '-' reads lines from stdin")
    src.add_argument("--npy", metavar="FILE", help="2-D (n, channels) or structured .npy array")
    src.add_argument("--npz", metavar="FILE", help=".npz of 1-D arrays named like the columns")
    p.add_argument(
        "--channels",
        default=None,
        help="comma list of the file's channel columns (NPY: column indices); with a pipeline state they are "
        "read as the state's channels, in order (default: the state's channel names)",
    )
    p.add_argument("--label", default=None, help="label column (empty cells: unlabelled windows)")
    p.add_argument("--timestamp", default=None, help="timestamp column (reported with each window)")
    p.add_argument("--scale", type=float, default=None, help="counts per unit for non-integer signals")
    p.add_argument("--chunk-rows", type=int, default=None, help="rows per chunk (default 65536; stdin 64)")
    p.add_argument("--skip", type=int, default=0, metavar="ROWS", help="drop the first ROWS data rows")
    p.add_argument("--json", default=None, metavar="OUT.json", help="write the results as JSON")
    p.add_argument("--freeze", action="store_true", help="freeze the normaliser's statistics")
    add_quiet_argument(p)


def split_list(text: str | None) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()] if text else []


def source(args: argparse.Namespace) -> tuple[Any, str]:
    if args.csv is not None:
        return (sys.stdin, "stdin") if args.csv == "-" else (args.csv, args.csv)
    return (args.npy, args.npy) if args.npy is not None else (args.npz, args.npz)


def check_numbers(args: argparse.Namespace) -> None:
    """The reading options' ranges (before any reading)."""
    if args.chunk_rows is not None and args.chunk_rows < 1:
        raise ValueError(f"--chunk-rows must be >= 1, got {args.chunk_rows}")
    if args.skip < 0:
        raise ValueError(f"--skip must be >= 0, got {args.skip}")
    if args.scale is not None and not 0 < args.scale < float("inf"):
        raise ValueError(f"--scale must be a finite number > 0, got {args.scale}")


def _header(args: argparse.Namespace) -> list[str] | None:
    """The recording's column names where they can be read without reading the data (CSV file, NPZ)."""
    src, name = source(args)
    if src is sys.stdin or args.npy is not None:
        return None
    if args.npz is not None:
        with np.load(name) as z:
            return list(z.files)
    with open(name, newline="", encoding="utf-8") as fh:
        return [c.strip() for c in next(csv.reader(fh), [])]


def file_columns(args: argparse.Namespace, pipe: SensorPipeline | None, info: Any) -> list[str]:
    """The file's channel columns to read: ``--channels``, else the state's names; checked against the header.

    With a pipeline state, ``--channels`` maps the file's columns onto the state's channels in order (a
    line through ``info`` says so when the names differ); a different count is refused.
    """
    chans = split_list(args.channels)
    state_names = list(pipe.channel_names or []) if pipe is not None else []
    if pipe is not None and chans and len(chans) != pipe.spec.channels:
        known = f" ({', '.join(state_names)})" if state_names else ""
        raise ValueError(
            f"--channels names {len(chans)} column(s) ({', '.join(chans)}) but the state's front end reads "
            f"{pipe.spec.channels} channels{known}"
        )
    if not chans:
        if not state_names:
            raise ValueError("--channels is required (the state names none)" if pipe else "--channels is required")
        chans = state_names
    elif state_names and chans != state_names:
        info(f"channels: the file's {', '.join(chans)} are read as the state's {', '.join(state_names)} (in order)")
    header = _header(args)
    if header is not None:
        wanted = chans + [c for c in (args.label, args.timestamp) if c]
        missing = [c for c in wanted if c not in header]
        if missing:
            hint = ""
            if pipe is not None and missing[0] in chans and not args.channels:
                hint = (
                    f"; to read other columns as the state's channels {', '.join(state_names)}, pass "
                    f"--channels COL1,...,COL{len(state_names)} (in that order)"
                )
            raise ValueError(
                f"{source(args)[1]}: no column {missing[0]!r} in the header (columns: {', '.join(header)}){hint}"
            )
    return chans


def count_rows(args: argparse.Namespace) -> int | None:
    """Data rows of the recording (for a progress bar), or None where unknown without reading it (stdin)."""
    src, name = source(args)
    if src is sys.stdin:
        return None
    if args.npy is not None:
        n = int(np.load(name, mmap_mode="r").shape[0])
    elif args.npz is not None:
        with np.load(name) as z:
            n = int(z[z.files[0]].shape[0]) if z.files else 0
    else:
        n, last = -1, b"\n"
        with open(name, "rb") as fh:
            while block := fh.read(1 << 20):
                n += block.count(b"\n")
                last = block[-1:]
        n += last != b"\n"
    return max(0, n - args.skip)


def open_recording(args: argparse.Namespace, channels: list[str], label: str | None) -> Any:
    src, _name = source(args)
    rows = args.chunk_rows or (64 if src is sys.stdin else 65536)
    return read_recording(src, channels, label, args.timestamp, chunk_rows=rows, scale=args.scale, skip_rows=args.skip)


def write_json(path: str | None, result: dict) -> None:
    if path:
        atomic_write_bytes(Path(path), (json.dumps(result, indent=1) + "\n").encode())
