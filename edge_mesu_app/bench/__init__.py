"""Benchmarks shipped with the package so that ``edge-mesu bench ...`` and ``benchmarks/*.py`` share one code path."""

from __future__ import annotations

from .pmnist import LEARNER_FACTORIES, make_learner, run_pmnist
from .throughput import run_throughput

__all__ = ["LEARNER_FACTORIES", "make_learner", "run_pmnist", "run_throughput"]
