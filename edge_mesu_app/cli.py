"""The ``edge-mesu`` command line: every subcommand, registered explicitly.

The CLI is the top of the app layer: it wires the core (``edge_mesu``), ``export`` and ``firmware_sim``
together; none of them imports it. Each command module has an ``add_commands(subparsers)`` that registers
its subcommands with a handler ``func(args) -> exit code``. Help texts are for users: plain text, one line
per option, one line per subcommand (``tests/test_cli_help.py`` walks them all).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edge_mesu.errors import EdgeMesuError
from edge_mesu.registry import VARIANTS

from . import emulate_cmd, export_cmd, info_cmd, learn_cmd, predict_cmd, simulate_cmd, sweep_cmd
from .bench import river as river_bench
from .bench import sensors as sensors_bench
from .outputs import check_dir, check_file, user_error
from .progress import add_quiet_argument

__all__ = ["main", "build_parser"]


def _add_bench(sub: Any) -> None:
    bench = sub.add_parser(
        "bench",
        help="run a benchmark (pmnist, throughput, river, sensors)",
        description="Run one of the shipped benchmarks; each prints a table and can write JSON.",
    )
    which = bench.add_subparsers(dest="bench", required=True, metavar="{pmnist,throughput,river}")
    p = which.add_parser(
        "pmnist",
        help="permuted-MNIST continual learning (the MESU papers' protocol)",
        description="Permuted-MNIST continual learning, the MESU papers' protocol: 784-50-10 network, one pass "
        "per task, no task boundaries; accuracy on every task seen after each task. Needs the MNIST IDX files.",
    )
    p.add_argument("--data", default=None, help="MNIST IDX directory (default: $EDGE_MESU_MNIST)")
    p.add_argument("--tasks", type=int, default=10, help="number of permutations (tasks), default 10")
    p.add_argument(
        "--learners",
        default="mesu,sgd",
        help="comma list of " + ", ".join(VARIANTS) + " (plain names: the device preset, local "
        "reparameterisation; -weights: weight sampling)",
    )
    p.add_argument("--samples-per-task", type=int, default=None, help="training images per task (default: all 60,000)")
    p.add_argument(
        "--test-samples", type=int, default=0, help="weight samples per test prediction (default 0: mean weights)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the permutations and the learners (default 0)")
    p.add_argument("--jobs", type=int, default=1, help="learners run in this many processes")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="LEARNER.KEY=VALUE",
        help="override a constructor argument, e.g. --set mesu.sigma_init=0.05 (JSON value)",
    )
    p.add_argument("--json", default=None, metavar="OUT.json", help="write (merge) results as JSON")
    add_quiet_argument(p)
    p.set_defaults(func=_cmd_bench_pmnist)
    t = which.add_parser(
        "throughput",
        help="learn_one / predict_one per second, 784-50-10",
        description="learn_one and predict_one per second of each learner on a 784-50-10 network (median of the "
        "repeats, one process).",
    )
    t.add_argument("--learners", default="mesu,fixed,fixed-c,sgd", help="comma list of learners (as for pmnist)")
    t.add_argument("--n", type=int, default=500, help="samples per repeat (default 500)")
    t.add_argument("--repeats", type=int, default=5, help="repeats; the median is reported (default 5)")
    t.add_argument("--json", default=None, metavar="OUT.json", help="write the results as JSON")
    add_quiet_argument(t)
    t.set_defaults(func=_cmd_bench_throughput)
    r = which.add_parser(
        "river",
        help="progressive validation against river's classifiers (needs the river extra)",
        description=river_bench.DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    river_bench.add_arguments(r)
    r.set_defaults(func=river_bench.handler)
    s = which.add_parser(
        "sensors",
        help="real sensor streams: MESU against SGD's learning-rate curve and replay",
        description=sensors_bench.DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sensors_bench.add_arguments(s)
    s.set_defaults(func=sensors_bench.handler)


def _parse_overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        learner, dot, name = key.partition(".")
        if not (sep and dot and learner and name):
            raise ValueError(f"--set expects LEARNER.KEY=VALUE, got {item!r}")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        out.setdefault(learner, {})[name] = parsed
    return out


def _cmd_bench_pmnist(args: argparse.Namespace) -> int:
    from .bench.pmnist import format_summary, make_learner, run_pmnist

    if args.json:
        check_file(args.json, "--json")
    learners = tuple(n.strip() for n in args.learners.split(",") if n.strip())
    for name in learners:
        make_learner(name)  # unknown names are refused before the data is read
    result = run_pmnist(
        args.data,
        tasks=args.tasks,
        learners=learners,
        samples_per_task=args.samples_per_task,
        test_samples=args.test_samples,
        seed=args.seed,
        jobs=args.jobs,
        json_path=args.json,
        overrides=_parse_overrides(args.set),
        progress=not args.quiet,
    )
    print(format_summary(result))
    return 0


def _cmd_bench_throughput(args: argparse.Namespace) -> int:
    from edge_mesu.statefile import atomic_write_bytes

    from .bench.throughput import format_throughput, run_throughput

    if args.json:
        check_file(args.json, "--json")
    if args.n < 1 or args.repeats < 1:
        raise ValueError(f"--n and --repeats must be >= 1, got {args.n} and {args.repeats}")
    learners = tuple(n.strip() for n in args.learners.split(",") if n.strip())
    result = run_throughput(learners, n=args.n, repeats=args.repeats, progress=not args.quiet)
    print(format_throughput(result))
    if args.json:
        atomic_write_bytes(Path(args.json), (json.dumps(result, indent=1) + "\n").encode())
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from firmware_sim import load_device

    from .demo import run_demo

    if args.windows < 100:
        raise ValueError(f"--windows must be >= 100 (the new class needs room to appear), got {args.windows}")
    load_device(args.device)  # an unknown device is refused before the stream is learned
    out_dir = check_dir(args.out, "--out")
    return run_demo(
        windows=args.windows,
        seed=args.seed,
        out_dir=out_dir,
        device=args.device,
        learner_kind=args.learner,
        export=not args.no_export,
        plot=not args.no_plot,
        write=print,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-mesu",
        description="Lifelong on-device learning with MESU: learn a sensor stream without forgetting, check that "
        "the learner fits a microcontroller, export it (ONNX, TFLite, C). Start with 'edge-mesu demo'; "
        "'edge-mesu COMMAND --help' describes each command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="the whole job on a generated sensor stream: learn, flag a new class, fit a device, export",
        description="Learn a generated 3-axis accelerometer stream (a new class appears half-way), show the "
        "uncertainty flag it, check a device's budgets and export the network; writes the state, the artefacts "
        "and a plot into --out. Ends with the commands to do the same on your own recording.",
    )
    demo.add_argument("--windows", type=int, default=3000, help="windows of the generated sensor stream (default 3000)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the stream and the learner (default 0)")
    demo.add_argument(
        "--learner", choices=("fixed", "float"), default="fixed", help="fixed point (default) or the float reference"
    )
    demo.add_argument("--device", default="stm32l4", help="device profile for the budget check (default stm32l4)")
    demo.add_argument(
        "--out", default="edge-mesu-demo", help="directory for the state, artefacts and plot (default edge-mesu-demo)"
    )
    demo.add_argument("--no-export", action="store_true", help="skip the ONNX/TFLite export step")
    demo.add_argument("--no-plot", action="store_true", help="do not write the plot (demo.png)")
    demo.set_defaults(func=_cmd_demo)
    info_cmd.add_commands(sub)
    _add_bench(sub)
    for add_commands in (
        simulate_cmd.add_commands,
        export_cmd.add_commands,
        sweep_cmd.add_commands,
        learn_cmd.add_commands,
        predict_cmd.add_commands,
        emulate_cmd.add_commands,
    ):
        add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # the reader went away (| head): no message, the shell's code for SIGPIPE
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ValueError, OSError, EdgeMesuError) as exc:  # EdgeMesuError: a missing extra, a missing runtime
        print(f"edge-mesu {args.command}: error: {user_error(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
