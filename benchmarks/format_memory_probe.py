"""Permuted-MNIST run of the fixed learner that also records its state after every task (formats 1 and 2).

The stream, network and learner are those of ``edge-mesu bench pmnist --learners fixed-c`` (784-50-10, no
biases, one pass per task in file order, C backend). After each task it prints one JSON line: the accuracy on
every task seen, and per layer the σ-code statistics (mean, percentiles, the fraction at the window's top
code 0 and at its floor) and the mean |μ|. It uses only the learner's public attributes, so the same script
runs on a format-1 checkout (``PYTHONPATH=<format-1 worktree>``). ``--samples-per-task`` and ``--N`` scale
the protocol down (N defaults to the preset's 300,000).

Example::

    python benchmarks/format_memory_probe.py --data ../shared/data/mnist --tasks 10 --seed 0 --out f2_s0
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None)
    p.add_argument("--tasks", type=int, default=10)
    p.add_argument("--samples-per-task", type=int, default=None)
    p.add_argument("--N", type=float, default=None)
    p.add_argument("--seed", type=int, default=0, help="seed of the permutations (and of the learner)")
    p.add_argument("--learner-seed", type=int, default=None, help="another seed for the learner alone")
    p.add_argument("--backend", default="c")
    p.add_argument("--out", default=None, help="write the final state to OUT.npz and the lines to OUT.jsonl")
    args = p.parse_args(argv)
    from edge_mesu.data import PermutedMNIST, load_mnist, standardize_mnist
    from edge_mesu.fixed import FixedMESULearner

    Xtr, ytr = load_mnist(args.data, split="train")
    Xte, yte = load_mnist(args.data, split="test")
    bench = PermutedMNIST(
        standardize_mnist(Xtr),
        ytr.astype(np.int64),
        standardize_mnist(Xte),
        yte.astype(np.int64),
        args.tasks,
        seed=args.seed,
        samples_per_task=args.samples_per_task,
    )
    kw = {} if args.N is None else {"N": args.N}
    lseed = args.seed if args.learner_seed is None else args.learner_seed
    m = FixedMESULearner((784, 50, 10), bias=False, seed=lseed, backend=args.backend, **kw)
    lines = []
    t0 = time.perf_counter()
    for task, X, y in bench.train_stream():
        m.learn_many(X, y)
        row = []
        for j in range(task + 1):
            Xt, yt = bench.test_set(j)
            row.append(float(np.mean(m.predict_proba(Xt, samples=0).argmax(axis=1) == yt)))
        rec: dict = {"task": task + 1, "acc": row, "mean": float(np.mean(row)), "s": time.perf_counter() - t0}
        offs = 0
        for l, (fi, fo) in enumerate(zip((784, 50), (50, 10))):
            n = fi * fo
            code = np.asarray(m._code[offs : offs + n], dtype=np.int64)
            mu = np.asarray(m._mu[offs : offs + n], dtype=np.float64) / 2.0 ** m.plan.mu_fmts[l].frac
            offs += n
            rec[f"l{l}"] = {
                "code_mean": float(code.mean()),
                "code_p": [float(v) for v in np.percentile(code, [1, 10, 50, 90, 99])],
                "at_top": float(np.mean(code == m.plan.code_min)),
                "at_floor": float(np.mean(code == m.plan.code_max)),
                "mu_abs": float(np.abs(mu).mean()),
                "mu_max": float(np.abs(mu).max()),
            }
        rec["counters"] = dict(m.counters.as_dict())
        lines.append(rec)
        print(json.dumps(rec), flush=True)
    if args.out:
        np.savez(args.out + ".npz", mu=np.asarray(m._mu), code=np.asarray(m._code))
        with open(args.out + ".jsonl", "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
