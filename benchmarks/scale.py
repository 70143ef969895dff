"""Scale figures: fleet and sweep throughput with 1 and 2 workers on the local and Ray backends.

    python benchmarks/scale.py [--devices 128] [--samples 600] [--json benchmarks/results/scale.json]

Prints a table and writes JSON: device-samples per second (fleet), runs per second (sweep) and the speed-up
of 2 workers over 1 on each backend, measured on the wall clock. For the fleet it also gives the critical
path (device-samples / the busiest shard's own CPU time), which is what dedicated cores would deliver when
other processes share the machine; the 1-minute load average before each point is recorded. A local Ray
instance (``num_cpus`` = the largest worker count) is
started once, timed, and shut down; its start-up is reported apart and not charged to the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from edge_mesu.statefile import atomic_write_bytes
from edge_mesu_app.fleet import FleetConfig, run_fleet
from edge_mesu_app.sweep import load_spec, run_sweep

ROOT = Path(__file__).resolve().parents[1]


def fleet_point(cfg: FleetConfig, backend: str, workers: int) -> dict[str, Any]:
    """Measured wall-clock throughput, and the critical path: the busiest shard's own CPU time."""
    load = os.getloadavg()[0]
    rep = run_fleet(cfg, backend=backend, workers=workers)
    n = rep["device_samples"]
    return {
        "what": "fleet",
        "backend": backend,
        "workers": workers,
        "wall_s": round(rep["wall_s"], 2),
        "device_samples": n,
        "per_s": round(n / rep["wall_s"], 1),
        "shard_cpu_s": rep["shard_cpu_s"],
        "cpu_per_s": round(n / max(rep["shard_cpu_s"]), 1),
        "ms_per_device_sample": round(1e3 * sum(rep["shard_cpu_s"]) / n, 3),
        "load_before": round(load, 2),
        "accuracy_p50": rep["accuracy_p50"],
    }


def sweep_point(spec_path: Path, backend: str, workers: int) -> dict[str, Any]:
    load = os.getloadavg()[0]
    spec = load_spec(spec_path)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = run_sweep(spec, Path(tmp) / "rows.csv", backend=backend, workers=workers)
        wall = time.perf_counter() - t0
    return {
        "what": "sweep",
        "backend": backend,
        "workers": workers,
        "wall_s": round(wall, 2),
        "runs": res.ran,
        "per_s": round(res.ran / wall, 3),
        "load_before": round(load, 2),
        "s_per_run": round(sum(r["wall_s"] for r in res.rows) / res.ran, 2),
    }


def speedups(points: list[dict[str, Any]]) -> None:
    """Add ``speedup`` (per_s over the same backend's 1-worker point) to every point."""
    base = {(p["what"], p["backend"]): p for p in points if p["workers"] == 1}
    for p in points:
        one = base[(p["what"], p["backend"])]
        p["speedup"] = round(p["per_s"] / one["per_s"], 2)
        if "cpu_per_s" in p:  # what dedicated cores give: the busiest shard sets the pace
            p["cpu_speedup"] = round(p["cpu_per_s"] / one["cpu_per_s"], 2)


def run(args: argparse.Namespace) -> dict[str, Any]:
    cfg = FleetConfig(devices=args.devices, samples=args.samples, hidden=args.hidden, seed=0)
    spec = ROOT / "examples" / "sweeps" / "quant-small.toml"
    points = []
    for w in args.workers:
        points.append(fleet_point(cfg, "local", w))
        points.append(sweep_point(spec, "local", w))
    ray_start = None
    if not args.no_ray:
        import ray

        t0 = time.perf_counter()
        ray.init(num_cpus=max(args.workers), include_dashboard=False, log_to_driver=False, configure_logging=False)
        ray_start = round(time.perf_counter() - t0, 2)
        try:
            for w in args.workers:
                points.append(fleet_point(cfg, "ray", w))
                points.append(sweep_point(spec, "ray", w))
        finally:
            ray.shutdown()
    speedups(points)
    return {
        "benchmark": "scale",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
        "fleet": cfg.to_dict(),
        "sweep_spec": str(spec.relative_to(ROOT)),
        "ray_startup_s": ray_start,
        "points": points,
    }


def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"{'what':6s} {'backend':7s} {'workers':>7s} {'wall s':>8s} {'per s':>10s} {'speed-up':>8s} "
        f"{'CPU-path/s':>10s} {'speed-up':>8s} {'load':>5s}"
    ]
    for p in result["points"]:
        unit = "dev-samples" if p["what"] == "fleet" else "runs"
        cpu = f"{p['cpu_per_s']:10.1f} {p['cpu_speedup']:8.2f}" if "cpu_per_s" in p else f"{'':10s} {'':8s}"
        lines.append(
            f"{p['what']:6s} {p['backend']:7s} {p['workers']:7d} {p['wall_s']:8.1f} {p['per_s']:10.2f} "
            f"{p['speedup']:8.2f} {cpu} {p.get('load_before', 0):5.2f}  ({unit}/s)"
        )
    if result["ray_startup_s"] is not None:
        lines.append(f"local Ray instance start-up: {result['ray_startup_s']:.1f} s (not charged to the runs)")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--devices", type=int, default=128)
    p.add_argument("--samples", type=int, default=600)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--no-ray", action="store_true", help="local backend only")
    p.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "scale.json"))
    args = p.parse_args()
    result = run(args)
    print(format_table(result))
    atomic_write_bytes(args.json, (json.dumps(result, indent=1) + "\n").encode())
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
