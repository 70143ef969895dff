"""Print the markdown tables of docs/sensor_streams.md from the result JSON files (no learning is run).

python benchmarks/sensor_report.py main benchmarks/results/sensors.json      # per set/protocol + targets
python benchmarks/sensor_report.py ablation benchmarks/results/sensor_ablation.json
python benchmarks/sensor_report.py labels benchmarks/results/sensor_labels.json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from edge_mesu_app.bench.sensors import check_targets, format_sensor_table, format_targets


def _pct(v: float | None, s: float | None = None) -> str:
    if v is None:
        return "—"
    return f"{100 * v:.1f}" + (f" ± {100 * s:.1f}" if s is not None else "")


def target_counts(res: dict[str, Any]) -> str:
    """How many (set, protocol) cells meet each target of the issue (fixed MESU, means over seeds)."""
    keys = {
        "dominates": "MESU dominates SGD's learning-rate curve",
        "best_lr_ok": "vs the best-prequential SGD rate: within 3 points, >= 10 ahead on retention",
        "replay_ok": "retention above SGD + replay of equal RAM",
        "novelty_ok": "novelty AUROC >= 0.8 (mutual information)",
        "parity_ok": "fixed within 1 point of float (prequential and retention)",
        "finite": "every MESU run finite",
    }
    checks = [check_targets(c) for prots in res["sets"].values() for c in prots.values() if "fixed" in c]
    lines = ["| target | cells met |", "|---|---|"]
    for k, text in keys.items():
        met = sum(bool(t.get(k)) for t in checks)
        lines.append(f"| {text} | {met} / {len(checks)} |")
    return "\n".join(lines)


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
    """The label curve: per cell, accuracy at the end on the held-back windows (prequential in brackets) of
    every policy against the share of labels it was allowed, then the mean over the cells."""
    lr = f"{res.get('sgd_lr', 0.03):g}"
    policies = [
        ("fixed MI top", "fixed: top MI"),
        ("fixed entropy top", "fixed: top entropy"),
        ("fixed MI mixed", "fixed: ½ top MI + ½ random"),
        ("fixed random", "fixed: random"),
        (f"sgd@{lr} entropy top", f"sgd@{lr}: top entropy"),
        (f"sgd@{lr} random", f"sgd@{lr}: random"),
    ]
    cells = res["cells"]
    present = [(k, t) for k, t in policies if any(f"{k} {q:g}" in d for d in cells.values() for q in res["fractions"])]
    head = "| budget | " + " | ".join(t for _, t in present) + " |"
    rule = "|---|" + "---|" * len(present)

    def row(get: Any, q: float) -> str:
        vals = []
        for k, _ in present:
            arm = (("fixed" if k.startswith("fixed") else f"sgd@{lr}") + " all") if q == 1 else f"{k} {q:g}"
            vals.append(get(arm))
        return f"| {100 * q:g} % | " + " | ".join(vals) + " |"

    out = []
    for cell, d in cells.items():
        out += ["", f"**{cell}** — final accuracy ± spread over seeds (prequential)", "", head, rule]
        for q in [*res["fractions"], 1.0]:
            out.append(
                row(
                    lambda a, d=d, q=q: (
                        f"{_pct(d[a]['final'], d[a]['final_std'])} ({100 * d[a]['prequential']:.1f})"
                        + (f" [{100 * d[a]['fraction']:.0f} %]" if abs(d[a]["fraction"] - q) > 0.02 else "")
                        if a in d
                        else "—"
                    ),
                    q,
                )
            )
    out += ["", "**mean over the cells** — final accuracy (prequential)", "", head, rule]
    for q in [*res["fractions"], 1.0]:

        def mean(a: str) -> str:
            ds = [d[a] for d in cells.values() if a in d]
            if len(ds) < len(cells):
                return "—"
            f = sum(x["final"] for x in ds) / len(ds)
            pq = sum(x["prequential"] for x in ds) / len(ds)
            return f"{100 * f:.1f} ({100 * pq:.1f})"

        out.append(row(mean, q))
    out += ["", "[n %]: labels actually used where they differ from the budget by more than 2 points."]
    return "\n".join(out)


def label_targets(res: dict[str, Any], q: float = 0.25, lr: float | None = None) -> str:
    """The labelling target per cell: at ``q`` of the labels, MESU's MI policy against learning every label
    (within 2 points), random selection at the same budget (ahead) and SGD with entropy selection."""
    lr = res.get("sgd_lr", 0.03) if lr is None else lr
    top, rnd, ent = f"fixed MI top {q:g}", f"fixed random {q:g}", f"sgd@{lr:g} entropy top {q:g}"
    lines = [
        f"| set / protocol | metric | fixed, all labels | fixed MI top {q:g} (labels used) | gap to all | "
        f"fixed random {q:g} | MI − random | sgd@{lr:g} entropy top {q:g} | sgd@{lr:g} all | within 2 | ahead |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cell, d in res["cells"].items():
        if top not in d:
            continue
        for metric in ("final", "prequential"):
            a, t, r, e = d["fixed all"][metric], d[top][metric], d[rnd][metric], d[ent][metric]
            sgd_all = d[f"sgd@{lr:g} all"][metric]
            lines.append(
                f"| {cell} | {metric} | {_pct(a, d['fixed all'][metric + '_std'])} | "
                f"{_pct(t, d[top][metric + '_std'])} ({100 * d[top]['fraction']:.1f} %) | {100 * (t - a):+.1f} | "
                f"{_pct(r, d[rnd][metric + '_std'])} | {100 * (t - r):+.1f} | {_pct(e, d[ent][metric + '_std'])} "
                f"({100 * d[ent]['fraction']:.1f} %) | {_pct(sgd_all)} | {'yes' if t >= a - 0.02 else 'no'} | "
                f"{'yes' if t > r else 'no'} |"
            )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=("main", "ablation", "labels"), help="which tables to print")
    p.add_argument("path", help="the result JSON of the matching benchmark")
    args = p.parse_args(argv)
    kind = args.kind
    try:
        with open(args.path) as f:
            res = json.load(f)
    except (OSError, json.JSONDecodeError) as exc:
        p.error(f"cannot read {args.path!r}: {exc}")
    if kind == "main":
        print(format_sensor_table(res))
        print()
        print(format_targets(res))
        print()
        print(target_counts(res))
    elif kind == "ablation":
        print(ablation(res))
    elif kind == "labels":
        print(labels(res))
        print()
        print(label_targets(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
