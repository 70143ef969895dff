"""Fixed against float on permuted MNIST, seed by seed and on the mean: the parity targets over many seeds.

Reads ``edge-mesu bench pmnist --tasks 10`` JSON files (one per seed, the same seeds in the same order for every
learner) and prints, for each fixed-point configuration, its difference from the float learner on the three
parity measures — after task 1 (target: within 1 point), the mean over the 10 tasks after task 10 (1.5) and
task 1 after task 10 (3) — per seed, then the mean ± standard error over the seeds, and the paired difference
between the first two fixed configurations.

    R=benchmarks/results
    python benchmarks/pmnist_parity.py \\
        --float $R/pmnist10_lrt{,_seed1,_seed2}.json $R/pmnist10_float_lrt_seed{3..8}.json \\
        --fixed "64 codes per octave" $R/pmnist10_fixed_lrt{,_seed1,_seed2}.json \\
            $R/pmnist10_fixed_c_k64_seed{3..8}.json \\
        --fixed "48 codes per octave" $R/pmnist10_fixed_c_k48{,_seed1,_seed2}.json \\
            $R/pmnist10_fixed_c_k48_seed{3..8}.json

(bash's brace expansion lists the files; the float learner's files give the seeds, every ``--fixed`` must list
the same seeds in the same order.)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

TARGETS = (1.0, 1.5, 3.0)
MEASURES = ("after task 1", "mean after 10", "task 1 after 10")


def measures(path: str) -> tuple[int, tuple[float, float, float]]:
    """(seed, the three parity measures in %) of a bench pmnist JSON with one learner (or ``mesu-lrt``)."""
    doc = json.loads(Path(path).read_text())
    learners = doc["learners"]
    v = learners.get("mesu-lrt") or next(iter(learners.values()))
    return int(doc["seed"]), (
        100 * v["first_task_after_1"],
        100 * v["final_mean_acc"],
        100 * v["first_task_final"],
    )


def _mean_se(rows: np.ndarray) -> str:
    n = len(rows)
    se = rows.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.full(rows.shape[1], math.nan)
    return " | ".join(f"{m:+.2f} ± {s:.2f}" for m, s in zip(rows.mean(axis=0), se))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--float", nargs="+", required=True, help="the float learner's JSON files, one per seed")
    p.add_argument(
        "--fixed", nargs="+", action="append", required=True, metavar="NAME FILE", help="a name, then its files"
    )
    a = p.parse_args(argv)
    try:
        ref = [measures(f) for f in a.float]
        fixed: dict[str, list] = {}
        for name, *files in a.fixed:
            if not files:
                p.error(f"--fixed {name!r} lists no files")
            fixed[name] = [measures(f) for f in files]
    except (OSError, ValueError, KeyError) as exc:
        p.error(f"cannot read a bench pmnist JSON: {exc}")
    seeds = [s for s, _ in ref]
    for name, runs in fixed.items():
        if [s for s, _ in runs] != seeds:
            p.error(f"--fixed {name}: seeds {[s for s, _ in runs]} differ from --float's {seeds}")
    diffs = {}
    for name, runs in fixed.items():
        print(f"\n{name} − float (targets: within {' / '.join(f'{t:g}' for t in TARGETS)} points)\n")
        print("| seed | " + " | ".join(MEASURES) + " |")
        print("|---|---|---|---|")
        rows, misses = [], 0
        for (seed, f), (_, x) in zip(ref, runs):
            d = [xi - fi for xi, fi in zip(x, f)]
            out = [abs(di) > t for di, t in zip(d, TARGETS)]
            misses += any(out)
            rows.append(d)
            cells = [f"{xi:.2f} / {fi:.2f} ({di:+.2f}{' **out**' if o else ''})" for xi, fi, di, o in zip(x, f, d, out)]
            print(f"| {seed} | " + " | ".join(cells) + " |")
        diffs[name] = np.array(rows)
        print(f"| mean ± s.e. ({len(rows)} seeds) | {_mean_se(diffs[name])} |")
        print(f"\nseeds outside a target: {misses} of {len(rows)}")
    names = list(fixed)
    if len(names) >= 2:
        a_, b_ = names[0], names[1]
        print(f"\n{b_} − {a_}, paired over {len(seeds)} seeds: {_mean_se(diffs[b_] - diffs[a_])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
