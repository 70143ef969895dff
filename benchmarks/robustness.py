"""Do the learners stay finite and keep learning? Step-guard settings on three streams, float and fixed.

Streams: Gaussian 96-d inputs with a random linear teacher; the generated sensor windows (96-32-5);
standardised MNIST 784-50-10 (only with --data). One weight sample per update, seed 0. Prints one row per
(learner, stream, setting) and writes JSON.

    python benchmarks/robustness.py --data ../shared/data/mnist --json benchmarks/results/robustness.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from edge_mesu import FixedMESULearner, MESULearner
from edge_mesu.data import load_mnist, make_sensor_stream, standardize_mnist

SETTINGS = {
    "paper (σ0=2/√fan_in, no guard)": {"ratio_max": None, "sigma_init": "paper"},
    "paper σ0 + ratio_max=0.1": {"sigma_init": "paper"},
    "σ0=0.05, no guard": {"ratio_max": None},
    "default (σ0=0.05, ratio_max=0.1)": {},
    "paper σ0 + sigma_step_max=0.1": {"ratio_max": None, "sigma_init": "paper", "sigma_step_max": 0.1},
}


def streams(data: str | None) -> dict:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4000, 96))
    out = {"gauss": (X, (X @ rng.standard_normal((96, 5))).argmax(1), (96, 32, 5), None)}
    s = make_sensor_stream(n_windows=4000, seed=0)
    Xs, ys = s.windows()
    out["sensor"] = (Xs, ys, (Xs.shape[1], 32, s.n_classes), None)
    if data:
        Xm, ym = load_mnist(data, split="train")
        Xt, yt = load_mnist(data, split="test")
        out["mnist"] = (
            standardize_mnist(Xm)[:20000],
            ym[:20000].astype(int),
            (784, 50, 10),
            (standardize_mnist(Xt), yt.astype(int)),
        )
    return out


def run(cls: type, kw: dict, X: np.ndarray, y: np.ndarray, layers: tuple, test: tuple | None) -> dict:
    m = cls(layers=layers, seed=0, **kw)
    correct, diverged = [], None
    t0 = time.perf_counter()
    for i in range(len(X)):
        if test is None:
            correct.append(m.predict_one(X[i]) == y[i])
        try:
            m.learn_one(X[i], y[i])
        except FloatingPointError:
            diverged = i
            break
    sig = np.concatenate([v[1].ravel() for v in m.params().values()])
    acc = float(np.mean(m.predict(test[0]) == test[1])) if test else float(np.mean(correct[len(correct) // 2 :]))
    return {
        "accuracy": acc,
        "diverged_at": diverged,
        "sigma_min": float(sig.min()),
        "sigma_median": float(np.median(sig)),
        "sigma_max": float(sig.max()),
        "counters": getattr(m, "counters", None) and m.counters.as_dict(),
        "wall_s": time.perf_counter() - t0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rows = []
    for sname, (X, y, layers, test) in streams(args.data).items():
        for cls in (MESULearner, FixedMESULearner):
            for setting, kw in SETTINGS.items():
                r = {"stream": sname, "learner": cls.__name__, "setting": setting, **run(cls, kw, X, y, layers, test)}
                rows.append(r)
                div = f"diverged at {r['diverged_at']}" if r["diverged_at"] is not None else ""
                print(
                    f"{sname:7s} {cls.__name__:17s} {setting:34s} acc {r['accuracy']:.3f}  σ [{r['sigma_min']:.2g}, "
                    f"{r['sigma_median']:.2g}, {r['sigma_max']:.2g}] {div}",
                    flush=True,
                )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"benchmark": "robustness", "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
