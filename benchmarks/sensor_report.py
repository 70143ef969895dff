"""Print the markdown tables of docs/sensor_streams.md from the result JSON files (no learning is run).

python benchmarks/sensor_report.py main benchmarks/results/sensors.json      # per set/protocol + targets
python benchmarks/sensor_report.py ablation benchmarks/results/sensor_ablation.json
python benchmarks/sensor_report.py labels benchmarks/results/sensor_labels.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

from edge_mesu_app.bench.sensors import format_sensor_table, format_targets


def _pct(v: float | None, s: float | None = None) -> str:
    if v is None:
        return "—"
    return f"{100 * v:.1f}" + (f" ± {100 * s:.1f}" if s is not None else "")


def ablation(res: dict[str, Any]) -> str:
    lines = [
        "| variant | mean prequential | mean retention | dominates SGD curve | vs best-rate SGD | "
        "> replay | novelty ≥ 0.8 | hapt domain | hapt class | hapt drift |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v, s in res["scores"].items():
        c = s["counts"]
        hapt = []
        for prot in ("domain", "class", "drift"):
            x = s["cells"].get(f"hapt/{prot}")
            hapt.append(f"{_pct(x['prequential'])} / {_pct(x['retention'])}" if x else "—")
        lines.append(
            f"| {v} | {_pct(s['mean_prequential'])} | {_pct(s['mean_retention'])} | {c['dominates']}/{c['cells']} | "
            f"{c['best_lr_ok']} | {c['replay_ok']} | {c['novelty_ok']} | " + " | ".join(hapt) + " |"
        )
    return "\n".join(lines)


def labels(res: dict[str, Any]) -> str:
    out = []
    arms = None
    mean: dict[str, list[float]] = {}
    for d in res["cells"].values():
        arms = arms or list(d)
        for arm, s in d.items():
            mean.setdefault(arm, []).append(s["final"])
            mean.setdefault(arm + " preq", []).append(s["prequential"])
            mean.setdefault(arm + " frac", []).append(s["fraction"])
    out += [
        "| arm | labels used | prequential (mean over cells) | final accuracy (mean over cells) |",
        "|---|---|---|---|",
    ]
    for arm in arms or []:
        f = sum(mean[arm + " frac"]) / len(mean[arm + " frac"])
        out.append(
            f"| {arm} | {100 * f:.1f} % | {_pct(sum(mean[arm + ' preq']) / len(mean[arm]))} | "
            f"{_pct(sum(mean[arm]) / len(mean[arm]))} |"
        )
    out.append("")
    out.append("| set / protocol | " + " | ".join(arms or []) + " |")
    out.append("|---|" + "---|" * len(arms or []))
    for cell, d in res["cells"].items():
        out.append(
            f"| {cell} | " + " | ".join(f"{_pct(d[a]['final'])} ({_pct(d[a]['prequential'])})" for a in arms) + " |"
        )
    return "\n".join(out)


def main(argv: list[str]) -> int:
    kind, path = argv[0], argv[1]
    with open(path) as f:
        res = json.load(f)
    if kind == "main":
        print(format_sensor_table(res))
        print()
        print(format_targets(res))
    elif kind == "ablation":
        print(ablation(res))
    elif kind == "labels":
        print(labels(res))
    else:
        raise SystemExit(f"unknown report {kind!r} (main, ablation, labels)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
