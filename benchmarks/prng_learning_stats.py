"""Statistics of the format-2 generator that a learn step relies on, on the 784-50-10 layout (issue 18).

Per step t the learner draws, for parameter i, ε (draw A, bits 20-31), the σ-code rounding (draw A, bits 0-19)
and the μ rounding (draw B, bits 0-19). This prints, with standard errors over steps: correlations of ε
within a step at index lags (1, 50 = the next row of layer 0, ...), of the same parameter's ε across steps,
between ε and its own rounding bits and draw B's; the variance of column sums of layer 0's ε (the noise of
one hidden unit's input) and of one parameter's ε summed over all steps (the random walk of μ and σ).

Example::

    python benchmarks/prng_learning_stats.py --steps 2000
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from edge_mesu.fixed.prng import SR_STREAM, draws_at, gaussian_from_bits, sr_bits, step_keys

    n, T = 39700, args.steps
    lags = (1, 2, 10, 49, 50, 51, 500)
    slags = (1, 2, 3, 16)
    stats: dict[str, list[float]] = {}
    hist: list[np.ndarray] = []
    S = np.zeros(n)

    def add(name: str, v: float) -> None:
        stats.setdefault(name, []).append(float(v))

    seed = np.array([args.seed])
    for t in range(T):
        step = np.array([t])
        A = draws_at(step_keys(seed, step, 0), n)[0]
        B = draws_at(step_keys(seed, step, SR_STREAM), n)[0]
        e = gaussian_from_bits(A) / 4096.0
        rs = sr_bits(A) / 2.0**20 - 0.5
        rm = sr_bits(B) / 2.0**20 - 0.5
        for d in lags:
            add(f"corr eps[i], eps[i+{d}]", np.mean(e[:-d] * e[d:]))
        for d in slags:
            if len(hist) >= d:
                add(f"corr eps_t[i], eps_t-{d}[i]", np.mean(e * hist[-d]))
        add("corr eps, its sigma rounding", np.mean(e * rs) * np.sqrt(12))
        add("corr eps^2, its sigma rounding", np.mean((e * e - 1) * rs) * np.sqrt(12 / 2))
        add("corr eps, mu rounding (draw B)", np.mean(e * rm) * np.sqrt(12))
        add("var of layer-0 column sums / 784", np.mean(e[:39200].reshape(784, 50).sum(0) ** 2) / 784)
        hist.append(e)
        if len(hist) > max(slags):
            hist.pop(0)
        S += e
    print(f"{T} steps of {n} parameters (seed {args.seed}); mean +- s.e. over steps (0 expected, 1 for variances)")
    for name, v in stats.items():
        a = np.asarray(v)
        se = a.std() / np.sqrt(a.size)
        print(f"  {name:38s} {a.mean():+.2e} +- {se:.1e}")
    print(f"  {'var of one parameter eps summed / T':38s} {np.mean(S**2) / T:.4f} +- {np.sqrt(2 / n):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
