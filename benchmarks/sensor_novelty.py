"""Which uncertainty score flags a never-learned class? AUROC of several scores after one stream.

Each learner is trained prequentially on each (set, protocol, seed) stream, then the held-back windows of
known classes (negatives) and the novelty class's windows (positives) are scored by: mutual information with
8, 32 and 128 weight samples, the predictive entropy of the sampled mean, the softmax entropy of the mean
network and one minus its top probability.

    python benchmarks/sensor_novelty.py --data ../shared/data/sensors --json benchmarks/results/sensor_novelty.json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from sensor_ablation import load_streams  # noqa: E402

from edge_mesu.metrics import auroc  # noqa: E402
from edge_mesu.statefile import atomic_write_bytes  # noqa: E402
from edge_mesu.uncertainty import entropy_bits  # noqa: E402
from edge_mesu_app.bench.sensor_streams import SET_PROTOCOLS  # noqa: E402
from edge_mesu_app.bench.sensors import _clean, make_learner  # noqa: E402


def scores(m: Any, X: np.ndarray) -> dict[str, np.ndarray]:
    p0 = m.predict_proba(X, samples=0)
    out = {"entropy (mean net)": entropy_bits(p0), "1 - max p": 1.0 - p0.max(axis=1)}
    if hasattr(m, "config"):
        for s in (8, 32, 128):
            u = m.uncertainty(X, samples=s)
            out[f"MI {s}"] = u.epistemic
            if s == 32:
                out["predictive entropy 32"] = u.predictive
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--sets", default=",".join(SET_PROTOCOLS))
    p.add_argument("--protocols", default="domain,class,drift")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--learners", default="fixed,sgd@0.03")
    p.add_argument("--preset", default="sensor")
    p.add_argument("--stream-cache", default=None)
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    seeds = [int(s) for s in a.seeds.split(",")]
    cells = [(n, pr) for n in a.sets.split(",") for pr in SET_PROTOCOLS.get(n, ()) if pr in a.protocols.split(",")]
    streams = load_streams(a.data, cells, seeds, a.stream_cache, {})
    res: dict[str, Any] = {}
    for name, prot in cells:
        for lname in a.learners.split(","):
            per: dict[str, list[float]] = {}
            for seed in seeds:
                s = streams[(name, prot, seed)]
                m = make_learner(lname, s.n_features, s.n_classes, seed, preset=a.preset)
                for x, y in zip(s.X, s.y):
                    m.learn_one(x, int(y))
                neg, pos = scores(m, s.known_end[0]), scores(m, s.novel_end)
                for k in neg:
                    per.setdefault(k, []).append(auroc(neg[k], pos[k]))
            res.setdefault(f"{name}/{prot}", {})[lname] = {k: float(np.mean(v)) for k, v in per.items()}
            print(
                f"{name}/{prot} {lname}: " + ", ".join(f"{k} {np.mean(v):.2f}" for k, v in per.items()),
                file=sys.stderr,
                flush=True,
            )
    if a.json:
        atomic_write_bytes(
            a.json, json.dumps(_clean({"auroc": res, "seeds": seeds, "preset": a.preset}), indent=1).encode()
        )
    keys = sorted({k for c in res.values() for d in c.values() for k in d})
    lines = ["| set / protocol | learner | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for cell, d in res.items():
        for lname, v in d.items():
            lines.append(f"| {cell} | {lname} | " + " | ".join(f"{v[k]:.2f}" if k in v else "—" for k in keys) + " |")
    for lname in a.learners.split(","):
        vals = [c[lname] for c in res.values() if lname in c]
        mean = {k: np.mean([v[k] for v in vals]) for k in keys if all(k in v for v in vals)}
        lines.append(
            f"| **mean** | {lname} | " + " | ".join(f"{mean[k]:.2f}" if k in mean else "—" for k in keys) + " |"
        )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
