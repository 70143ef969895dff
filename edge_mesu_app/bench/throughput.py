"""Throughput of learn_one, predict_one and one window's uncertainty, float vs fixed (and any other learner),
in one run.

Each measurement is repeated ``repeats`` times on the same warmed-up learner and the median is reported, so
ratios between learners come from one process on one machine state.
"""

from __future__ import annotations

import functools
import os
import platform
import statistics
import time
from typing import Any

import numpy as np

from ..progress import Progress
from .pmnist import make_learner

__all__ = ["UNCERTAINTY_SAMPLES", "run_throughput"]

UNCERTAINTY_SAMPLES = 10  # weight samples of one uncertainty call (the papers' number of prediction samples)


def _rate(fn: Any, xs: np.ndarray, ys: np.ndarray | None) -> float:
    t0 = time.perf_counter()
    if ys is None:
        for x in xs:
            fn(x)
    else:
        for x, y in zip(xs, ys):
            fn(x, y)
    return len(xs) / (time.perf_counter() - t0)


def _uncertainty_one(learner: Any, x: np.ndarray) -> Any:
    return learner.uncertainty(x[None], samples=UNCERTAINTY_SAMPLES)


def run_throughput(
    learners: tuple[str, ...] = ("mesu", "fixed", "sgd"),
    n: int = 500,
    repeats: int = 5,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Median learn_one/s, predict_one/s and uncertainty/s (one window, :data:`UNCERTAINTY_SAMPLES` weight
    samples; on a tenth of the rows) of 784-50-10 learners on standardised-MNIST-like inputs.

    ``progress``: a bar on stderr (when it is a terminal) over the learners' repeats.
    """
    rng = np.random.default_rng(seed)
    X = np.clip(rng.standard_normal((n, 784)) * 0.8, -0.42, 2.8)  # the range of standardised MNIST pixels
    y = rng.integers(0, 10, n)
    out: dict[str, Any] = {
        "benchmark": "throughput",
        "network": [784, 50, 10],
        "n_per_repeat": n,
        "repeats": repeats,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__},
        "learners": {},
    }
    for name in learners:
        make_learner(name, seed)  # unknown names are refused before any timing
    bar = Progress(3 * repeats * len(learners), "throughput", unit="runs", quiet=not progress)
    for name in learners:
        learner = make_learner(name, seed)
        learner.learn_many(X[:50], y[:50])  # warm caches and allocators
        learn, predict, unc = [], [], []
        for _ in range(repeats):
            learn.append(_rate(learner.learn_one, X, y))
            bar.update(1, name)
        for _ in range(repeats):
            predict.append(_rate(learner.predict_one, X, None))
            bar.update(1, name)
        one_window = functools.partial(_uncertainty_one, learner)
        for _ in range(repeats):
            unc.append(_rate(one_window, X[: n // 10 + 1], None))
            bar.update(1, name)
        out["learners"][name] = {
            "learn_one_per_s": statistics.median(learn),
            "learn_one_runs": learn,
            "predict_one_per_s": statistics.median(predict),
            "predict_one_runs": predict,
            "uncertainty_one_per_s": statistics.median(unc),
            "uncertainty_one_runs": unc,
        }
    bar.close()
    names = list(out["learners"])
    if "mesu" in names:
        base = out["learners"]["mesu"]["learn_one_per_s"]
        out["learn_ratio_vs_mesu"] = {k: v["learn_one_per_s"] / base for k, v in out["learners"].items()}
    return out


def format_throughput(result: dict[str, Any]) -> str:
    lines = [
        f"{'learner':14s} {'learn_one/s':>12s} {'predict_one/s':>14s} {'uncertainty/s':>14s} {'learn vs mesu':>14s}"
    ]
    ratios = result.get("learn_ratio_vs_mesu", {})
    for name, r in result["learners"].items():
        ratio = f"{ratios[name]:.2f}x" if name in ratios else ""
        unc = f"{r['uncertainty_one_per_s']:14.0f}" if "uncertainty_one_per_s" in r else f"{'':14s}"
        lines.append(f"{name:14s} {r['learn_one_per_s']:12.0f} {r['predict_one_per_s']:14.0f} {unc} {ratio:>14s}")
    return "\n".join(lines)
