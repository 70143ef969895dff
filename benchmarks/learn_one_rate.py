"""learn_one/s of one registry learner, as a JSON line: for comparing two checkouts of the project in one run.

The throughput benchmark's inputs (784 standardised-MNIST-like values, seeded), 300 updates per timed loop
after 20 warm-up updates, median of 5 loops. Run it alternately against two checkouts to compare them on the
same machine state, e.g.

    for r in 1 2 3; do PYTHONPATH=../old python benchmarks/learn_one_rate.py fixed-c; \\
        PYTHONPATH=. python benchmarks/learn_one_rate.py fixed-c; done

Uses only ``edge_mesu.registry.make_learner`` and ``learn_one``, which every version of the project has.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np

from edge_mesu.registry import make_learner


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python benchmarks/learn_one_rate.py LEARNER (a registry name, e.g. fixed-c)")
    name = sys.argv[1]
    learner = make_learner(name, seed=0)
    rng = np.random.default_rng(0)
    n = 300
    X = np.clip(rng.standard_normal((n, 784)) * 0.8, -0.42, 2.8)
    y = [int(v) for v in rng.integers(0, 10, n)]
    for i in range(20):
        learner.learn_one(X[i], y[i])
    rates = []
    for _ in range(5):
        t0 = time.perf_counter()
        for i in range(n):
            learner.learn_one(X[i], y[i])
        rates.append(n / (time.perf_counter() - t0))
    print(json.dumps({"learner": name, "learn_one_per_s": statistics.median(rates), "runs": rates}))


if __name__ == "__main__":
    main()
