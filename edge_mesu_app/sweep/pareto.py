"""Accuracy versus state bytes: the Pareto front per device, a summary table and an optional PNG.

A run is Pareto-optimal on its device when no other run there has at least its accuracy with at most its
state bytes, and is strictly better in one of them.

>>> rows = [{"device": "d", "accuracy": 0.8, "state_bytes": 100}, {"device": "d", "accuracy": 0.7,
...         "state_bytes": 200}, {"device": "d", "accuracy": 0.9, "state_bytes": 300}]
>>> pareto_flags(rows)
[True, False, True]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["pareto_flags", "summary_table", "plot_pareto"]


def pareto_flags(rows: list[dict[str, Any]]) -> list[bool]:
    """For each row, whether it is on its device's accuracy / state-bytes Pareto front."""
    flags = []
    for r in rows:
        dominated = any(
            o is not r
            and o["device"] == r["device"]
            and o["accuracy"] >= r["accuracy"]
            and o["state_bytes"] <= r["state_bytes"]
            and (o["accuracy"] > r["accuracy"] or o["state_bytes"] < r["state_bytes"])
            for o in rows
        )
        flags.append(not dominated)
    return flags


def summary_table(rows: list[dict[str, Any]], swept: list[str]) -> str:
    """Rows grouped by device, best accuracy first; ``*`` marks the Pareto front."""
    flags = pareto_flags(rows)
    shown = [k for k in swept if k not in ("device", "seed")]
    head = f"{'':1s} {'device':9s} {'run_id':16s} " + " ".join(f"{k[:18]:>18s}" for k in shown)
    head += f" {'seed':>4s} {'acc%':>6s} {'1st%':>6s} {'state B':>8s} {'RAM B':>7s} {'learn us':>9s} {'fits':>5s}"
    lines = [head]
    order = sorted(range(len(rows)), key=lambda i: (str(rows[i]["device"]), -rows[i]["accuracy"]))
    for i in order:
        r = rows[i]
        vals = " ".join(f"{str(r.get(k))[:18]:>18s}" for k in shown)
        lines.append(
            f"{'*' if flags[i] else ' '} {str(r['device'])[:9]:9s} {r['run_id']:16s} {vals} {r['seed']:>4d} "
            f"{100 * r['accuracy']:6.2f} {100 * r['first_task_accuracy']:6.2f} {r['state_bytes']:8d} "
            f"{r['ram_bytes']:7d} {r['learn_us']:9.0f} {str(bool(r['fits'])):>5s}"
        )
    lines.append("* Pareto-optimal on its device (accuracy vs state bytes)")
    return "\n".join(lines)


def plot_pareto(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Accuracy vs state bytes, one panel per device; Pareto-optimal runs marked and joined."""
    from ..plotting import pyplot, save_png

    plt = pyplot("--plot")
    devices = sorted({str(r["device"]) for r in rows})
    flags = pareto_flags(rows)
    fig, axes = plt.subplots(1, len(devices), figsize=(4.5 * len(devices), 3.6), squeeze=False)
    for ax, dev in zip(axes[0], devices):
        pts = [(r["state_bytes"], r["accuracy"], f) for r, f in zip(rows, flags) if str(r["device"]) == dev]
        ax.scatter([p[0] for p in pts if not p[2]], [p[1] for p in pts if not p[2]], c="0.6", label="run")
        front = sorted((p[0], p[1]) for p in pts if p[2])
        ax.plot([p[0] for p in front], [p[1] for p in front], "o-", c="C3", label="Pareto-optimal")
        ax.set_xscale("log")
        ax.set_xlabel("learning state (bytes)")
        ax.set_ylabel("accuracy")
        ax.set_title(dev)
        ax.legend(loc="lower right")
    fig.tight_layout()
    out = Path(path)
    save_png(fig, out)
    return out
