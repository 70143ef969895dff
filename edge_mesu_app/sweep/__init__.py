"""Quantisation sweeps: a TOML spec, one pure ``run_trial(config)``, local or Ray backends, resumable results.

Ray is never imported at module level; it is loaded only when the ``ray`` backend runs.
"""

from __future__ import annotations

from .backends import BACKENDS, map_unordered, ray_session
from .pareto import pareto_flags, plot_pareto, summary_table
from .runner import SweepResult, plan_sweep, run_sweep
from .spec import DEFAULTS, PARAMS, SweepSpec, load_spec, parse_spec
from .store import ResultsStore, read_rows
from .trial import RESULT_KEYS, run_id, run_trial

__all__ = [
    "BACKENDS",
    "DEFAULTS",
    "PARAMS",
    "RESULT_KEYS",
    "ResultsStore",
    "SweepResult",
    "SweepSpec",
    "load_spec",
    "map_unordered",
    "pareto_flags",
    "parse_spec",
    "plan_sweep",
    "plot_pareto",
    "ray_session",
    "read_rows",
    "run_id",
    "run_sweep",
    "run_trial",
    "summary_table",
]
