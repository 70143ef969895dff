"""Which classes a label policy asks for, and what each class ends at (docs/sensor_streams.md, label curve).

One (set, protocol, seed) stream, fixed MESU (sensor preset): the top-MI policy and random selection at the
same budget. Prints each class's share of the stream and of the asked windows, and the accuracy at the end on
each class's held-back windows.

    python benchmarks/sensor_label_classes.py --data ../shared/data/sensors --cell hapt/domain --seed 0 --budget 0.25
"""

from __future__ import annotations

import argparse
import functools
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from sensor_ablation import load_streams  # noqa: E402

from edge_mesu_app.bench.sensor_labels import make_policy  # noqa: E402
from edge_mesu_app.bench.sensors import make_learner  # noqa: E402


def run(stream, policy: str, budget: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The asked mask and the per-class accuracy at the end on the held-back windows."""
    k = stream.n_classes
    m = functools.partial(make_learner, "fixed")(stream.n_features, k, seed)
    pol = make_policy(policy, budget, seed)
    asked = np.zeros(len(stream.y), dtype=bool)
    for i in range(len(stream.y)):
        x = stream.X[i : i + 1]
        score = float(m.uncertainty(x, samples=8).epistemic[0]) if policy == "top" else 0.0
        if pol.offer(score):
            asked[i] = True
            m.learn_one(stream.X[i], int(stream.y[i]))
    Xk, yk = stream.known_end
    pred = m.predict_proba(Xk, samples=0).argmax(axis=1)
    acc = np.array([np.mean(pred[yk == c] == c) if np.any(yk == c) else np.nan for c in range(k)])
    return asked, acc


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--cell", default="hapt/domain")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget", type=float, default=0.25)
    p.add_argument("--stream-cache", default=None)
    a = p.parse_args(argv)
    name, prot = a.cell.split("/")
    stream = load_streams(a.data, [(name, prot)], [a.seed], a.stream_cache, {})[(name, prot, a.seed)]
    k = stream.n_classes
    rows = {"stream share": np.bincount(stream.y, minlength=k) / len(stream.y)}
    accs = {}
    for policy, label in (("top", "top MI"), ("random", "random")):
        asked, accs[label] = run(stream, policy, a.budget, a.seed)
        rows[f"{label}: asked share"] = np.bincount(stream.y[asked], minlength=k) / asked.sum()
    for label, acc in accs.items():
        rows[f"{label}: final accuracy"] = acc
    print("| | " + " | ".join(stream.classes) + " |")
    print("|---|" + "---|" * k)
    for r, v in rows.items():
        print(f"| {r} | " + " | ".join(f"{100 * x:.0f}" for x in v) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
