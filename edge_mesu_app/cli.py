"""The ``edge-mesu`` command line: every subcommand, registered explicitly.

The CLI is the top of the app layer: it wires the core (``edge_mesu``), ``export`` and ``firmware_sim``
together; none of them imports it. Each command module has an ``add_commands(subparsers)`` that registers
its subcommands with a handler ``func(args) -> exit code``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import export_cmd, learn_cmd, simulate_cmd, sweep_cmd
from .bench import river as river_bench

__all__ = ["main", "build_parser"]


def _add_bench(sub: Any) -> None:
    bench = sub.add_parser("bench", help="run a benchmark (pmnist, throughput, river)")
    which = bench.add_subparsers(dest="bench", required=True)
    p = which.add_parser("pmnist", help="permuted-MNIST continual learning (the MESU papers' protocol)")
    p.add_argument("--data", default=None, help="MNIST IDX directory (default: $EDGE_MESU_MNIST)")
    p.add_argument("--tasks", type=int, default=10)
    p.add_argument(
        "--learners", default="mesu,sgd", help="comma list of mesu, mesu10, fixed, fixed-nearest, fixed-c, sgd"
    )
    p.add_argument("--samples-per-task", type=int, default=None, help="default: all 60,000")
    p.add_argument("--test-samples", type=int, default=0, help="weight samples at test (0 = mean weights)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1, help="learners run in this many processes")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="LEARNER.KEY=VALUE",
        help="override a constructor argument, e.g. --set mesu.sigma_init=0.05 (JSON value)",
    )
    p.add_argument("--json", default=None, metavar="OUT.json", help="write (merge) results as JSON")
    p.set_defaults(func=_cmd_bench_pmnist)
    t = which.add_parser("throughput", help="learn_one / predict_one per second, 784-50-10")
    t.add_argument("--learners", default="mesu,fixed,fixed-c,sgd")
    t.add_argument("--n", type=int, default=500, help="samples per repeat")
    t.add_argument("--repeats", type=int, default=5)
    t.add_argument("--json", default=None, metavar="OUT.json")
    t.set_defaults(func=_cmd_bench_throughput)
    r = which.add_parser(
        "river",
        help="progressive validation against river's classifiers (needs the river extra)",
        description=river_bench.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    river_bench.add_arguments(r)
    r.set_defaults(func=river_bench.handler)


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
    from .bench.pmnist import format_summary, run_pmnist

    learners = tuple(n.strip() for n in args.learners.split(",") if n.strip())
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
    )
    print(format_summary(result))
    return 0


def _cmd_bench_throughput(args: argparse.Namespace) -> int:
    from edge_mesu.statefile import atomic_write_bytes

    from .bench.throughput import format_throughput, run_throughput

    learners = tuple(n.strip() for n in args.learners.split(",") if n.strip())
    result = run_throughput(learners, n=args.n, repeats=args.repeats)
    print(format_throughput(result))
    if args.json:
        atomic_write_bytes(Path(args.json), (json.dumps(result, indent=1) + "\n").encode())
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(
        windows=args.windows,
        seed=args.seed,
        out_dir=Path(args.out),
        device=args.device,
        learner_kind=args.learner,
        export=not args.no_export,
        write=print,
    )


def _cmd_info(args: argparse.Namespace) -> int:
    from edge_mesu.statefile import load_state

    kind, meta, arrays = load_state(args.state)
    size = Path(args.state).stat().st_size
    print(f"{args.state}: {kind}, {size} bytes, step {meta.get('step')}")
    print(json.dumps(meta.get("init", {}), indent=1))
    for name, arr in arrays.items():
        print(f"  {name:12s} {arr.dtype.name:8s} {tuple(arr.shape)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-mesu", description="Lifelong on-device learning with MESU.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="learn the bundled sensor stream, check a device budget, export")
    demo.add_argument("--windows", type=int, default=3000, help="windows of the generated sensor stream")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--learner", choices=("fixed", "float"), default="fixed")
    demo.add_argument("--device", default="stm32l4", help="device profile for the budget check")
    demo.add_argument("--out", default="edge-mesu-demo", help="directory for the state file and artefacts")
    demo.add_argument("--no-export", action="store_true", help="skip the ONNX/TFLite export step")
    demo.set_defaults(func=_cmd_demo)
    info = sub.add_parser("info", help="describe a state file")
    info.add_argument("state")
    info.set_defaults(func=_cmd_info)
    _add_bench(sub)
    for add_commands in (
        simulate_cmd.add_commands,
        export_cmd.add_commands,
        sweep_cmd.add_commands,
        learn_cmd.add_commands,
    ):
        add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f"edge-mesu {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
