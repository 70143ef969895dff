"""Float MESU on permuted MNIST with a σ cap per layer: the float twin of the fixed learner's σ windows.

The fixed learner's σ lives in a window per layer (``sigma_max`` per layer: its top; the floor 2**(256/k)
below it); ``MESUConfig.sigma_max`` caps every layer alike. To tell the window's effect from the fixed-point
arithmetic's, this probe runs ``bench pmnist``'s protocol (784-50-10, the ``mesu`` learner: the device preset,
local reparameterisation) with each layer's σ clamped to its own top after every update — what
``mesu_update`` does with one ``sigma_max``, per layer. An experiment, not a product option.

    python benchmarks/pmnist_float_caps.py --data ../shared/data/mnist --tasks 10 --seed 1 --tops 0.1,0.05 \\
        --json benchmarks/results/pmnist10_float_lrt_caps_seed1.json
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import edge_mesu_app.bench.pmnist as pmnist
from edge_mesu.mesu import MESULearner


def capped(tops: list[float]) -> type[MESULearner]:
    """A MESULearner whose layer l keeps σ <= tops[l] after every update."""

    class Capped(MESULearner):
        def _learn_batch(self, X: np.ndarray, y: np.ndarray) -> None:
            super()._learn_batch(X, y)
            self._sigma = [np.minimum(s, t).astype(s.dtype, copy=False) for s, t in zip(self._sigma, tops)]

    return Capped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the MNIST directory")
    ap.add_argument("--tasks", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tops", required=True, help="σ cap per layer, comma-separated (784-50-10: two)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    tops = [float(v) for v in args.tops.split(",")]
    if len(tops) != 2 or not all(t > 0 for t in tops):
        raise SystemExit(f"--tops needs two values > 0 (784-50-10 has two layers), got {args.tops!r}")
    cls = capped(tops)
    make = pmnist.make_learner

    def make_capped(name: str, seed: int = 0, **kw: Any) -> Any:
        learner = make(name, seed, **kw)
        if type(learner) is not MESULearner or learner.bias:
            raise SystemExit(f"{name!r} is not the float MESULearner without biases")
        learner.__class__ = cls  # the same state and options, the capped update
        return learner

    pmnist.make_learner = make_capped
    result = pmnist.run_pmnist(args.data, tasks=args.tasks, learners=("mesu",), seed=args.seed, json_path=args.json)
    print(f"float MESU (LRT), sigma capped per layer at {tops}")
    print(pmnist.format_summary(result))


if __name__ == "__main__":
    main()
