"""Print the local-reparameterisation tables of docs/results.md from the JSON of the runs.

Permuted MNIST (10 tasks): per seed, float MESU with weight sampling (``mesu``) against local
reparameterisation (``mesu-lrt``), and the parity targets of the fixed learner applied to LRT − weights
(within 1 after task 1, within 1.5 on the 10-task mean, within 3 on task 1 after 10). The per-weight rows of
seeds 1 and 2 come from earlier runs of the unchanged code (seed 0 was re-run beside LRT and reproduced its
stored row to the last digit). Sensors: hapt domain-incremental, both samplings, per seed.

Example::

    python benchmarks/lrt_report.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
# seed -> (file with the per-weight row, file with the LRT row)
PMNIST = {
    0: ("pmnist10_lrt.json", "pmnist10_lrt.json"),
    1: ("pmnist10_seed1.json", "pmnist10_lrt_seed1.json"),
    2: ("pmnist10_format2_seed2.json", "pmnist10_lrt_seed2.json"),
}
TARGETS = {"after task 1": 1.0, "mean after 10": 1.5, "task 1 after 10": 3.0}


def _load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def _figures(res: dict) -> dict[str, float]:
    acc = res["acc"]
    return {
        "after task 1": 100 * acc[0][0],
        "mean after 10": 100 * float(np.mean(acc[-1])),
        "task 1 after 10": 100 * acc[-1][0],
        "new task, mean of 10": 100 * float(np.mean([row[-1] for row in acc])),
        "updates/s": res["updates_per_s"],
    }


def pmnist_table() -> str:
    lines = [
        "| seed | sampling | after task 1 | mean after 10 | task 1 after 10 | new-task acc. (mean of 10) | updates/s |",
        "|---|---|---|---|---|---|---|",
    ]
    deltas = []
    for seed, (wfile, lfile) in PMNIST.items():
        rows = {}
        for label, fname, key in (("weights", wfile, "mesu"), ("LRT", lfile, "mesu-lrt")):
            if not (RESULTS / fname).exists():
                continue
            data = _load(fname)
            assert data["seed"] == seed and data["tasks"] == 10 and data["samples_per_task"] == 60000
            rows[label] = f = _figures(data["learners"][key])
            same_run = " (same run)" if wfile == lfile else ""
            lines.append(
                f"| {seed} | {label} | {f['after task 1']:.2f} | {f['mean after 10']:.2f} | "
                f"{f['task 1 after 10']:.2f} | {f['new task, mean of 10']:.2f} | {f['updates/s']:,.0f}{same_run} |"
            )
        if len(rows) == 2:
            deltas.append({k: rows["LRT"][k] - rows["weights"][k] for k in rows["LRT"] if k != "updates/s"})
    lines += [
        "",
        "| seed | LRT − weights: after task 1 | mean after 10 | task 1 after 10 | new-task acc. |",
        "|---|---|---|---|---|",
    ]
    for seed, d in zip(PMNIST, deltas):
        cells = [
            f"{d[k]:+.2f} ({'met' if abs(d[k]) <= TARGETS[k] else 'outside ±' + format(TARGETS[k], 'g')})"
            for k in TARGETS
        ]
        lines.append(f"| {seed} | " + " | ".join(cells) + f" | {d['new task, mean of 10']:+.2f} |")
    if deltas:
        mean = {k: float(np.mean([d[k] for d in deltas])) for k in deltas[0]}
        lines.append(
            f"| mean of {len(deltas)} | "
            + " | ".join(f"{mean[k]:+.2f}" for k in TARGETS)
            + f" | {mean['new task, mean of 10']:+.2f} |"
        )
    return "\n".join(lines)


def sensor_table() -> str:
    path = RESULTS / "sensors_lrt.json"
    if not path.exists():
        return ""
    cell = json.loads(path.read_text())["sets"]["hapt"]["domain"]
    lines = [
        "| hapt / domain | seed | prequential | retention | final | novelty AUROC (MI) |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("mesu", "mesu-lrt"):
        for seed, s in enumerate(cell[name]["seeds"]):
            lines.append(
                f"| {name} | {seed} | {100 * s['prequential']:.2f} | {100 * s['retention']:.2f} | "
                f"{100 * s['final']:.2f} | {s['novelty_auroc']:.3f} |"
            )
        c = cell[name]
        lines.append(
            f"| {name} | mean ± std | {100 * c['prequential']:.2f} ± {100 * c['prequential_std']:.2f} | "
            f"{100 * c['retention']:.2f} ± {100 * c['retention_std']:.2f} | {100 * c['final']:.2f} ± "
            f"{100 * c['final_std']:.2f} | {c['novelty_auroc']:.3f} |"
        )
    return "\n".join(lines)


def main() -> int:
    print(pmnist_table())
    print()
    print(sensor_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
