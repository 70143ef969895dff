"""``edge-mesu learn``: a recording of raw sensor samples in, a learner out (``predict``: see predict_cmd).

``learn`` streams a recording (CSV file or ``-`` for lines on stdin, NPY, NPZ) through the integer front
end into a learner, prequentially (each window is predicted, then learned if it has a label), prints the
accuracy over time and the state size. With ``--state S`` it resumes from S when S exists (a
``SensorPipeline`` state, or a bare learner state to wrap with a new front end) and saves back atomically
at the end and every ``--checkpoint-every`` windows. Every output path and option is checked before the
recording is read. Exit codes: 0 done, 2 bad input (missing column, non-numeric cell, window longer than the
recording, a state whose input size does not match the front end, an unwritable output, ...), with a
message naming the problem.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.frontend import FrontEndSpec
from edge_mesu.frontend.labels import sort_class_names
from edge_mesu.frontend.readers import read_recording
from edge_mesu.labelling import BudgetedSelector, LabelPolicy, UncertaintyGate
from edge_mesu.pipeline import SensorPipeline, WindowBatch
from edge_mesu.registry import learner_class
from edge_mesu.statefile import load_state

from .outputs import check_distinct, check_file
from .plotting import pyplot, require_matplotlib, save_png
from .progress import Progress
from .recording import (
    add_source_arguments,
    check_numbers,
    count_rows,
    file_columns,
    open_recording,
    source,
    split_list,
    write_json,
)

__all__ = ["add_commands", "cmd_learn"]

LEARN_DESCRIPTION = """\
Learn a recording of raw sensor samples, prequentially: every window is predicted, then learned if it
has a label. Prints the accuracy over time and the state's size.

With --state S: resumes from S when it exists (a pipeline state from an earlier 'learn', or a bare
learner state to wrap with a new front end) and saves back to S at the end (and every --checkpoint-every
windows). Feeding a recording in pieces, with the state between, gives the same state as feeding it whole.
Every output path and option is checked before the recording is read.

With --label-budget Q or --label-threshold BITS, a labelling policy decides from each window's uncertainty
(--label-score: the entropy of its prediction, the default, or the mutual information over weight samples)
whether to ask for its label; only asked windows with a label in the recording are learned (the recording's
label stands in for the user's answer). The policy's budget is not part of the state.

Exit codes: 0 done; 2 bad input (missing column, non-numeric cell, window longer than the recording, a
state that does not fit the front end, an unwritable output), with a message naming it.

Example: edge-mesu learn --csv rec.csv --channels ax,ay,az --label label --window 100 --hop 50
         --sensor-hz 50 --fixed --state my.emsu
"""

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


def add_commands(subparsers: Any) -> None:
    """Register ``learn`` on an argparse sub-parser collection."""
    p = subparsers.add_parser(
        "learn",
        help="learn a recording of raw sensor samples (CSV, NPY, NPZ), prequentially",
        description=LEARN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_source_arguments(p)
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
    fe.add_argument(
        "--label-rule",
        choices=("last", "majority"),
        default=None,
        help="a window's label: its last sample's (default) or the most frequent one",
    )
    fe.add_argument(
        "--sensor-hz",
        type=float,
        default=None,
        metavar="HZ",
        help="the sensor's sample rate, recorded in the state ('simulate' derives the window rate from it)",
    )
    ln = p.add_argument_group("learner (new states only)")
    ln.add_argument("--fixed", action="store_true", help="fixed-point learner (default: float reference)")
    ln.add_argument("--hidden", default="32", help="hidden layer sizes, comma list (default 32)")
    ln.add_argument("--classes", default=None, help="comma list of class names (default: from the labels)")
    ln.add_argument("--seed", type=int, default=0, help="seed of the learner's initial weights and noise (default 0)")
    lab = p.add_argument_group("labels (default: learn every labelled window)").add_mutually_exclusive_group()
    lab.add_argument(
        "--label-budget",
        type=float,
        default=None,
        metavar="Q",
        help="ask for labels on about the top Q fraction (0 < Q <= 1) most uncertain windows (by --label-score, "
        "judged against the last 200 windows); learn only those",
    )
    lab.add_argument(
        "--label-threshold",
        type=float,
        default=None,
        metavar="BITS",
        help="ask for labels on the windows whose --label-score is above BITS (>= 0); learn only those",
    )
    p.add_argument(
        "--label-score",
        dest="label_score",
        choices=("entropy", "mi"),
        default="entropy",
        help="the uncertainty a labelling policy ranks windows by: entropy of the prediction (default; no extra "
        "pass, and it saved more labels than mi on four real streams, docs/sensor_streams.md) or mi, the "
        "mutual information over the state's weight samples",
    )
    p.add_argument("--state", default=None, help="resume from this state file if it exists; save back to it")
    p.add_argument("--checkpoint-every", type=int, default=None, metavar="K", help="save every K windows")
    p.add_argument("--report-every", type=int, default=500, metavar="W", help="accuracy line every W windows")
    p.add_argument(
        "--plot", default=None, metavar="OUT.png", help="plot accuracy over time (needs the plot extra: matplotlib)"
    )
    p.set_defaults(func=cmd_learn)


# -- shared helpers -----------------------------------------------------------------------------------------
def _default(field: str) -> object:
    return FrontEndSpec.__dataclass_fields__[field].default


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
    if args.sensor_hz is not None:
        if pipe.sample_rate_hz is not None and args.sensor_hz != pipe.sample_rate_hz:
            raise ValueError(
                f"--sensor-hz {args.sensor_hz:g} disagrees with the state's sensor rate ({pipe.sample_rate_hz:g} Hz)"
            )
        pipe.sample_rate_hz = float(args.sensor_hz)
    return pipe


# -- learn ---------------------------------------------------------------------------------------------------
def _new_pipeline(args: argparse.Namespace, channels: list[str], learner: Any = None) -> SensorPipeline:
    if args.window is None:
        raise ValueError("--window is required for a new front end")
    kw = {key: getattr(args, arg) for arg, key in _SPEC_ARGS.items() if getattr(args, arg) is not None}
    spec = FrontEndSpec(channels=len(channels), **kw)
    classes = split_list(args.classes) or _scan_classes(args)
    if learner is not None:
        return SensorPipeline(spec, learner, classes, channel_names=channels, sample_rate_hz=args.sensor_hz)
    hidden = tuple(int(h) for h in split_list(args.hidden))
    return SensorPipeline.create(
        spec,
        classes,
        fixed=args.fixed,
        hidden=hidden,
        seed=args.seed,
        channel_names=channels,
        sample_rate_hz=args.sensor_hz,
    )


def _scan_classes(args: argparse.Namespace) -> list[str]:
    src, name = source(args)
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


def _check_learn_args(args: argparse.Namespace) -> None:
    """Everything that can be checked before reading the recording: outputs first, then options."""
    if args.state is not None:
        check_file(args.state, "--state")
    if args.json:
        check_file(args.json, "--json")
    if args.plot:
        check_file(args.plot, "--plot")
        require_matplotlib("--plot")
    check_distinct(
        {o: Path(v) for o, v in (("--state", args.state), ("--json", args.json), ("--plot", args.plot)) if v}
    )
    if args.label is None:
        raise ValueError("learn needs --label (the label column; empty cells are fine)")
    if args.checkpoint_every is not None and (args.state is None or args.checkpoint_every < 1):
        raise ValueError("--checkpoint-every needs --state and a number of windows >= 1")
    if args.report_every < 1:
        raise ValueError(f"--report-every must be >= 1, got {args.report_every}")
    if args.sensor_hz is not None and not 0 < args.sensor_hz < float("inf"):
        raise ValueError(f"--sensor-hz must be a finite number > 0, got {args.sensor_hz}")
    _label_policy(args)  # bad values are refused here, before the recording is read
    check_numbers(args)


def _label_policy(args: argparse.Namespace) -> LabelPolicy | None:
    """The labelling policy of ``--label-budget`` / ``--label-threshold`` (None: every label is used)."""
    budget, threshold = getattr(args, "label_budget", None), getattr(args, "label_threshold", None)
    if budget is not None and threshold is not None:
        raise ValueError("--label-budget and --label-threshold exclude each other: give one")
    if budget is not None:
        if not 0 < budget <= 1:
            raise ValueError(f"--label-budget must be a fraction in (0, 1], got {budget:g}")
        return BudgetedSelector(fraction=budget)
    if threshold is not None:
        if not 0 <= threshold < float("inf"):
            raise ValueError(f"--label-threshold must be a finite number of bits >= 0, got {threshold:g}")
        return UncertaintyGate(threshold=threshold)
    return None


def _open_for_learning(args: argparse.Namespace, info: Any) -> tuple[SensorPipeline, list[str]]:
    """The pipeline to learn into and the file's channel columns to read."""
    if args.state is None or not Path(args.state).exists():
        channels = file_columns(args, None, info)
        return _new_pipeline(args, channels), channels
    kind = load_state(args.state)[0]
    if kind == "SensorPipeline":
        pipe = _load_pipeline(args.state, args)
        channels = file_columns(args, pipe, info)
        if args.fixed and pipe.learner.input_format is None:
            raise ValueError(f"--fixed given but {args.state} holds a {type(pipe.learner).__name__}")
        return pipe, channels
    channels = file_columns(args, None, info)
    return _new_pipeline(args, channels, learner_class(kind).load(args.state)), channels


class _Tracker:
    """Accuracy over time in blocks of ``every`` windows, printed as blocks complete."""

    def __init__(self, every: int, write: Any) -> None:
        self.every, self.write = max(1, every), write
        self.blocks: list[dict[str, Any]] = []
        self.windows = self.labelled = self.correct = 0
        self.mi_sum, self.mi_n = 0.0, 0
        self.asked = self.learned = 0
        self._cur = [0, 0, 0]

    def add(self, batch: WindowBatch) -> None:
        for lab, ok in zip((batch.label >= 0).tolist(), batch.correct.tolist()):
            self.windows += 1
            self.labelled += lab
            self.correct += ok
            self._cur = [self._cur[0] + 1, self._cur[1] + lab, self._cur[2] + ok]
            if self._cur[0] == self.every:
                self._close()
        self.asked += int(batch.asked.sum())
        self.learned += int(batch.learned.sum())
        mi = batch.mi[np.isfinite(batch.mi) & (batch.label < 0)]
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
    _check_learn_args(args)
    policy = _label_policy(args)
    pipe, channels = _open_for_learning(args, write)
    pipe.frontend.freeze(args.freeze or pipe.frontend.frozen)
    rate = f", sensor {pipe.sample_rate_hz:g} Hz" if pipe.sample_rate_hz is not None else ""
    write(
        f"learning {source(args)[1]}: {pipe.spec.channels} channels, window {pipe.spec.window}, hop "
        f"{pipe.spec.hop}{rate}; {type(pipe.learner).__name__} {'-'.join(map(str, pipe.learner.layers))}, classes "
        f"{', '.join(pipe.classes) or '(from the labels)'}"
    )
    track, rows, since = _Tracker(args.report_every, write), 0, 0
    total = count_rows(args) if Progress.shown(args.quiet) else None
    with Progress(total, f"learning {Path(source(args)[1]).name}", unit="rows", quiet=args.quiet) as bar:
        if bar.active:
            track.write = bar.write
        for chunk in open_recording(args, channels, args.label):
            done = 0
            while done < len(chunk):
                limit = None if args.checkpoint_every is None else args.checkpoint_every - since
                batch = pipe.process(
                    chunk.samples[done:],
                    None if chunk.labels is None else chunk.labels[done:],
                    max_windows=limit,
                    label_policy=policy,
                    label_score=_SCORE_NAMES[args.label_score],
                )
                done += batch.consumed
                track.add(batch)
                since += len(batch)
                if args.checkpoint_every is not None and since == args.checkpoint_every:
                    pipe.save(args.state)
                    since = 0
                bar.update(batch.consumed)
            rows += len(chunk)
    track.write = write
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
    if policy is not None:
        score = "mutual information" if args.label_score == "mi" else "entropy"
        rule = (
            f"top {args.label_budget:g} of the windows by {score}"
            if args.label_budget is not None
            else f"{score} above {args.label_threshold:g} bits"
        )
        write(
            f"labels: asked for {track.asked} of {track.windows} windows ({rule}); learned {track.learned} "
            f"({_pct(track.learned, track.windows)} of the windows, {_pct(track.learned, track.labelled)} of the "
            f"{track.labelled} labels in the recording)"
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
        "sensor_hz": pipe.sample_rate_hz,
        "labels_used": track.learned,
        "labels_asked": track.asked if policy is not None else None,
        "label_policy": _policy_json(args),
    }
    write_json(args.json, result)
    if args.plot:
        _plot(track.blocks, args.plot, write)
    return 0


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}%" if b else "n/a"


_SCORE_NAMES = {"entropy": "entropy", "mi": "mutual_information"}


def _policy_json(args: argparse.Namespace) -> dict[str, Any] | None:
    score = _SCORE_NAMES[args.label_score]
    if args.label_budget is not None:
        return {"kind": "budget", "fraction": args.label_budget, "score": score}
    if args.label_threshold is not None:
        return {"kind": "threshold", "bits": args.label_threshold, "score": score}
    return None


def _plot(blocks: list[dict], path: str, write: Any) -> None:
    plt = pyplot("--plot")
    fig, ax = plt.subplots(figsize=(7, 3))
    xs = [b["windows"][1] for b in blocks if b["accuracy"] is not None]
    ax.plot(xs, [100 * b["accuracy"] for b in blocks if b["accuracy"] is not None], marker="o")
    ax.set_xlabel("window")
    ax.set_ylabel("prequential accuracy (%)")
    fig.tight_layout()
    save_png(fig, path)
    write(f"plot written to {path}")
