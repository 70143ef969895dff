"""Progressive validation of float and fixed MESU against river's classifiers, on the data sets river ships.

For every sample, in the stream's order and in one pass: predict (``predict_proba_one``), score, then learn.
Every model sits in the same pipeline ``preprocessing.StandardScaler() | model`` (the scaler learns as it goes,
as river users run it). Reported per model: accuracy, log loss (mean −ln p(true label), p clamped at 1e-15 as
river's metrics do; a sample is scored once the model predicts something, as in river's
``evaluate.progressive_val_score``), updates/s (predict + learn per second of wall time spent in the model), and memory:
``state_bytes`` is the learner's state for MESU (μ and σ: ``state_nbytes()``) and river's ``_raw_memory_usage``
of the model for river's classifiers; ``memory_bytes`` is river's ``_raw_memory_usage`` of every model, MESU
included, so that column compares like with like. river is needed (``pip install "edge-mesu[river]"``).

Run: ``python -m edge_mesu.bench.river_bench --json out.json`` (prints the table); ``--table out.json`` prints the
table of a stored run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = ["MODELS", "SETS", "make_model", "progressive", "run_river_bench", "format_river_table", "main"]

SETS = ("Phishing", "Bananas", "ImageSegments", "Shuttle")
MODELS = ("mesu", "fixed", "logreg", "hoeffding", "perceptron", "arf")
_EPS = 1e-15


def make_model(name: str, n_classes: int, seed: int = 0) -> Any:
    """``StandardScaler() | model`` for a model name of :data:`MODELS`; river's linear models are binary, so on
    a multi-class set they are wrapped in ``multiclass.OneVsRestClassifier``."""
    from river import forest, linear_model, multiclass, preprocessing, tree

    from ..compat.river import MESUClassifier

    def linear(cls: Callable[[], Any]) -> Any:
        return cls() if n_classes <= 2 else multiclass.OneVsRestClassifier(cls())

    factories: dict[str, Callable[[], Any]] = {
        "mesu": lambda: MESUClassifier(learner="float", seed=seed),
        "fixed": lambda: MESUClassifier(learner="fixed", seed=seed),
        "logreg": lambda: linear(linear_model.LogisticRegression),
        "hoeffding": lambda: tree.HoeffdingTreeClassifier(),
        "perceptron": lambda: linear(linear_model.Perceptron),
        "arf": lambda: forest.ARFClassifier(seed=seed),
    }
    if name not in factories:
        raise ValueError(f"unknown model {name!r}; choose from {MODELS}")
    return preprocessing.StandardScaler() | factories[name]()


def _state_bytes(model: Any) -> tuple[int, int]:
    """(state_bytes, memory_bytes) of the pipeline's last step (the scaler is the same for every model)."""
    clf = model[-1] if hasattr(model, "steps") else model
    raw = int(clf._raw_memory_usage)
    return (int(clf.state_nbytes()) if hasattr(clf, "state_nbytes") else raw), raw


def progressive(model: Any, stream: Iterable[tuple[dict, Any]]) -> dict[str, Any]:
    """Predict-then-learn over ``stream`` once; accuracy, log loss, updates/s, state and memory bytes.

    As in ``river.evaluate.progressive_val_score``, a sample the model makes no prediction for (``{}`` or
    ``None``, i.e. before it has learnt anything) is not scored; ``n_scored`` counts the scored ones.
    """
    n = scored = correct = 0
    loss = 0.0
    has_proba = True
    spent = 0.0
    for x, y in stream:
        t0 = time.perf_counter()
        try:
            proba = model.predict_proba_one(x) if has_proba else {}
        except NotImplementedError:
            has_proba, proba = False, {}
        y_pred = max(proba, key=proba.get) if proba else (None if has_proba else model.predict_one(x))
        model.learn_one(x, y)
        spent += time.perf_counter() - t0
        n += 1
        if y_pred is None:
            continue
        scored += 1
        correct += int(y_pred == y)
        if has_proba:
            loss -= math.log(min(max(proba.get(y, 0.0), _EPS), 1.0 - _EPS))
    state, memory = _state_bytes(model)
    return {"accuracy": correct / max(scored, 1), "log_loss": loss / max(scored, 1) if has_proba else None,
            "updates_per_s": n / spent, "state_bytes": state, "memory_bytes": memory, "n": n, "n_scored": scored}


def _dataset(name: str) -> Any:
    from river import datasets

    if name not in SETS:
        raise ValueError(f"unknown data set {name!r}; choose from {SETS}")
    return getattr(datasets, name)()


def run_river_bench(sets: Iterable[str] = SETS, models: Iterable[str] = MODELS, seed: int = 0,
                    limit: int | None = None, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Progressive validation of each model on each set (``limit``: first samples only, for quick checks)."""
    import river

    from ..compat._common import DEFAULTS

    out: dict[str, Any] = {
        "benchmark": "river", "protocol": "progressive validation: predict_proba_one, then learn_one; one pass, "
        "stream order; StandardScaler() | model for every model",
        "seed": seed, "limit": limit, "mesu_config": {k: list(v) if isinstance(v, tuple) else v
                                                      for k, v in DEFAULTS.items()},
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "river": river.__version__},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "sets": {}, "info": {}}
    for set_name in sets:
        data = list(_dataset(set_name).take(limit) if limit else _dataset(set_name))
        labels = sorted({y for _, y in data}, key=repr)
        out["info"][set_name] = {"n": len(data), "features": len(data[0][0]), "classes": len(labels)}
        out["sets"][set_name] = {}
        for model_name in models:
            result = progressive(make_model(model_name, len(labels), seed), data)
            out["sets"][set_name][model_name] = result
            if log is not None:
                log(f"{set_name:14s} {model_name:10s} acc {result['accuracy']:.4f} "
                    f"{result['updates_per_s']:9.0f} upd/s")
    return out


def _wins(result: dict[str, Any], model: str, rivals: tuple[str, ...]) -> int | None:
    """Sets on which ``model`` is more accurate than every rival (``None`` if a set lacks one of them)."""
    sets = list(result["sets"].values())
    if not all(name in r for r in sets for name in (model, *rivals)):
        return None
    return sum(all(r[model]["accuracy"] > r[o]["accuracy"] for o in rivals) for r in sets)


def format_river_table(result: dict[str, Any]) -> str:
    """The table of :func:`run_river_bench`'s result, one block per set, and the fixed learner's standing."""
    lines = [f"{'set':14s} {'model':11s} {'accuracy':>8s} {'log loss':>9s} {'updates/s':>10s} "
             f"{'state B':>9s} {'memory B':>10s} {'acc vs arf':>11s}"]
    for set_name, models in result["sets"].items():
        arf = models.get("arf", {}).get("accuracy")
        for name, r in models.items():
            loss = "-" if r["log_loss"] is None else f"{r['log_loss']:.3f}"
            gap = "" if arf is None else f"{100 * (r['accuracy'] - arf):+.2f} pt"
            lines.append(f"{set_name:14s} {name:11s} {r['accuracy']:8.4f} {loss:>9s} {r['updates_per_s']:10.0f} "
                         f"{r['state_bytes']:9d} {r['memory_bytes']:10d} {gap:>11s}")
    n_sets = len(result["sets"])
    for model in ("fixed", "mesu"):
        for rivals in (("logreg", "hoeffding"), ("arf",)):
            wins = _wins(result, model, rivals)
            if wins is not None:
                lines.append(f"{model} more accurate than {' and '.join(rivals)} on {wins}/{n_sets} sets")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m edge_mesu.bench.river_bench [--sets ...] [--models ...] [--json out.json] [--table stored.json]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated river data sets")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated model names")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="first N samples of each set only")
    parser.add_argument("--json", default=None, help="write the result here")
    parser.add_argument("--table", default=None, metavar="JSON", help="only print the table of a stored result")
    args = parser.parse_args(argv)
    if args.table:
        with open(args.table) as fh:
            print(format_river_table(json.load(fh)))
        return 0
    sets, models = args.sets.split(","), args.models.split(",")
    bad = [s for s in sets if s not in SETS] + [m for m in models if m not in MODELS]
    if bad:
        print(f"unknown set or model: {bad}; sets {SETS}, models {MODELS}", file=sys.stderr)
        return 2
    result = run_river_bench(sets, models, seed=args.seed, limit=args.limit,
                             log=lambda s: print(s, file=sys.stderr, flush=True))
    result["command"] = " ".join(["python -m edge_mesu.bench.river_bench", *(argv if argv is not None
                                                                              else sys.argv[1:])])
    print(format_river_table(result))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
