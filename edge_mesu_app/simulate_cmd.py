"""The ``simulate`` sub-command, registered into the main CLI by :func:`add_commands`.

Exit codes: 0 every budget holds, 1 a budget is violated (the message names it and its largest consumer),
2 bad input (unknown device, malformed profile, bad rate or queue, unreadable state file).

The replay stream is generated: ``--samples`` Gaussian N(0, 1) inputs of the learner's input size (seed 0),
labelled by a random linear teacher (argmax of x @ T, T Gaussian). It is meant for timing and queueing; the
accuracy it reports only shows that the real learner ran, not how it does on your sensor. A learner with
a front end still gets inputs of the learner's size (the front end's cost is added
from its ``cycles_per_sample()``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from edge_mesu import SensorPipeline
from edge_mesu.errors import EdgeMesuError
from edge_mesu.interface import NetworkDescription
from edge_mesu.loading import load_learner
from firmware_sim.device import load_device
from firmware_sim.plot import plot_report
from firmware_sim.simulate import simulate
from firmware_sim.stream import check_queue, check_rate
from firmware_sim.views import assume_fixed_point

__all__ = ["add_commands", "handler", "generated_stream"]


def add_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``simulate`` on an ``argparse`` sub-parser collection; return its parser."""
    p = subparsers.add_parser(
        "simulate",
        help="will it fit, will it keep up? (device budget check)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--state", required=True, help="learner state file")
    p.add_argument("--device", required=True, help="shipped device name or path of a TOML profile")
    p.add_argument("--rate", required=True, type=float, help="sensor rate in Hz (> 0)")
    p.add_argument("--mode", choices=("learn", "infer"), default="learn")
    p.add_argument("--queue", type=int, default=4, help="samples that may wait (default 4)")
    p.add_argument("--samples", type=int, default=500, help="generated samples to replay (default 500)")
    p.add_argument(
        "--assume-fixed",
        action="store_true",
        help="cost a float learner as fixed point (3 bytes of state per parameter)",
    )
    p.add_argument(
        "--tflite",
        metavar="MODEL.tflite",
        help="with --mode infer: the exported int8 model; its measured TFLM arena (stored by "
        "'edge-mesu export --check tflm', else measured now; needs tflite-micro) is shown "
        "beside the estimate and budgeted when larger",
    )
    p.add_argument("--json", metavar="OUT.json", help="write the report as JSON")
    p.add_argument("--plot", metavar="OUT.png", help="plot lateness and queue length (needs matplotlib)")
    p.set_defaults(func=handler)
    return p


def generated_stream(learner: Any, samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian inputs of the learner's input size labelled by a random linear teacher (timing only)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, int(learner.layers[0])))
    teacher = rng.standard_normal((int(learner.layers[0]), int(learner.layers[-1])))
    return X, (X @ teacher).argmax(axis=1)


def _inputs(args: argparse.Namespace) -> tuple[Any, Any, NetworkDescription, float, int]:
    """(device, the learner to run, the description to cost, rate, queue)."""
    device = load_device(args.device)
    rate = check_rate(args.rate)
    queue = check_queue(args.queue)
    if isinstance(args.samples, bool) or not isinstance(args.samples, int) or args.samples < 1:
        raise ValueError(f"--samples must be an integer >= 1, got {args.samples!r}")
    loaded = load_learner(args.state)
    desc = loaded.describe()  # a pipeline's description includes its front end
    learner = loaded.learner if isinstance(loaded, SensorPipeline) else loaded
    if args.assume_fixed:
        desc = assume_fixed_point(desc)
    return device, learner, desc, rate, queue


def tflm_arena_of(path: str, learner: Any, mode: str) -> Any:
    """The measured TFLM arena of the ``.tflite`` at ``path`` (its metadata, else measured now)."""
    from export.tflite_export import model_to_plan
    from export.tflm import measure_arena, read_arena
    from export.validate import validate_tflite

    if mode != "infer":
        raise ValueError("--tflite needs --mode infer: it measures the exported network")
    sizes = model_to_plan(validate_tflite(path)).sizes
    if tuple(sizes) != tuple(int(v) for v in learner.layers):
        raise ValueError(f"{path} holds a {sizes} network, the state file a {tuple(learner.layers)} one")
    try:
        return read_arena(path) or measure_arena(path)
    except RuntimeError as exc:
        raise ValueError(f"{path}: {exc}") from None


def handler(args: argparse.Namespace) -> int:
    """Run the simulation the arguments describe, print the table; return the exit code."""
    try:
        device, learner, desc, rate, queue = _inputs(args)
        tflm = tflm_arena_of(args.tflite, learner, args.mode) if args.tflite else None
    except (OSError, ValueError, EdgeMesuError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = simulate(
        learner,
        device,
        generated_stream(learner, args.samples),
        rate_hz=rate,
        queue=queue,
        mode=args.mode,
        tflm_arena=tflm,
        description=desc,
    )
    print(report.format_table())
    if args.json:
        try:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(report.to_dict(), fh, indent=2)
        except OSError as exc:
            print(f"error: cannot write {args.json}: {exc.strerror}", file=sys.stderr)
            return 2
    if args.plot:
        try:
            plot_report(report, args.plot)
        except ImportError as exc:
            print(f"warning: no plot written: {exc}", file=sys.stderr)
    if not report.ok:
        for message in report.violations:
            print(f"violation: {message}", file=sys.stderr)
        return 1
    return 0
