"""σ and |μ| statistics of a learner after each permuted-MNIST task: does the fixed learner's σ follow the float one?

Prints, per task and weight matrix, the mean, 10th and 90th percentile of log2 σ, the mean |μ| and the share of σ
at or beyond the default fixed learner's σ window (its floor and top: 4 octaves at 64 codes per octave). Used to
compare state format 2 with format 1 and the float learner (docs/results.md, "State format 2"), and the float
learner's two samplings (``float-lrt``: docs/results.md, "Local reparameterisation").

Example::

    python benchmarks/format2_sigma_check.py fixed --tasks 2 --data ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "kind",
        choices=("fixed", "float", "float-lrt"),
        help="fixed (C backend), float MESU, or float MESU with local reparameterisation",
    )
    p.add_argument("--tasks", type=int, default=2, help="permuted tasks (default 2)")
    p.add_argument("--data", default=None, help="MNIST IDX directory")
    args = p.parse_args(argv)
    from edge_mesu import MESULearner
    from edge_mesu.data import load_mnist, standardize_mnist
    from edge_mesu.fixed import FixedMESULearner

    X, y = load_mnist(args.data)
    X = standardize_mnist(X.reshape(len(X), -1))
    rng = np.random.default_rng(0)
    perms = [np.arange(784)] + [rng.permutation(784) for _ in range(args.tasks - 1)]
    if args.kind in ("float", "float-lrt"):
        m = MESULearner((784, 50, 10), bias=False, seed=0, sampling="lrt" if args.kind == "float-lrt" else "weights")
    else:
        m = FixedMESULearner((784, 50, 10), bias=False, seed=0, backend="c")
    # the default fixed learner's σ window of each layer: what share of σ sits at (fixed) or beyond (float) it
    plan = FixedMESULearner((784, 50, 10), bias=False, seed=0).plan
    windows = [(plan.sigma_of_code(plan.code_max, l), plan.sigma_of_code(plan.code_min, l)) for l in range(2)]
    for t in range(args.tasks):
        m.learn_many(X[:, perms[t]], y)
        for l, (name, (mu, sigma)) in enumerate(m.params().items()):
            ls = np.log2(sigma)
            lo, hi = windows[l]
            print(
                f"{args.kind} task {t + 1} {name}: log2 sigma mean {ls.mean():.3f} p10 {np.percentile(ls, 10):.3f} "
                f"p90 {np.percentile(ls, 90):.3f}; mean |mu| {np.abs(mu).mean():.4f}; "
                f"share <= window floor {lo:.5f}: {np.mean(sigma <= lo * 1.0001):.4f}, "
                f">= window top {hi:.4f}: {np.mean(sigma >= hi * 0.9999):.4f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
