"""The label curve: accuracy against the fraction of labels used (docs/sensor_streams.md, "Labels").

For each (set, protocol, seed) stream: fixed MESU (sensor preset) learning from every label, from the top-q
most uncertain windows by mutual information, by predictive entropy, and from q at random; SGD learning from
every label, from the top-q by softmax entropy and from q at random.

    python benchmarks/sensor_labels.py --data ../shared/data/sensors --json benchmarks/results/sensor_labels.json
    python benchmarks/sensor_labels.py --data ../shared/data/sensors \
        --cells hapt/domain,japanese_vowels/domain,basic_motions/class,wiimote_pickup/class \
        --fractions 0.1,0.25,0.5 --seeds 0,1,2 --json benchmarks/results/sensor_labels.json

``--cells SET/PROTOCOL,...`` picks cells directly (instead of every protocol of every set in ``--sets``).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from typing import Any

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from sensor_ablation import load_streams  # noqa: E402

from edge_mesu.statefile import atomic_write_bytes  # noqa: E402
from edge_mesu_app.bench.sensor_labels import run_label_policy  # noqa: E402
from edge_mesu_app.bench.sensor_streams import SET_PROTOCOLS  # noqa: E402
from edge_mesu_app.bench.sensors import _clean, make_learner  # noqa: E402


def arms(
    fractions: list[float], sgd_lr: float, only: list[str] | None = None
) -> list[tuple[str, str, str, str, float]]:
    """(name, learner, policy, score, fraction) of every arm (``only``: just the arms of these names)."""
    out = [("fixed all", "fixed", "all", "none", 1.0), (f"sgd@{sgd_lr:g} all", f"sgd@{sgd_lr:g}", "all", "none", 1.0)]
    for q in fractions:
        out += [
            (f"fixed MI top {q:g}", "fixed", "top", "mi", q),
            (f"fixed entropy top {q:g}", "fixed", "top", "entropy", q),
            (f"fixed random {q:g}", "fixed", "random", "none", q),
            (f"sgd@{sgd_lr:g} entropy top {q:g}", f"sgd@{sgd_lr:g}", "top", "entropy", q),
            (f"sgd@{sgd_lr:g} random {q:g}", f"sgd@{sgd_lr:g}", "random", "none", q),
            (f"fixed MI mixed {q:g}", "fixed", "mixed", "mi", q),
            (f"fixed entropy per class {q:g}", "fixed", "perclass", "entropy", q),
            (f"fixed entropy warm start {q:g}", "fixed", "warm", "entropy", q),
        ]
    return [a for a in out if only is None or a[0] in only]


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"seeds": runs}
    for k in ("fraction", "prequential", "final", "retention"):
        v = np.array([r[k] for r in runs], dtype=float)
        out[k], out[f"{k}_std"] = float(np.nanmean(v)), float(np.nanstd(v))
    return out


def table(res: dict[str, Any], fractions: list[float]) -> str:
    lines = []
    for cell, d in res.items():
        lines += [f"\n{cell}", "", "| arm | labels used | prequential | final | retention |", "|---|---|---|---|---|"]
        for arm, s in d.items():
            lines.append(
                f"| {arm} | {100 * s['fraction']:.1f} % | {100 * s['prequential']:.1f} ± "
                f"{100 * s['prequential_std']:.1f} | {100 * s['final']:.1f} ± {100 * s['final_std']:.1f} | "
                f"{100 * s['retention']:.1f} ± {100 * s['retention_std']:.1f} |"
            )
    return "\n".join(lines)


def _make(name: str, preset: str, n_in: int, k: int, s: int) -> Any:
    return make_learner(name, n_in, k, s, preset=preset)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--sets", default=",".join(SET_PROTOCOLS))
    p.add_argument("--protocols", default="domain,class,drift")
    p.add_argument("--cells", default=None, help="SET/PROTOCOL comma list; overrides --sets/--protocols")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--fractions", default="0.1,0.25,0.5")
    p.add_argument("--sgd-lr", type=float, default=0.03)
    p.add_argument("--preset", default="sensor")
    p.add_argument("--arms", default=None, help="';'-separated arm names to run (default: all)")
    p.add_argument("--merge", default=None, help="add the arms to this earlier JSON's cells (same streams)")
    p.add_argument("--no-pace", action="store_true", help="fixed top-q bar (BudgetedSelector pace=False)")
    p.add_argument("--stream-cache", default=None)
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    seeds = [int(s) for s in a.seeds.split(",")]
    fr = [float(f) for f in a.fractions.split(",")]
    if a.cells:
        cells = [(c.split("/")[0], c.split("/")[1]) for c in a.cells.split(",")]
        bad = [f"{n}/{pr}" for n, pr in cells if pr not in SET_PROTOCOLS.get(n, ())]
        if bad:
            p.error(f"--cells: no such set/protocol: {', '.join(bad)}")
    else:
        cells = [(n, pr) for n in a.sets.split(",") for pr in SET_PROTOCOLS.get(n, ()) if pr in a.protocols.split(",")]
    streams = load_streams(a.data, cells, seeds, a.stream_cache, {})
    res: dict[str, Any] = {}
    all_fr = list(fr)
    if a.merge:
        with open(a.merge) as f:
            old = json.load(f)
        res, all_fr = old["cells"], sorted(set(old["fractions"]) | set(fr))
    only = a.arms.split(";") if a.arms else None
    for name, prot in cells:
        cell = res.setdefault(f"{name}/{prot}", {})
        for arm, learner, policy, score, q in arms(fr, a.sgd_lr, only):
            runs = []
            for seed in seeds:
                t = time.time()
                fac = functools.partial(_make, learner, a.preset)
                stream = streams[(name, prot, seed)]
                runs.append(run_label_policy(stream, fac, seed, policy, q, score, pace=not a.no_pace))
                r = runs[-1]
                print(
                    f"{name:>20s} {prot:6s} s{seed} {arm:28s} labels {r['fraction']:.3f} preq {r['prequential']:.3f} "
                    f"final {r['final']:.3f} ({time.time() - t:.0f}s)",
                    file=sys.stderr,
                    flush=True,
                )
            cell[arm] = summarise(runs)
        if a.json:
            atomic_write_bytes(
                a.json,
                json.dumps(
                    _clean(
                        {
                            "cells": res,
                            "seeds": seeds,
                            "fractions": all_fr,
                            "preset": a.preset,
                            "sgd_lr": a.sgd_lr,
                            "pace": not a.no_pace,
                        }
                    ),
                    indent=1,
                ).encode(),
            )
    print(table(res, fr))
    return 0


if __name__ == "__main__":
    sys.exit(main())
