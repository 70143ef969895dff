"""The ``sweep`` and ``fleet`` sub-commands, registered into the main CLI by :func:`add_commands`.

Exit codes: 0 done, 2 bad input (spec, output path, backend, options) refused before anything runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .outputs import check_file
from .plotting import require_matplotlib
from .progress import Progress, add_quiet_argument

__all__ = ["add_commands"]


def _backend_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("local", "ray"), default="local", help="local process pool (default) or Ray")
    p.add_argument("--address", default=None, help="Ray cluster address (default: start a local instance)")
    p.add_argument("--workers", type=int, default=1, help="worker processes / Ray CPUs (default 1)")


def add_commands(subparsers: Any) -> None:
    """Register ``sweep`` and ``fleet`` on an argparse sub-parser collection."""
    s = subparsers.add_parser(
        "sweep",
        help="run a quantisation sweep from a TOML spec (resumable)",
        description="Run every configuration of a sweep spec (TOML) and append one row per run to the results "
        "file; runs already in the file are skipped, so an interrupted sweep resumes. Exit code 2: bad spec, "
        "output path, backend or option (refused before anything runs).",
    )
    s.add_argument("spec", help="sweep spec (TOML), e.g. examples/sweeps/quant-small.toml")
    s.add_argument("--out", required=True, help="results file: .csv, or .parquet (needs pyarrow)")
    s.add_argument("--data", default=None, help="MNIST directory for pmnist streams (default $EDGE_MESU_MNIST)")
    s.add_argument("--plot", default=None, metavar="OUT.png", help="accuracy vs state bytes, per device")
    _backend_args(s)
    add_quiet_argument(s)
    s.set_defaults(func=_cmd_sweep)
    f = subparsers.add_parser(
        "fleet",
        help="simulate a fleet of devices learning their own streams",
        description="Simulate K devices, each learning its own variant of the generated sensor stream with the "
        "fixed-point learner, optionally fusing their posteriors; reports accuracy, novelty detection and each "
        "device's budget. Exit code 2: bad option or output path (refused before anything runs).",
    )
    f.add_argument("--devices", type=int, required=True, help="number of simulated devices K")
    f.add_argument("--samples", type=int, required=True, help="windows per device S")
    f.add_argument("--device", default="stm32l4", help="device profile (default stm32l4)")
    f.add_argument("--rate", type=float, default=50.0, help="windows per second delivered to the learner")
    f.add_argument("--seed", type=int, default=0, help="seed of every device's stream and learner (default 0)")
    f.add_argument("--hidden", type=int, default=32, help="hidden units of each device's learner (default 32)")
    f.add_argument("--fuse-every", type=int, default=None, metavar="T", help="fuse posteriors every T windows")
    f.add_argument(
        "--fusion",
        choices=("product", "average"),
        default="product",
        help="product of Gaussians (default) or the tempered mean of the devices' changes",
    )
    f.add_argument("--json", default=None, metavar="OUT.json", help="write the report as JSON")
    f.add_argument(
        "--plot",
        nargs="?",
        const="fleet.png",
        default=None,
        metavar="OUT.png",
        help="plot accuracy over time (default fleet.png)",
    )
    _backend_args(f)
    add_quiet_argument(f)
    f.set_defaults(func=_cmd_fleet)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import load_spec, plan_sweep, read_rows, run_sweep, summary_table
    from .sweep.backends import check_backend
    from .sweep.store import check_output

    try:
        check_backend(args.backend, args.workers, args.address)
        check_output(args.out)
        check_file(args.out, "--out")
        if args.plot:
            check_file(args.plot, "--plot")
            require_matplotlib("--plot")
        spec = load_spec(args.spec)
        total = len(plan_sweep(spec, args.data))
    except (ValueError, ImportError) as exc:
        print(f"edge-mesu sweep: error: {exc}", file=sys.stderr)
        return 2
    done = min(total, len(read_rows(args.out)))
    with Progress(total, f"sweep {spec.name}", unit="runs", initial=done, quiet=args.quiet) as bar:
        res = run_sweep(
            spec,
            args.out,
            args.backend,
            args.workers,
            args.address,
            args.data,
            progress=lambda done, _t, row: bar.set(done, f"acc {100 * row['accuracy']:.1f}%"),
        )
    print(f"{spec.name}: {res.ran} run(s) done, {res.skipped} already in {args.out}")
    print(summary_table(res.rows, res.swept))
    if args.plot:
        from .sweep import plot_pareto

        print(f"plot written to {plot_pareto(res.rows, args.plot)}")
    return 0


def _cmd_fleet(args: argparse.Namespace) -> int:
    from edge_mesu.statefile import atomic_write_bytes

    from .fleet import FleetConfig, format_fleet, plot_fleet, run_fleet
    from .sweep.backends import check_backend

    try:
        check_backend(args.backend, args.workers, args.address)
        cfg = FleetConfig(
            devices=args.devices,
            samples=args.samples,
            device=args.device,
            rate=args.rate,
            seed=args.seed,
            hidden=args.hidden,
            fuse_every=args.fuse_every,
            fusion=args.fusion,
        )
        from firmware_sim import load_device

        load_device(cfg.device)
        if args.json:
            check_file(args.json, "--json")
        if args.plot:
            check_file(args.plot, "--plot")
            require_matplotlib("--plot")
    except (ValueError, OSError, ImportError) as exc:
        print(f"edge-mesu fleet: error: {exc}", file=sys.stderr)
        return 2
    with Progress(cfg.samples, f"fleet of {cfg.devices} devices", unit="windows", quiet=args.quiet) as bar:
        report = run_fleet(cfg, args.backend, args.workers, args.address, progress=lambda t, _total: bar.set(t))
    print(format_fleet(report))
    if args.json:
        atomic_write_bytes(args.json, (json.dumps(report, indent=1) + "\n").encode())
        print(f"report written to {args.json}")
    if args.plot:
        print(f"plot written to {plot_fleet(report, args.plot)}")
    return 0
