"""How separable is each set's never-learned class at all? A reference for the novelty target (issue 17).

For every (set, protocol, seed) stream of ``edge-mesu bench sensors``, the held-back windows of known classes
(negatives) and the novelty class's windows (positives) are scored by their Euclidean distance to the nearest
window the learner saw in the whole stream (1-NN on the learner's own input vectors). It keeps every window,
which no device can, and is the usual strong baseline of input-space novelty; where it stays below 0.8, a
never-learned class is not unlike the known ones in what the learner sees, and no uncertainty score of a
classifier trained on those inputs is expected to reach the target there. The table puts it beside the
mutual-information AUROC of the fixed MESU learner from a ``bench sensors`` JSON.

    python benchmarks/sensor_novelty_reference.py --data ../shared/data/sensors \\
        --bench benchmarks/results/sensors.json --json benchmarks/results/sensor_novelty_reference.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.metrics import auroc
from edge_mesu.statefile import atomic_write_bytes
from edge_mesu_app.bench.sensor_streams import SET_PROTOCOLS, build_stream


def nearest_distance(train: np.ndarray, query: np.ndarray, block: int = 256) -> np.ndarray:
    """Euclidean distance of each query row to its nearest training row."""
    t2 = (train * train).sum(axis=1)
    out = []
    for i in range(0, len(query), block):
        q = query[i : i + block]
        d2 = (q * q).sum(axis=1)[:, None] - 2.0 * q @ train.T + t2[None, :]
        out.append(np.sqrt(np.maximum(d2.min(axis=1), 0.0)))
    return np.concatenate(out) if out else np.zeros(0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="the sensor data pack (e.g. ../shared/data/sensors)")
    p.add_argument("--bench", default=None, help="a bench sensors JSON whose fixed-MESU MI AUROC to print beside")
    p.add_argument("--seeds", default="0,1,2", help="comma list of stream seeds (default 0,1,2)")
    p.add_argument("--json", default=None, metavar="OUT.json")
    args = p.parse_args(argv)
    if not Path(args.data).is_dir():
        p.error(f"--data {args.data!r} is not a directory")
    bench: dict[str, Any] = {}
    if args.bench:
        try:
            bench = json.loads(Path(args.bench).read_text())["sets"]
        except (OSError, ValueError, KeyError) as exc:
            p.error(f"cannot read the bench JSON {args.bench!r}: {exc}")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        p.error(f"--seeds must be a comma list of integers, got {args.seeds!r}")
    from edge_mesu.data.sensor_sets import list_sets

    cache: dict[str, Any] = {}
    result: dict[str, Any] = {"seeds": seeds, "cells": {}}
    print("| set / protocol | 1-NN distance AUROC (mean; per seed) | fixed MESU MI AUROC |")
    print("|---|---|---|")
    for name in list_sets(args.data):
        for prot in SET_PROTOCOLS.get(name, ()):
            per_seed = []
            for seed in seeds:
                st = build_stream(args.data, name, prot, seed, cache)
                Xk = np.asarray(st.known_end[0], dtype=np.float64)
                Xn = np.asarray(st.novel_end, dtype=np.float64)
                if len(Xk) == 0 or len(Xn) == 0:
                    continue
                X = np.asarray(st.X, dtype=np.float64)
                per_seed.append(float(auroc(nearest_distance(X, Xk), nearest_distance(X, Xn))))
            if not per_seed:
                continue
            mi = bench.get(name, {}).get(prot, {}).get("fixed", {}).get("novelty_auroc")
            result["cells"][f"{name}/{prot}"] = {
                "nn_auroc": float(np.mean(per_seed)),
                "seeds": per_seed,
                "mi_auroc": mi,
            }
            print(
                f"| {name} / {prot} | {np.mean(per_seed):.3f} ({', '.join(f'{v:.3f}' for v in per_seed)}) | "
                f"{'—' if mi is None else f'{mi:.3f}'} |",
                flush=True,
            )
    cells = result["cells"].values()
    print(
        f"\ncells at >= 0.8: 1-NN {sum(c['nn_auroc'] >= 0.8 for c in cells)} / {len(cells)}, "
        f"MI {sum((c['mi_auroc'] or 0) >= 0.8 for c in cells)} / {len(cells)}"
    )
    if args.json:
        atomic_write_bytes(args.json, json.dumps(result, indent=1).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
