"""``edge-mesu predict``: label every window of a recording with a pipeline state, with its uncertainty.

The predictions go to stdout as CSV (one line per window); what is not data (the channel mapping, the
accuracy when the recording has labels) goes to stderr, so ``> out.csv`` keeps a clean file. Each file is
a new recording by default: the state's partial window (the samples after its last window) is dropped so
the first window is made of this file's samples only; ``--continue`` resumes the stream instead (the file
continues the recording the state last saw). The state file is never written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from edge_mesu.pipeline import SensorPipeline

from .outputs import check_file
from .progress import Progress
from .recording import add_source_arguments, check_numbers, count_rows, file_columns, open_recording, source, write_json

__all__ = ["add_commands", "cmd_predict"]

DESCRIPTION = """\
Label every window of a recording with a pipeline state (from 'edge-mesu learn' or the demo): the
predicted class, its probability and the mutual information (bits; high = unlike anything learned), one
CSV line per window on stdout. The accuracy is printed on stderr when the recording has labels (--label).

Each file starts a new recording (the state's unfinished window is dropped); --continue resumes the
state's stream instead. --channels maps the file's columns onto the state's channels, in order. The state
file is only read.

Example: edge-mesu predict --csv new.csv --state my.emsu --label label > predictions.csv
"""


def add_commands(subparsers: Any) -> None:
    """Register ``predict`` on an argparse sub-parser collection."""
    q = subparsers.add_parser(
        "predict",
        help="label the windows of a recording with a pipeline state, with their uncertainty",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_source_arguments(q)
    q.add_argument("--state", required=True, help="a pipeline state file (from 'learn' or the demo); only read")
    q.add_argument(
        "--continue",
        dest="resume",
        action="store_true",
        help="the file continues the state's recording: keep its unfinished window (default: a new recording)",
    )
    q.set_defaults(func=cmd_predict)


def _info(line: str) -> None:
    print(line, file=sys.stderr)


def cmd_predict(args: argparse.Namespace, write: Any = print, info: Any = _info) -> int:
    """Print one CSV line per window with ``write``; the notes and the accuracy with ``info``."""
    if args.json:
        check_file(args.json, "--json")
    check_numbers(args)
    pipe = SensorPipeline.load(args.state)
    channels = file_columns(args, pipe, info)
    pipe.frontend.freeze(args.freeze or pipe.frontend.frozen)
    if not args.resume:
        pipe.frontend.new_recording()
    names = pipe.classes + [f"class{i}" for i in range(len(pipe.classes), pipe.learner.n_classes)]
    write("end_row,t_end,predicted,confidence,mi_bits" + (",label" if args.label else ""))
    rows, windows, records, correct, labelled = 0, 0, [], 0, 0  # records kept only for --json
    quiet = args.quiet or sys.stdout.isatty()  # a bar only when the predictions go to a file or a pipe
    total = count_rows(args) if Progress.shown(quiet) else None
    bar = Progress(total, f"predicting {Path(source(args)[1]).name}", unit="rows", quiet=quiet)
    for chunk in open_recording(args, channels, args.label):
        before = pipe.frontend.samples_seen
        batch = pipe.process(chunk.samples, chunk.labels, uncertainty="all", learn=False)
        for i in range(len(batch)):
            local = int(batch.end[i] - before)
            rec = {
                "end_row": args.skip + rows + local,
                "t_end": None if chunk.timestamps is None else float(chunk.timestamps[local]),
                "predicted": names[int(batch.pred[i])],
                "confidence": float(batch.confidence[i]),
                "mi": float(batch.mi[i]),
            }
            if args.label:
                rec["label"] = names[int(batch.label[i])] if batch.label[i] >= 0 else None
                labelled += rec["label"] is not None
                correct += rec["label"] == rec["predicted"]
            windows += 1
            if args.json:
                records.append(rec)
            write(",".join("" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v)) for v in rec.values()))
        rows += len(chunk)
        bar.update(len(chunk))
    bar.close()
    if not windows and rows < pipe.spec.window:
        raise ValueError(f"the window of {pipe.spec.window} samples is longer than the recording ({rows} rows)")
    accuracy = correct / labelled if labelled else None
    if args.label:
        info(
            f"accuracy {100 * accuracy:.1f}% over {labelled} labelled of {windows} windows"
            if accuracy is not None
            else f"accuracy: n/a (none of the {windows} windows has a label)"
        )
    write_json(
        args.json,
        {
            "windows": windows,
            "labelled": labelled,
            "accuracy": accuracy,
            "classes": pipe.classes,
            "new_recording": not args.resume,
            "predictions": records,
        },
    )
    return 0
