"""``edge-mesu learn`` and ``edge-mesu predict``: a recording of raw sensor samples in, a learner out.

``learn`` streams a recording (CSV file or ``-`` for lines on stdin, NPY, NPZ) through the integer front
end into a learner, prequentially (each window is predicted, then learned if it has a label), prints the
accuracy over time and the state size. With ``--state S`` it resumes from S when S exists (a
``SensorPipeline`` state, or a bare learner state to wrap with a new front end) and saves back atomically
at the end and every ``--checkpoint-every`` windows. ``predict`` labels every window with its uncertainty.
Exit codes: 0 done, 2 bad input (missing column, non-numeric cell, window longer than the recording, a
state whose input size does not match the front end, ...), with a message naming the problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.frontend import FrontEndSpec
from edge_mesu.frontend.labels import sort_class_names
from edge_mesu.frontend.readers import read_recording
from edge_mesu.pipeline import SensorPipeline, WindowBatch
from edge_mesu.registry import learner_class
from edge_mesu.statefile import atomic_write_bytes, load_state

__all__ = ["add_commands", "cmd_learn", "cmd_predict"]

_SPEC_ARGS = {
    "window": "window",
    "hop": "hop",
    "decimate": "decimate",
    "features": "features",
    "tau": "tau_log2",
    "clip": "clip",
    "warmup": "warmup",
    "min_std": "min_std",
    "label_rule": "label_rule",
}


def _add_source(p: argparse.ArgumentParser, channels_required: bool) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--csv", metavar="FILE", help="CSV with a header line; '-' reads lines from stdin")
    src.add_argument("--npy", metavar="FILE", help="2-D (n, channels) or structured .npy array")
    src.add_argument("--npz", metavar="FILE", help=".npz of 1-D arrays named like the columns")
    p.add_argument(
        "--channels",
        required=channels_required,
        default=None,
        help="comma list of channel columns (NPY: column indices)",
    )
    p.add_argument("--label", default=None, help="label column (empty cells: unlabelled windows)")
    p.add_argument("--timestamp", default=None, help="timestamp column (reported with each window)")
    p.add_argument("--scale", type=float, default=None, help="counts per unit for non-integer signals")
    p.add_argument("--chunk-rows", type=int, default=None, help="rows per chunk (default 65536; stdin 64)")
    p.add_argument("--skip", type=int, default=0, metavar="ROWS", help="drop the first ROWS data rows")
    p.add_argument("--json", default=None, metavar="OUT.json", help="write the results as JSON")
    p.add_argument("--freeze", action="store_true", help="freeze the normaliser's statistics")


def add_commands(subparsers: Any) -> None:
    """Register ``learn`` and ``predict`` on an argparse sub-parser collection."""
    p = subparsers.add_parser(
        "learn",
        help="learn a recording of raw sensor samples, prequentially",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_source(p, channels_required=False)
    fe = p.add_argument_group("front end (taken from --state when it holds one)")
    fe.add_argument("--window", type=int, default=None, help="raw samples per window")
    fe.add_argument("--hop", type=int, default=None, help="raw samples between windows (default: window)")
    fe.add_argument("--decimate", type=int, default=None, help="average blocks of D samples (default 1)")
    fe.add_argument("--features", action="store_true", default=None, help="mean/RMS/min/max per channel")
    fe.add_argument(
        "--tau",
        type=int,
        default=None,
        help=f"normaliser time constant, log2 of samples (default {_default('tau_log2')})",
    )
    fe.add_argument(
        "--clip", type=float, default=None, help=f"clip at ± this many standard deviations (default {_default('clip')})"
    )
    fe.add_argument(
        "--warmup", type=int, default=None, help=f"no window before this many samples (default {_default('warmup')})"
    )
    fe.add_argument("--min-std", type=float, default=None, help=f"σ floor in counts (default {_default('min_std')})")
    fe.add_argument("--label-rule", choices=("last", "majority"), default=None)
    ln = p.add_argument_group("learner (new states only)")
    ln.add_argument("--fixed", action="store_true", help="fixed-point learner (default: float reference)")
    ln.add_argument("--hidden", default="32", help="hidden layer sizes, comma list (default 32)")
    ln.add_argument("--classes", default=None, help="comma list of class names (default: from the labels)")
    ln.add_argument("--seed", type=int, default=0)
    p.add_argument("--state", default=None, help="resume from this state file if it exists; save back to it")
    p.add_argument("--checkpoint-every", type=int, default=None, metavar="K", help="save every K windows")
    p.add_argument("--report-every", type=int, default=500, metavar="W", help="accuracy line every W windows")
    p.add_argument("--plot", default=None, metavar="OUT.png", help="plot accuracy over time (matplotlib)")
    p.set_defaults(func=cmd_learn)
    q = subparsers.add_parser("predict", help="label the windows of a recording with their uncertainty")
    _add_source(q, channels_required=False)
    q.add_argument("--state", required=True, help="a SensorPipeline state file (from learn)")
    q.set_defaults(func=cmd_predict)


# -- shared helpers -----------------------------------------------------------------------------------------
def _default(field: str) -> object:
    return FrontEndSpec.__dataclass_fields__[field].default


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()] if text else []


def _source(args: argparse.Namespace) -> tuple[Any, str]:
    if args.csv is not None:
        return (sys.stdin, "stdin") if args.csv == "-" else (args.csv, args.csv)
    return (args.npy, args.npy) if args.npy is not None else (args.npz, args.npz)


def _chunks(args: argparse.Namespace, channels: list[str], label: str | None) -> Any:
    src, _name = _source(args)
    rows = args.chunk_rows or (64 if src is sys.stdin else 65536)
    return read_recording(src, channels, label, args.timestamp, chunk_rows=rows, scale=args.scale, skip_rows=args.skip)


def _load_pipeline(path: str, args: argparse.Namespace) -> SensorPipeline:
    pipe = SensorPipeline.load(path)
    spec = pipe.spec.to_dict()
    for arg, key in _SPEC_ARGS.items():
        given = getattr(args, arg, None)
        if given is not None and given != spec[key]:
            raise ValueError(
                f"--{arg.replace('_', '-')} {given} disagrees with the state's front end "
                f"({key} = {spec[key]}); omit it to resume"
            )
    return pipe


def _channels(args: argparse.Namespace, pipe: SensorPipeline | None) -> list[str]:
    chans = _split(args.channels)
    if pipe is not None and pipe.channel_names:
        if chans and chans != pipe.channel_names:
            raise ValueError(
                f"--channels {','.join(chans)} differ from the state's channels {','.join(pipe.channel_names)}"
            )
        return chans or list(pipe.channel_names)
    if not chans:
        raise ValueError("--channels is required (the state names none)")
    return chans


# -- learn ---------------------------------------------------------------------------------------------------
def _new_pipeline(args: argparse.Namespace, channels: list[str], learner: Any = None) -> SensorPipeline:
    if args.window is None:
        raise ValueError("--window is required for a new front end")
    kw = {key: getattr(args, arg) for arg, key in _SPEC_ARGS.items() if getattr(args, arg) is not None}
    spec = FrontEndSpec(channels=len(channels), **kw)
    classes = _split(args.classes) or _scan_classes(args, channels)
    if learner is not None:
        return SensorPipeline(spec, learner, classes, channel_names=channels)
    hidden = tuple(int(h) for h in _split(args.hidden))
    return SensorPipeline.create(spec, classes, fixed=args.fixed, hidden=hidden, seed=args.seed, channel_names=channels)


def _scan_classes(args: argparse.Namespace, channels: list[str]) -> list[str]:
    src, name = _source(args)
    if src is sys.stdin:
        raise ValueError("reading stdin: pass --classes (labels cannot be collected before the stream)")
    found: set[str] = set()
    for chunk in read_recording(src, [], args.label, None, chunk_rows=65536, skip_rows=args.skip):
        if chunk.labels is not None:
            found.update(np.unique(chunk.labels.astype(str)).tolist())
    names = sort_class_names(found)
    if len(names) < 2:
        raise ValueError(f"{name}: need at least 2 classes in column {args.label!r}, found {names}; pass --classes")
    return names


def _open_for_learning(args: argparse.Namespace) -> SensorPipeline:
    if args.label is None:
        raise ValueError("learn needs --label (the label column; empty cells are fine)")
    if args.checkpoint_every is not None and (args.state is None or args.checkpoint_every < 1):
        raise ValueError("--checkpoint-every needs --state and a number of windows >= 1")
    if args.state is None or not Path(args.state).exists():
        return _new_pipeline(args, _channels(args, None))
    kind = load_state(args.state)[0]
    if kind == "SensorPipeline":
        pipe = _load_pipeline(args.state, args)
        _channels(args, pipe)
        if args.fixed and pipe.learner.input_format is None:
            raise ValueError(f"--fixed given but {args.state} holds a {type(pipe.learner).__name__}")
        return pipe
    return _new_pipeline(args, _channels(args, None), learner_class(kind).load(args.state))


class _Tracker:
    """Accuracy over time in blocks of ``every`` windows, printed as blocks complete."""

    def __init__(self, every: int, write: Any) -> None:
        self.every, self.write = max(1, every), write
        self.blocks: list[dict[str, Any]] = []
        self.windows = self.labelled = self.correct = 0
        self.mi_sum, self.mi_n = 0.0, 0
        self._cur = [0, 0, 0]

    def add(self, batch: WindowBatch) -> None:
        for lab, ok in zip((batch.label >= 0).tolist(), batch.correct.tolist()):
            self.windows += 1
            self.labelled += lab
            self.correct += ok
            self._cur = [self._cur[0] + 1, self._cur[1] + lab, self._cur[2] + ok]
            if self._cur[0] == self.every:
                self._close()
        mi = batch.mi[np.isfinite(batch.mi)]
        self.mi_sum, self.mi_n = self.mi_sum + float(mi.sum()), self.mi_n + int(mi.size)

    def _close(self) -> None:
        n, lab, ok = self._cur
        start = self.windows - n
        acc = ok / lab if lab else None
        self.blocks.append({"windows": [start, self.windows - 1], "labelled": lab, "accuracy": acc})
        self.write(
            f"  windows {start:7d}-{self.windows - 1:7d}  "
            + (f"accuracy {100 * acc:5.1f}% ({lab} labelled)" if acc is not None else "no labels")
        )
        self._cur = [0, 0, 0]

    def finish(self) -> None:
        if self._cur[0]:
            self._close()


def cmd_learn(args: argparse.Namespace, write: Any = print) -> int:
    pipe = _open_for_learning(args)
    pipe.frontend.freeze(args.freeze or pipe.frontend.frozen)
    channels = _channels(args, pipe)
    write(
        f"learning {_source(args)[1]}: {pipe.spec.channels} channels, window {pipe.spec.window}, hop "
        f"{pipe.spec.hop}; {type(pipe.learner).__name__} {'-'.join(map(str, pipe.learner.layers))}, classes "
        f"{', '.join(pipe.classes) or '(from the labels)'}"
    )
    track, rows, since = _Tracker(args.report_every, write), 0, 0
    for chunk in _chunks(args, channels, args.label):
        done = 0
        while done < len(chunk):
            limit = None if args.checkpoint_every is None else args.checkpoint_every - since
            batch = pipe.process(
                chunk.samples[done:], None if chunk.labels is None else chunk.labels[done:], max_windows=limit
            )
            done += batch.consumed
            track.add(batch)
            since += len(batch)
            if args.checkpoint_every is not None and since == args.checkpoint_every:
                pipe.save(args.state)
                since = 0
        rows += len(chunk)
    track.finish()
    if track.windows == 0 and rows < pipe.spec.window:
        raise ValueError(f"the window of {pipe.spec.window} samples is longer than the recording ({rows} rows)")
    size = pipe.save(args.state) if args.state else len(pipe.to_bytes())
    acc = track.correct / track.labelled if track.labelled else None
    write(
        f"prequential accuracy {'n/a' if acc is None else f'{100 * acc:.1f}%'} over {track.labelled} labelled "
        f"of {track.windows} windows"
        + (f"; unlabelled windows: mean MI {track.mi_sum / track.mi_n:.3f} bits" if track.mi_n else "")
    )
    write(
        f"state: {size:,} bytes (learning state {pipe.learner.state_nbytes():,} B, front end "
        f"{pipe.frontend.state_nbytes():,} B)" + (f", saved to {args.state}" if args.state else "")
    )
    result = {
        "windows": track.windows,
        "labelled": track.labelled,
        "prequential_accuracy": acc,
        "state_bytes": size,
        "classes": pipe.classes,
        "samples": rows,
        "accuracy_over_time": track.blocks,
        "unlabelled_mean_mi": track.mi_sum / track.mi_n if track.mi_n else None,
        "learner": type(pipe.learner).__name__,
        "layers": list(pipe.learner.layers),
        "frontend": pipe.spec.to_dict(),
        "frontend_counters": pipe.frontend.counters.as_dict(),
    }
    _write_json(args.json, result)
    if args.plot:
        _plot(track.blocks, args.plot, write)
    return 0


def _write_json(path: str | None, result: dict) -> None:
    if path:
        atomic_write_bytes(Path(path), (json.dumps(result, indent=1) + "\n").encode())


def _plot(blocks: list[dict], path: str, write: Any) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("warning: no plot written: matplotlib is not installed (pip install edge-mesu[plot])", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(7, 3))
    xs = [b["windows"][1] for b in blocks if b["accuracy"] is not None]
    ax.plot(xs, [100 * b["accuracy"] for b in blocks if b["accuracy"] is not None], marker="o")
    ax.set_xlabel("window")
    ax.set_ylabel("prequential accuracy (%)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    write(f"plot written to {path}")


# -- predict -----------------------------------------------------------------------------------------------------
def cmd_predict(args: argparse.Namespace, write: Any = print) -> int:
    pipe = SensorPipeline.load(args.state)
    channels = _channels(args, pipe)
    pipe.frontend.freeze(args.freeze or pipe.frontend.frozen)
    names = pipe.classes + [f"class{i}" for i in range(len(pipe.classes), pipe.learner.n_classes)]
    write("end_row,t_end,predicted,confidence,mi_bits" + (",label" if args.label else ""))
    rows, windows, records, correct, labelled = 0, 0, [], 0, 0  # records kept only for --json
    for chunk in _chunks(args, channels, args.label):
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
    if not windows and rows < pipe.spec.window:
        raise ValueError(f"the window of {pipe.spec.window} samples is longer than the recording ({rows} rows)")
    _write_json(
        args.json,
        {
            "windows": windows,
            "labelled": labelled,
            "accuracy": correct / labelled if labelled else None,
            "classes": pipe.classes,
            "predictions": records,
        },
    )
    return 0
