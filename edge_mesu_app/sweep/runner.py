"""``run_sweep``: expand a spec, skip runs already recorded, run the rest on a backend, record each row."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .backends import check_backend, map_unordered
from .spec import PARAMS, SweepSpec
from .store import ResultsStore, check_output
from .trial import RESULT_KEYS, run_id, run_trial

__all__ = ["SweepResult", "plan_sweep", "run_sweep"]


@dataclass
class SweepResult:
    """What a sweep did: every row of the output (spec order), and how many runs ran or were skipped."""

    rows: list[dict[str, Any]]
    ran: int
    skipped: int
    swept: list[str]


def _check_data(configs: list[dict[str, Any]], data: str | None) -> None:
    """pMNIST runs need MNIST: refuse before anything runs when it cannot be found."""
    if not any(c["stream"] == "pmnist" for c in configs):
        return
    from edge_mesu.data import find_mnist_dir
    from edge_mesu.data.mnist import MNIST_ENV_VAR

    for c in configs:
        if c["stream"] == "pmnist" and find_mnist_dir([c["data"] or data, os.environ.get(MNIST_ENV_VAR)]) is None:
            raise ValueError(
                f"stream 'pmnist' needs MNIST: pass --data DIR or set {MNIST_ENV_VAR} (or choose stream = 'sensor')"
            )


def _check_learners(configs: list[dict[str, Any]]) -> None:
    """Build each distinct learner once, so a bad combination (e.g. mu_frac) fails before any run."""
    from .trial import make_learner

    seen = set()
    for c in configs:
        key = tuple(
            c[k]
            for k in (
                "hidden",
                "mu_frac",
                "mu_frac_offset",
                "sigma_bits",
                "sigma_per_octave",
                "rounding",
                "N",
                "sigma_prior",
                "train_samples",
                "stream",
            )
        )
        if key not in seen:
            seen.add(key)
            try:
                make_learner(c, 96, 5)
            except ValueError as exc:
                raise ValueError(f"bad learner settings: {exc}") from None


def plan_sweep(spec: SweepSpec, data: str | None = None) -> list[dict[str, Any]]:
    """Every configuration of the spec, checked (data available, learners buildable)."""
    configs = spec.configs()
    if data:
        configs = [{**c, "data": c["data"] or str(data)} for c in configs]
    ids = [run_id(c) for c in configs]
    if len(set(ids)) != len(ids):
        raise ValueError("the sweep lists the same configuration twice (same parameters and seed)")
    _check_data(configs, data)
    _check_learners(configs)
    return configs


def run_sweep(
    spec: SweepSpec,
    out: str | os.PathLike,
    backend: str = "local",
    workers: int = 1,
    address: str | None = None,
    data: str | None = None,
    progress: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> SweepResult:
    """Run every configuration not yet in ``out``; append each row as it completes; return all rows.

    ``progress(done, total, row)`` is called after each recorded row.
    """
    check_backend(backend, workers, address)
    check_output(out)
    configs = plan_sweep(spec, data)
    store = ResultsStore(Path(out), list(PARAMS) + [k for k in RESULT_KEYS if k != "seed"] + ["seed"])
    todo = [c for c in configs if run_id(c) not in store.done]
    skipped = len(configs) - len(todo)
    done = skipped
    for _, row in map_unordered(run_trial, todo, backend, workers, address):
        store.append(row)
        done += 1
        if progress is not None:
            progress(done, len(configs), row)
    ids = [run_id(c) for c in configs]
    store.finalize(ids)
    wanted = set(ids)
    rows = [r for r in store.rows if r["run_id"] in wanted]
    swept = list(dict.fromkeys([n for axis in spec.grid for n in axis[0]] + list(spec.random)))
    if len(spec.seeds) > 1:
        swept.append("seed")
    return SweepResult(rows, len(todo), skipped, swept)
