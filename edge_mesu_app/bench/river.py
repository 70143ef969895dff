"""Progressive validation of float and fixed MESU against river's classifiers, on the data sets river ships.

For every sample, in the stream's order and in one pass: predict (``predict_proba_one``), score, then learn.
Every model sits in the same pipeline ``preprocessing.StandardScaler() | model`` (the scaler learns as it goes,
as river users run it). Reported per model: accuracy, log loss (mean −ln p(true label), p clamped at 1e-15 as
river's metrics do; a sample is scored once the model predicts something, as in river's
``evaluate.progressive_val_score``), updates/s (predict + learn per second of wall time spent in the model), and memory:
``state_bytes`` is the learner's state for MESU (μ and σ: ``state_nbytes()``) and river's ``_raw_memory_usage``
of the model for river's classifiers; ``memory_bytes`` is river's ``_raw_memory_usage`` of every model, MESU
included, so that column compares like with like. river is needed (``pip install "edge-mesu[river]"``).

Run: ``edge-mesu bench river --json out.json`` (prints the table); ``--table out.json`` prints the table of a
stored run.
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

from edge_mesu.errors import MissingExtraError

from ..outputs import check_file
from ..progress import Progress, add_quiet_argument

__all__ = [
    "DESCRIPTION",
    "MODELS",
    "SETS",
    "add_arguments",
    "format_river_table",
    "handler",
    "make_model",
    "progressive",
    "run_river_bench",
]

DESCRIPTION = """\
Progressive validation of float and fixed MESU against river's classifiers on the data sets river ships:
for every sample, in order and in one pass, predict, score, then learn. Every model sits behind the same
StandardScaler. Reported per model: accuracy, log loss, updates per second, state bytes (MESU: its mean and
sigma; river: its memory) and memory bytes (river's measure for every model). Needs the river extra:
pip install 'edge-mesu[river]'.

Example: edge-mesu bench river --json out.json     (--table out.json prints a stored run's table)
"""

SETS = ("Phishing", "Bananas", "ImageSegments", "Shuttle")
MODELS = ("mesu", "fixed", "logreg", "hoeffding", "perceptron", "arf")
_EPS = 1e-15


def make_model(name: str, n_classes: int, seed: int = 0) -> Any:
    """``StandardScaler() | model`` for a model name of :data:`MODELS`; river's linear models are binary, so on
    a multi-class set they are wrapped in ``multiclass.OneVsRestClassifier``."""
    from river import forest, linear_model, multiclass, preprocessing, tree

    from edge_mesu.compat.river import MESUClassifier

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
    from river import compose

    from edge_mesu.compat.river import MESUClassifier

    clf = model[-1] if isinstance(model, compose.Pipeline) else model
    raw = int(clf._raw_memory_usage)
    return (int(clf.state_nbytes()) if isinstance(clf, MESUClassifier) else raw), raw


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
        y_pred = max(proba, key=lambda c: proba[c]) if proba else (None if has_proba else model.predict_one(x))
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
    return {
        "accuracy": correct / max(scored, 1),
        "log_loss": loss / max(scored, 1) if has_proba else None,
        "updates_per_s": n / spent,
        "state_bytes": state,
        "memory_bytes": memory,
        "n": n,
        "n_scored": scored,
    }


def _dataset(name: str) -> Any:
    from river import datasets

    if name not in SETS:
        raise ValueError(f"unknown data set {name!r}; choose from {SETS}")
    return getattr(datasets, name)()


def run_river_bench(
    sets: Iterable[str] = SETS,
    models: Iterable[str] = MODELS,
    seed: int = 0,
    limit: int | None = None,
    log: Callable[[str], None] | None = None,
    done: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Progressive validation of each model on each set (``limit``: first samples only, for quick checks).

    ``log`` receives a line per finished (set, model); ``done`` is called after each (a progress bar).
    """
    import river

    from edge_mesu.compat._common import DEFAULTS

    out: dict[str, Any] = {
        "benchmark": "river",
        "protocol": "progressive validation: predict_proba_one, then learn_one; one pass, "
        "stream order; StandardScaler() | model for every model",
        "seed": seed,
        "limit": limit,
        "mesu_config": {k: list(v) if isinstance(v, tuple) else v for k, v in DEFAULTS.items()},
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "river": river.__version__},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "sets": {},
        "info": {},
    }
    for set_name in sets:
        data = list(_dataset(set_name).take(limit) if limit else _dataset(set_name))
        labels = sorted({y for _, y in data}, key=repr)
        out["info"][set_name] = {"n": len(data), "features": len(data[0][0]), "classes": len(labels)}
        out["sets"][set_name] = {}
        for model_name in models:
            result = progressive(make_model(model_name, len(labels), seed), data)
            out["sets"][set_name][model_name] = result
            if log is not None:
                log(
                    f"{set_name:14s} {model_name:10s} acc {result['accuracy']:.4f} {result['updates_per_s']:9.0f} upd/s"
                )
            if done is not None:
                done()
    return out


def _wins(result: dict[str, Any], model: str, rivals: tuple[str, ...]) -> int | None:
    """Sets on which ``model`` is more accurate than every rival (``None`` if a set lacks one of them)."""
    sets = list(result["sets"].values())
    if not all(name in r for r in sets for name in (model, *rivals)):
        return None
    return sum(all(r[model]["accuracy"] > r[o]["accuracy"] for o in rivals) for r in sets)


def format_river_table(result: dict[str, Any]) -> str:
    """The table of :func:`run_river_bench`'s result, one block per set, and the fixed learner's standing."""
    lines = [
        f"{'set':14s} {'model':11s} {'accuracy':>8s} {'log loss':>9s} {'updates/s':>10s} "
        f"{'state B':>9s} {'memory B':>10s} {'acc vs arf':>11s}"
    ]
    for set_name, models in result["sets"].items():
        arf = models.get("arf", {}).get("accuracy")
        for name, r in models.items():
            loss = "-" if r["log_loss"] is None else f"{r['log_loss']:.3f}"
            gap = "" if arf is None else f"{100 * (r['accuracy'] - arf):+.2f} pt"
            lines.append(
                f"{set_name:14s} {name:11s} {r['accuracy']:8.4f} {loss:>9s} {r['updates_per_s']:10.0f} "
                f"{r['state_bytes']:9d} {r['memory_bytes']:10d} {gap:>11s}"
            )
    n_sets = len(result["sets"])
    for model in ("fixed", "mesu"):
        for rivals in (("logreg", "hoeffding"), ("arf",)):
            wins = _wins(result, model, rivals)
            if wins is not None:
                lines.append(f"{model} more accurate than {' and '.join(rivals)} on {wins}/{n_sets} sets")
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``edge-mesu bench river``."""
    p.add_argument("--sets", default=",".join(SETS), help=f"comma-separated river data sets (default {','.join(SETS)})")
    p.add_argument("--models", default=",".join(MODELS), help=f"comma-separated models (default {','.join(MODELS)})")
    p.add_argument("--seed", type=int, default=0, help="seed of the MESU learners and of ARF (default 0)")
    p.add_argument("--limit", type=int, default=None, help="only the first N samples of each set (a quick check)")
    p.add_argument("--json", default=None, metavar="OUT.json", help="write the result here")
    p.add_argument("--table", default=None, metavar="STORED.json", help="only print the table of a stored result")
    add_quiet_argument(p)


def handler(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Run the benchmark (or print a stored table); exit code 0, or 2 for unknown sets or models."""
    from edge_mesu.statefile import atomic_write_bytes

    if args.table:
        with open(args.table, encoding="utf-8") as fh:
            print(format_river_table(json.load(fh)))
        return 0
    sets, models = args.sets.split(","), args.models.split(",")
    bad = [s for s in sets if s not in SETS] + [m for m in models if m not in MODELS]
    if bad:
        raise ValueError(f"unknown set or model: {bad}; sets {list(SETS)}, models {list(MODELS)}")
    if args.json:  # fail on an unwritable path before the work, not after it
        check_file(args.json, "--json")
    import importlib

    try:
        importlib.import_module("river")
    except ImportError:
        raise MissingExtraError("bench river", "river", "river") from None
    with Progress(len(sets) * len(models), "bench river", unit="runs", quiet=args.quiet) as bar:
        result = run_river_bench(
            sets,
            models,
            seed=args.seed,
            limit=args.limit,
            log=None if args.quiet else bar.write,
            done=bar.update,
        )
    result["command"] = " ".join(["edge-mesu bench river", *(argv if argv is not None else sys.argv[3:])])
    print(format_river_table(result))
    if args.json:
        atomic_write_bytes(args.json, (json.dumps(result, indent=2) + "\n").encode("utf-8"))
    return 0
