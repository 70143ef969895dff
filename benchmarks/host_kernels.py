"""The host library's learn kernel alone, build by build: what the vector loops and their choices buy.

Times the generated C's ``learn_float`` (quantise + learn_one, rows in one call: no Python per update) of a
784-50-10 fixed-point learner on the throughput benchmark's inputs, for each learn path (LRT, the device
preset's default, and weight sampling) and each host build of the same source:

* ``portable``: ``HOST_FLAGS`` (the device loops, what a compiler without ``-march=native`` runs);
* ``avx2``: ``-mavx2`` (8-lane vector loops);
* ``native-256``: ``-march=native`` alone (on an AVX-512 core gcc keeps 256-bit vectors: 16 lanes in two halves);
* ``native-general``: the default native build with every row in the loops' general form (``-DEMSU_HOST_VFAST_OFF``);
* ``native``: the default native build (``NATIVE_FLAGS``: on x86 also ``-mprefer-vector-width=512``).

Each build learns the same rows from the same state; the state bytes after them must be equal across builds
(``same_state``). Medians of ``--repeats`` timed calls (µs per update and updates/s); ratios within one run.

    python benchmarks/host_kernels.py --json benchmarks/results/host_kernels.json

Builds the compiler or the CPU cannot run are reported as skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from edge_mesu.fixed import FixedMESULearner
from edge_mesu.fixed.cbackend import HOST_FLAGS, NATIVE_FLAGS, CKernels, find_compiler
from edge_mesu.statefile import atomic_write_bytes

LAYERS = (784, 50, 10)
BUILDS: dict[str, tuple[str, ...]] = {
    "portable": HOST_FLAGS,
    "avx2": HOST_FLAGS + ("-mavx2",),
    "native-256": HOST_FLAGS + ("-march=native",),
    "native-general": HOST_FLAGS + NATIVE_FLAGS + ("-DEMSU_HOST_VFAST_OFF",),
    "native": HOST_FLAGS + NATIVE_FLAGS,
}


def _runs_here(flags: tuple[str, ...]) -> bool:
    """Whether the compiler takes ``flags`` and this CPU has the instruction sets they target."""
    cc = find_compiler()
    if cc is None:
        return False
    out = subprocess.run([cc, *flags, "-dM", "-E", "-x", "c", "/dev/null"], capture_output=True, text=True)
    if out.returncode != 0:
        return False
    cpu = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    needs = [isa for macro, isa in (("__AVX2__", " avx2"), ("__AVX512F__", " avx512f")) if macro in out.stdout]
    return all(isa in cpu for isa in needs)


def run(n: int, repeats: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    X = np.clip(rng.standard_normal((n, LAYERS[0])) * 0.8, -0.42, 2.8)  # the throughput benchmark's inputs
    y = rng.integers(0, LAYERS[-1], n)
    out: dict = {"benchmark": "host_kernels", "layers": list(LAYERS), "rows": n, "repeats": repeats, "paths": {}}
    for sampling in ("lrt", "weights"):
        learner = FixedMESULearner(LAYERS, seed=seed, sampling=sampling)
        rows: dict = {}
        for name, flags in BUILDS.items():
            if not _runs_here(flags):
                rows[name] = {"skipped": "the compiler or this CPU cannot run this build"}
                continue
            k = CKernels(learner, flags=flags)
            times, digest = [], None
            for r in range(repeats):
                mu, code = learner._mu.copy(), learner._code.copy()
                t0 = time.perf_counter()
                k.learn_float(mu, code, learner.seed, 1 + r * n, X, y)
                times.append(time.perf_counter() - t0)
                if r == 0:
                    digest = hashlib.sha256(mu.tobytes() + code.tobytes()).hexdigest()
            us = statistics.median(times) / n * 1e6
            rows[name] = {"flags": list(flags), "us_per_update": us, "updates_per_s": 1e6 / us, "state": digest}
        digests = {v["state"] for v in rows.values() if "state" in v}
        out["paths"][sampling] = {"builds": rows, "same_state": len(digests) == 1}
    return out


def format_table(result: dict) -> str:
    lines = [f"{'path':8s} {'build':15s} {'us/update':>10s} {'updates/s':>10s} {'vs portable':>12s}"]
    for sampling, p in result["paths"].items():
        base = p["builds"].get("portable", {}).get("us_per_update")
        for name, r in p["builds"].items():
            if "skipped" in r:
                lines.append(f"{sampling:8s} {name:15s} {'skipped':>10s}")
                continue
            ratio = f"{base / r['us_per_update']:11.2f}x" if base else ""
            lines.append(f"{sampling:8s} {name:15s} {r['us_per_update']:10.1f} {r['updates_per_s']:10.0f} {ratio:>12s}")
        lines.append(f"{sampling:8s} same state bytes in every build: {p['same_state']}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=500, help="updates per timed call (default 500)")
    ap.add_argument("--repeats", type=int, default=7, help="timed calls per build (default 7)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if find_compiler() is None:
        print("no C compiler (cc, gcc or clang): nothing to time")
        return
    result = run(args.rows, args.repeats, args.seed)
    print(format_table(result))
    if args.json:
        atomic_write_bytes(Path(args.json), (json.dumps(result, indent=1) + "\n").encode())
        print(f"wrote {args.json}")
    if not all(p["same_state"] for p in result["paths"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
