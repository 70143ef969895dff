"""Permuted-MNIST continual learning: the MESU papers' protocol, no task boundaries given to any learner.

784-50-10 ReLU MLP without biases, batch size 1, one pass per task, pixels standardised. After each task
every learner is tested on all tasks seen so far; ``acc[i][j]`` is the test accuracy on task j after
training task i. Learners run in parallel processes (``jobs``), each on the same stream.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.data import PermutedMNIST, load_mnist, standardize_mnist
from edge_mesu.metrics import average_accuracy, backward_transfer
from edge_mesu.registry import VARIANTS
from edge_mesu.registry import make_learner as registry_make_learner
from edge_mesu.statefile import atomic_write_bytes

from ..progress import Progress

__all__ = ["LEARNER_FACTORIES", "make_learner", "run_pmnist", "PAPER_MESU"]

# The permuted-MNIST network of the MESU papers (MESU_FACTS.md): 784-50-10 without biases; everything else is
# the learners' preset (the device preset: one pre-activation sample per update) unless --set overrides it.
PAPER_MESU: dict[str, Any] = {"layers": (784, 50, 10), "bias": False}
LEARNER_FACTORIES = VARIANTS  # the benchmark's learner names are the registry's variants


def make_learner(name: str, seed: int = 0, **overrides: Any) -> Any:
    """A learner of the benchmark by name (a variant of :data:`edge_mesu.registry.VARIANTS`: ``mesu``,
    ``mesu10``, ``mesu-weights``, ``fixed``, ``fixed-c``, ``fixed-c-weights``, ``sgd``, ...) on the papers'
    network."""
    if name not in VARIANTS:
        raise ValueError(f"unknown learner {name!r}; choose from {', '.join(VARIANTS)}")
    return registry_make_learner(name, **{**PAPER_MESU, **overrides, "seed": seed})


def _run_one(
    name: str, bench: PermutedMNIST, seed: int, test_samples: int, progress: bool, overrides: dict[str, Any]
) -> dict[str, Any]:
    learner = make_learner(name, seed, **overrides)
    rows: list[list[float]] = []
    learn_s = 0.0
    updates = 0
    t_start = time.perf_counter()
    bar = Progress(bench.n_tasks * bench.task_length, f"pmnist {name}", unit="samples", quiet=not progress)
    for task, X, y in bench.train_stream():
        chunk = 1000
        for start in range(0, len(X), chunk):
            t0 = time.perf_counter()
            learner.learn_many(X[start : start + chunk], y[start : start + chunk])
            learn_s += time.perf_counter() - t0
            updates += len(X[start : start + chunk])
            bar.update(len(X[start : start + chunk]), f"task {task + 1}/{bench.n_tasks}")
        row = []
        for j in range(task + 1):
            Xt, yt = bench.test_set(j)
            pred = learner.predict_proba(Xt, samples=test_samples).argmax(axis=1)
            row.append(float(np.mean(pred == yt)))
        rows.append(row)
        msg = (
            f"[{name}] after task {task + 1}: mean over seen tasks {100 * np.mean(row):.2f}%, "
            f"task 1 {100 * row[0]:.2f}%, this task {100 * row[-1]:.2f}%"
        )
        bar.write(msg, file=sys.stdout)
    bar.close()
    return {
        "acc": rows,
        "updates_per_s": updates / learn_s,
        "wall_s": time.perf_counter() - t_start,
        "updates": updates,
        "learner": repr(learner),
        "state_bytes": int(learner.state_nbytes()),
        "n_params": int(learner.n_params()),
        "counters": None if (fixed := learner.describe().fixed) is None else fixed.counters,
    }


def run_pmnist(
    data_dir: str | os.PathLike | None,
    tasks: int = 10,
    learners: tuple[str, ...] = ("mesu", "sgd"),
    samples_per_task: int | None = None,
    test_samples: int = 0,
    seed: int = 0,
    jobs: int = 1,
    json_path: str | os.PathLike | None = None,
    progress: bool = True,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run the benchmark; return (and optionally merge into ``json_path``) the results.

    ``overrides`` maps a learner name to constructor arguments replacing the defaults.
    """
    for name in learners:
        make_learner(name)  # validates names before any work
    Xtr, ytr = load_mnist(data_dir, split="train")
    Xte, yte = load_mnist(data_dir, split="test")
    bench = PermutedMNIST(
        standardize_mnist(Xtr),
        ytr.astype(np.int64),
        standardize_mnist(Xte),
        yte.astype(np.int64),
        tasks,
        seed=seed,
        samples_per_task=samples_per_task,
    )
    overrides = overrides or {}
    args = [(n, bench, seed, test_samples, progress and jobs == 1, overrides.get(n, {})) for n in learners]
    if jobs > 1 and len(learners) > 1:
        with (
            ProcessPoolExecutor(max_workers=jobs) as pool,
            Progress(len(learners), "pmnist", unit="learners", quiet=not progress) as bar,
        ):
            futures = {pool.submit(_run_one, *a): a[0] for a in args}
            done = {}
            for fut in as_completed(futures):
                done[futures[fut]] = fut.result()
                bar.update(1, futures[fut])
            results = {name: done[name] for name in learners}
    else:
        results = {a[0]: _run_one(*a) for a in args}
    for res in results.values():
        acc = np.full((tasks, tasks), np.nan)
        for i, row in enumerate(res["acc"]):
            acc[i, : len(row)] = row
        res["final_mean_acc"] = float(average_accuracy(acc, tasks - 1))
        res["first_task_final"] = float(acc[tasks - 1, 0])
        res["first_task_after_1"] = float(acc[0, 0])
        res["bwt"] = float(backward_transfer(acc)) if tasks > 1 else None
    out = {
        "benchmark": "pmnist",
        "tasks": tasks,
        "samples_per_task": bench.task_length,
        "seed": seed,
        "test_samples": test_samples,
        "learners": results,
    }
    if json_path is not None:
        path = Path(json_path)
        if path.exists():  # later learners join the same file under their own names
            old = json.loads(path.read_text())
            if old.get("tasks") == tasks and old.get("samples_per_task") == bench.task_length:
                out["learners"] = {**old.get("learners", {}), **results}
        atomic_write_bytes(path, (json.dumps(out, indent=1) + "\n").encode())
    return out


def format_summary(result: dict[str, Any]) -> str:
    """A table: per learner, accuracy after task 1, final mean over seen tasks, task-1 retention, BWT, speed."""
    lines = [f"{'learner':14s} {'task1@1':>8s} {'mean@T':>8s} {'task1@T':>8s} {'BWT':>7s} {'upd/s':>8s}"]
    for name, r in result["learners"].items():
        bwt = "" if r.get("bwt") is None else f"{100 * r['bwt']:7.2f}"
        lines.append(
            f"{name:14s} {100 * r['first_task_after_1']:8.2f} {100 * r['final_mean_acc']:8.2f} "
            f"{100 * r['first_task_final']:8.2f} {bwt:>7s} {r['updates_per_s']:8.0f}"
        )
    return "\n".join(lines)
