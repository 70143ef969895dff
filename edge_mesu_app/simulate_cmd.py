"""Check a state against a device: will it fit (flash, RAM), will it keep up (latency at the window rate)?

Exit codes: 0 every budget holds, 1 a budget is violated (the message names it and its largest consumer),
2 bad input (unknown device, malformed profile, bad rate or queue, unreadable state file, unwritable output).

The rate that matters is the learner's: windows (learner inputs) per second. For a sensor pipeline state
(from 'edge-mesu learn' or the demo) it is derived from the state: sensor rate / hop. The sensor rate is
the one recorded by 'learn --sensor-hz' unless --sensor-hz is given here. For a bare learner state (no
front end) give --window-rate. The report says which rate it used and where it came from.

The replay stream is generated: --samples Gaussian N(0, 1) inputs of the learner's input size (seed 0),
labelled by a random linear teacher. It is meant for timing and queueing; the accuracy it reports only
shows that the real learner ran, not how it does on your sensor. A pipeline's front end is costed from
its operation count per window (it is not replayed).
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
from edge_mesu.statefile import atomic_write_bytes
from firmware_sim.device import load_device
from firmware_sim.plot import plot_report
from firmware_sim.simulate import simulate
from firmware_sim.stream import check_queue, check_rate
from firmware_sim.views import assume_fixed_point

from .outputs import check_file, user_error
from .plotting import require_matplotlib

__all__ = ["add_commands", "handler", "generated_stream"]


def add_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``simulate`` on an ``argparse`` sub-parser collection; return its parser."""
    p = subparsers.add_parser(
        "simulate",
        help="check a state against a device's flash, RAM and latency budgets",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--state", required=True, help="state file (a pipeline from 'learn' or the demo, or a learner)")
    p.add_argument(
        "--device", required=True, help="device profile: stm32l4, nrf52840, stm32h7, rp2040, esp32s3 or a .toml path"
    )
    rate = p.add_argument_group("rate (learner inputs per second)")
    rate.add_argument(
        "--sensor-hz",
        type=float,
        metavar="HZ",
        help="pipeline state: raw sensor samples per second; the window rate is HZ / hop (default: the rate "
        "recorded in the state by 'learn --sensor-hz')",
    )
    rate.add_argument(
        "--window-rate",
        type=float,
        metavar="HZ",
        help="windows (learner inputs) per second: required for a bare learner state; for a pipeline state it "
        "replaces the derived rate",
    )
    rate.add_argument(
        "--rate",
        type=float,
        metavar="HZ",
        help="deprecated: the same as --window-rate for a bare learner state; refused for a pipeline state",
    )
    p.add_argument(
        "--mode",
        choices=("learn", "infer"),
        default="learn",
        help="learn: predict and learn every window (default); infer: predict only, int8 weights in flash",
    )
    p.add_argument("--queue", type=int, default=4, help="windows that may wait while one is processed (default 4)")
    p.add_argument("--samples", type=int, default=500, help="generated windows to replay (default 500)")
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
    p.add_argument(
        "--measured",
        metavar="EMULATE.json",
        help="learn mode, a Cortex-M4 profile: use the figures 'edge-mesu emulate --json' measured (instructions "
        "per window, library flash and RAM) instead of the model's; the report marks each figure",
    )
    p.add_argument("--json", metavar="OUT.json", help="write the report as JSON")
    p.add_argument(
        "--plot", metavar="OUT.png", help="plot lateness and queue length (needs the plot extra: matplotlib)"
    )
    p.set_defaults(func=handler)
    return p


def generated_stream(learner: Any, samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian inputs of the learner's input size labelled by a random linear teacher (timing only)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, int(learner.layers[0])))
    teacher = rng.standard_normal((int(learner.layers[0]), int(learner.layers[-1])))
    return X, (X @ teacher).argmax(axis=1)


def window_rate(args: argparse.Namespace, loaded: Any) -> tuple[float, str]:
    """The learner's input rate (windows/s) for the state ``loaded`` and how it was derived (one phrase)."""
    given = [f"--{n.replace('_', '-')}" for n in ("sensor_hz", "window_rate", "rate") if getattr(args, n) is not None]
    if len(given) > 1:
        raise ValueError(f"give one of {', '.join(given)}, not several")
    if not isinstance(loaded, SensorPipeline):
        if args.sensor_hz is not None:
            raise ValueError(
                f"--sensor-hz needs a pipeline state (a front end turns samples into windows); {args.state} holds a "
                f"bare {type(loaded).__name__}: give --window-rate (learner inputs per second)"
            )
        if args.window_rate is None and args.rate is None:
            raise ValueError(f"{args.state} holds a bare learner: give --window-rate (learner inputs per second)")
        if args.rate is not None:
            print("warning: --rate is deprecated: say --window-rate", file=sys.stderr)
            return check_rate(args.rate), "given with --rate (deprecated, read as --window-rate)"
        return check_rate(args.window_rate), "given with --window-rate"
    hop = loaded.spec.hop_samples
    if args.rate is not None:
        raise ValueError(
            f"--rate is ambiguous for a pipeline state: its front end makes one window every {hop} samples. "
            f"Give the sensor's rate with --sensor-hz (window rate = sensor rate / {hop}), or --window-rate"
        )
    if args.window_rate is not None:
        return check_rate(args.window_rate), "given with --window-rate"
    if args.sensor_hz is not None:
        hz, source = check_rate(args.sensor_hz), "--sensor-hz"
    elif loaded.sample_rate_hz is not None:
        hz, source = loaded.sample_rate_hz, "recorded in the state"
    else:
        raise ValueError(
            f"{args.state} does not record its sensor's rate: give --sensor-hz HZ (raw samples per second; the "
            f"window rate is HZ / hop {hop}), or record it with 'edge-mesu learn ... --sensor-hz HZ'"
        )
    return hz / hop, f"sensor {hz:g} Hz ({source}) / hop {hop} samples"


def _inputs(args: argparse.Namespace) -> tuple[Any, Any, NetworkDescription, float, str, int, Any]:
    """(device, the learner to run, the description to cost, window rate, its derivation, queue, measured)."""
    from firmware_sim.measured import load_measured

    device = load_device(args.device)
    measured = load_measured(args.measured) if args.measured else None
    if measured is not None and args.mode != "learn":
        raise ValueError("--measured holds the learning device loop's figures: use it with --mode learn")
    queue = check_queue(args.queue)
    if isinstance(args.samples, bool) or not isinstance(args.samples, int) or args.samples < 1:
        raise ValueError(f"--samples must be an integer >= 1, got {args.samples!r}")
    if args.json:
        check_file(args.json, "--json")
    if args.plot:
        check_file(args.plot, "--plot")
        require_matplotlib("--plot")
    loaded = load_learner(args.state)
    rate, how = window_rate(args, loaded)
    desc = loaded.describe()  # a pipeline's description includes its front end
    learner = loaded.learner if isinstance(loaded, SensorPipeline) else loaded
    if args.assume_fixed:
        desc = assume_fixed_point(desc)
    return device, learner, desc, rate, how, queue, measured


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
        device, learner, desc, rate, how, queue, measured = _inputs(args)
        tflm = tflm_arena_of(args.tflite, learner, args.mode) if args.tflite else None
        report = simulate(
            learner,
            device,
            generated_stream(learner, args.samples),
            rate_hz=rate,
            queue=queue,
            mode=args.mode,
            tflm_arena=tflm,
            description=desc,
            measured=measured,
        )
    except (OSError, ValueError, EdgeMesuError) as exc:
        print(f"error: {user_error(exc)}", file=sys.stderr)
        return 2
    print(f"rate: {rate:.4g} windows/s = {how}")
    print(report.format_table())
    if args.json:
        payload = {**report.to_dict(), "rate_derivation": how}
        try:
            atomic_write_bytes(args.json, (json.dumps(payload, indent=2) + "\n").encode("utf-8"))
        except OSError as exc:
            print(f"error: {user_error(exc)}", file=sys.stderr)
            return 2
    if args.plot:
        plot_report(report, args.plot)
        print(f"plot written to {args.plot}")
    if not report.ok:
        for message in report.violations:
            print(f"violation: {message}", file=sys.stderr)
        return 1
    return 0
