"""Sweeps run: identical rows on any worker count, resumable after a kill, torn lines dropped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge_mesu_app.sweep import parse_spec, read_rows, run_sweep
from edge_mesu_app.sweep.store import ResultsStore

SMALL = {
    "sweep": {"name": "t", "seeds": [0]},
    "fixed": {"windows": 80, "n_classes": 3},
    "grid": {"hidden": [3, 6], "rounding": ["stochastic", "nearest"]},
}
ROOT = Path(__file__).resolve().parents[1]


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def test_rows_do_not_depend_on_worker_count(tmp_path):
    spec = parse_spec(SMALL)
    one = run_sweep(spec, tmp_path / "one.csv", workers=1)
    two = run_sweep(spec, tmp_path / "two.csv", workers=2)
    assert one.ran == two.ran == 4
    assert _strip(one.rows) == _strip(two.rows)
    assert _strip(read_rows(tmp_path / "one.csv")) == _strip(one.rows)
    row = one.rows[0]
    for key in (
        "run_id",
        "accuracy",
        "first_task_accuracy",
        "state_bytes",
        "flash_bytes",
        "ram_bytes",
        "learn_us",
        "predict_us",
        "fits",
        "seed",
        "wall_s",
        "hidden",
        "rounding",
        "sigma_bits",
    ):
        assert key in row
    again = run_sweep(spec, tmp_path / "one.csv")
    assert (again.ran, again.skipped) == (0, 4)


def test_torn_last_line_is_dropped(tmp_path):
    spec = parse_spec({**SMALL, "grid": {"hidden": [3]}})
    out = tmp_path / "r.csv"
    run_sweep(spec, out)
    with open(out, "a", encoding="utf-8") as fh:
        fh.write("sensor,80,3,0,3,1000")  # a row cut short by a kill
    assert len(read_rows(out)) == 1
    store = ResultsStore(out, ["run_id"])
    assert len(store.rows) == 1 and out.read_text().endswith("\n")


_KILLABLE = """
import sys
from edge_mesu_app.sweep import parse_spec, run_sweep
spec = parse_spec({"sweep": {"seeds": [0, 1, 2]}, "fixed": {"windows": 150, "n_classes": 3},
                   "grid": {"hidden": [3, 5, 7]}})
run_sweep(spec, sys.argv[1])
"""


def test_resume_after_a_killed_sweep(tmp_path):
    out = tmp_path / "killed.csv"
    proc = subprocess.Popen([sys.executable, "-c", _KILLABLE, str(out)], cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(read_rows(out)) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    recorded = read_rows(out)
    assert 2 <= len(recorded) < 9, "the kill came too late to test resuming"
    spec = parse_spec(
        {"sweep": {"seeds": [0, 1, 2]}, "fixed": {"windows": 150, "n_classes": 3}, "grid": {"hidden": [3, 5, 7]}}
    )
    resumed = run_sweep(spec, out)
    assert resumed.skipped == len(recorded) and resumed.ran == 9 - len(recorded)
    fresh = run_sweep(spec, tmp_path / "fresh.csv")
    assert _strip(read_rows(out)) == _strip(fresh.rows)


def test_plot_needs_matplotlib_or_writes_png(tmp_path):
    from edge_mesu_app.sweep import plot_pareto

    rows = [{"device": "d", "accuracy": 0.5, "state_bytes": 10}, {"device": "d", "accuracy": 0.6, "state_bytes": 20}]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="matplotlib"):
            plot_pareto(rows, tmp_path / "p.png")
        return
    assert plot_pareto(rows, tmp_path / "p.png").stat().st_size > 0
