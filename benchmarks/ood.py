"""Out-of-distribution detection after one permuted-MNIST task: AUROC of mutual information (and entropy).

A learner trained on one pass of task 1 scores test images of task 1 (in-distribution) and the same images
under an unseen pixel permutation (OOD) with ``uncertainty(X, samples=k)``. Float and fixed learners, the
package's default settings. Prints the table and writes JSON.

    python benchmarks/ood.py --data ../shared/data/mnist --json benchmarks/results/ood.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from edge_mesu.data import PermutedMNIST, load_mnist, standardize_mnist
from edge_mesu.metrics import auroc
from edge_mesu_app.bench.pmnist import make_learner


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--samples", type=int, default=60000, help="training samples of task 1")
    ap.add_argument("--eval", type=int, default=2000, help="test images per side")
    ap.add_argument("--weight-samples", type=int, default=10)
    ap.add_argument("--learners", default="mesu,fixed")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    Xtr, ytr = load_mnist(args.data, split="train")
    Xte, yte = load_mnist(args.data, split="test")
    bench = PermutedMNIST(
        standardize_mnist(Xtr), ytr.astype(np.int64), standardize_mnist(Xte), yte.astype(np.int64), n_tasks=2, seed=0
    )
    X1, y1 = bench.train_task(0)
    Xin, _ = bench.test_set(0)
    Xout, _ = bench.test_set(1)
    Xin, Xout = Xin[: args.eval], Xout[: args.eval]
    rows = {}
    for name in args.learners.split(","):
        m = make_learner(name, 0)
        t0 = time.perf_counter()
        m.learn_many(X1[: args.samples], y1[: args.samples])
        u_in, u_out = m.uncertainty(Xin, samples=args.weight_samples), m.uncertainty(Xout, samples=args.weight_samples)
        rows[name] = {
            "auroc_mutual_information": auroc(u_in.epistemic, u_out.epistemic),
            "auroc_predictive_entropy": auroc(u_in.predictive, u_out.predictive),
            "mi_in_mean": float(u_in.epistemic.mean()),
            "mi_out_mean": float(u_out.epistemic.mean()),
            "wall_s": time.perf_counter() - t0,
        }
        r = rows[name]
        print(
            f"{name:8s} AUROC MI {r['auroc_mutual_information']:.3f}  AUROC entropy "
            f"{r['auroc_predictive_entropy']:.3f}  mean MI in {r['mi_in_mean']:.3f} / "
            f"out {r['mi_out_mean']:.3f} bits",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "benchmark": "ood",
                    "samples": args.samples,
                    "eval": args.eval,
                    "weight_samples": args.weight_samples,
                    "learners": rows,
                },
                fh,
                indent=1,
            )


if __name__ == "__main__":
    main()
