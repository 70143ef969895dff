"""How much retention does each sensor cell allow at all? A ceiling for the issue's retention targets (issue 17).

Three of the issue's targets are retention margins over a baseline: MESU must retain >= 10 points more than the
SGD rate with the best prequential accuracy, more than SGD + replay of equal RAM, and (to dominate SGD's
learning-rate curve through retention) >= 5 points more than every rate that comes within 1 point of it on
prequential accuracy. A margin can only be met where the cell leaves room for it. For every (set, protocol,
seed) stream of ``edge-mesu bench sensors`` this script measures the usual upper bound of continual learning,
*joint training*: a network of the same shape (n_in-32-k) trained offline by SGD on every window the stream
learns, shuffled i.i.d., for several epochs, at every rate of a small grid; its accuracy on the first third's
held-back windows (the windows retention is measured on, as the front end sees them at the end) is taken at
the best (rate, epochs) on those very windows, which makes the ceiling generous to the targets. It then reads
a ``bench sensors`` JSON and, per cell, prints what each target needs against that ceiling and against 100 %.

    python benchmarks/sensor_headroom.py --data ../shared/data/sensors --bench benchmarks/results/sensors.json \\
        --fixed benchmarks/results/sensors_fixed_format2.json --json benchmarks/results/sensor_headroom.json

``--sets`` restricts the run to some sets; ``--oracle-json`` reuses the joint-training figures of an earlier run
(they do not depend on the bench JSON; each cell records the grid it was measured on), so a wider ``--rates`` /
``--epochs`` grid can be spent on some cells (docs/sensor_streams.md gives the two commands of the recorded run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.sgd import SGDLearner
from edge_mesu.statefile import atomic_write_bytes
from edge_mesu_app.bench.sensor_streams import SET_PROTOCOLS, Stream, build_stream
from edge_mesu_app.bench.sensors import HIDDEN

RATES = (0.01, 0.03, 0.1)
EPOCHS = (1, 3, 10)
# verdicts of a retention target, worst first
IMPOSSIBLE, ABOVE_CEILING, ROOM, MET = (
    "impossible (above 100 %)",
    "above the joint-training ceiling",
    "room left",
    "met",
)
VERDICTS = (IMPOSSIBLE, ABOVE_CEILING, ROOM, MET)


def joint_training(
    stream: Stream, seed: int, rates: tuple[float, ...] = RATES, epochs_grid: tuple[int, ...] = EPOCHS
) -> dict[str, Any]:
    """Accuracy of i.i.d. offline training on the stream's windows, per (rate, epochs): the ceiling's grid."""
    X, y = stream.X, stream.y
    Xh, yh = stream.held_end
    Xk, yk = stream.known_end
    grid = []
    for lr in rates:
        m = SGDLearner(layers=(stream.n_features, *HIDDEN, stream.n_classes), lr=lr, seed=seed)
        rng = np.random.default_rng([seed, 7])
        done = 0
        for epochs in epochs_grid:
            for _ in range(epochs - done):
                order = rng.permutation(len(y))
                try:
                    with np.errstate(over="ignore", invalid="ignore"):  # the step itself refuses non-finite weights
                        m.learn_many(X[order], y[order])
                except FloatingPointError:  # a diverging rate leaves the grid
                    break
            else:
                done = epochs
                ret = float(np.mean(m.predict(Xh) == yh)) if len(yh) else float("nan")
                fin = float(np.mean(m.predict(Xk) == yk)) if len(yk) else float("nan")
                grid.append({"lr": lr, "epochs": epochs, "retention": ret, "final": fin})
                continue
            break
    best = max(grid, key=lambda g: (g["retention"], g["final"]))
    return {"retention": best["retention"], "final": best["final"], "best": best, "grid": grid}


def needs(cell: dict[str, Any], ceiling: float, mesu: str = "fixed") -> dict[str, Any]:
    """What each retention target needs of ``mesu`` in one cell (means over seeds), against ``ceiling``.

    Returns, per target, the retention it needs (``need``), whether 100 % or the ceiling already rule it out,
    and MESU's figure. Domination is listed per SGD rate that MESU does not yet dominate: that rate is beaten
    either by 1 more point of prequential accuracy or by 5 more points of retention.
    """
    m = cell[mesu]
    sgd = {k: v for k, v in cell.items() if k.startswith("sgd@")}
    out: dict[str, Any] = {"mesu_prequential": m["prequential"], "mesu_retention": m["retention"]}

    def verdict(need: float, strict: bool = False) -> str:
        if need > 1.0 or (strict and need >= 1.0):
            return IMPOSSIBLE
        if need > ceiling or (strict and need >= ceiling):
            return ABOVE_CEILING
        return MET if (m["retention"] > need if strict else m["retention"] >= need) else ROOM

    if sgd:
        best = max(sgd, key=lambda k: sgd[k]["prequential"])
        need = sgd[best]["retention"] + 0.10
        out["best_rate"] = {
            "rate": best,
            "need_retention": need,
            "need_prequential": sgd[best]["prequential"] - 0.03,
            "verdict": verdict(need),
        }
        out["dominates"] = {}
        for k, v in sgd.items():
            if v["prequential"] <= m["prequential"] - 0.01 or v["retention"] <= m["retention"] - 0.05:
                continue  # already dominated
            need = v["retention"] + 0.05
            out["dominates"][k] = {
                "need_retention": need,
                "or_prequential": v["prequential"] + 0.01,
                "verdict": verdict(need),
            }
    if "sgd-replay" in cell:
        need = cell["sgd-replay"]["retention"]
        out["replay"] = {"need_retention_above": need, "verdict": verdict(need, strict=True)}
    return out


def _pct(v: float) -> str:
    return f"{100 * v:.1f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="the sensor data pack (e.g. ../shared/data/sensors)")
    p.add_argument("--bench", required=True, help="a bench sensors JSON with the SGD grid and sgd-replay")
    p.add_argument("--fixed", default=None, help="a bench sensors JSON whose 'fixed' learner replaces --bench's")
    p.add_argument("--oracle-json", default=None, help="reuse the joint-training figures of an earlier --json")
    p.add_argument("--seeds", default="0,1,2", help="comma list of stream seeds (default 0,1,2)")
    p.add_argument("--sets", default=None, help="comma list of sets (default: every set of --bench)")
    p.add_argument("--rates", default=",".join(map(str, RATES)), help="SGD rates of the joint-training grid")
    p.add_argument("--epochs", default=",".join(map(str, EPOCHS)), help="epoch counts of the grid (ascending)")
    p.add_argument("--json", default=None, metavar="OUT.json")
    args = p.parse_args(argv)
    if not Path(args.data).is_dir():
        p.error(f"--data {args.data!r} is not a directory")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        p.error(f"--seeds must be a comma list of integers, got {args.seeds!r}")
    try:
        rates = tuple(float(v) for v in args.rates.split(","))
        epochs_grid = tuple(int(v) for v in args.epochs.split(","))
    except ValueError:
        p.error(f"--rates / --epochs must be comma lists of numbers, got {args.rates!r} / {args.epochs!r}")
    if not all(r > 0 for r in rates) or list(epochs_grid) != sorted(set(epochs_grid)) or epochs_grid[0] < 1:
        p.error(f"--rates must be > 0 and --epochs ascending from >= 1, got {args.rates!r} / {args.epochs!r}")
    sets: dict[str, Any] = {}
    for path, what in ((args.bench, "--bench"), (args.fixed, "--fixed")):
        if path is None:
            continue
        try:
            doc = json.loads(Path(path).read_text())["sets"]
        except (OSError, ValueError, KeyError) as exc:
            p.error(f"cannot read the {what} JSON {path!r}: {exc}")
        for name, prots in doc.items():
            for prot, cell in prots.items():
                dst = sets.setdefault(name, {}).setdefault(prot, {})
                dst.update(cell if what == "--bench" else {"fixed": cell["fixed"]})
    wanted = None if args.sets is None else set(args.sets.split(","))
    unknown = sorted((wanted or set()) - set(sets))
    if unknown:
        p.error(f"--sets {args.sets!r}: {', '.join(unknown)} not in the --bench JSON (it has {', '.join(sets)})")
    oracle: dict[str, Any] = {}
    if args.oracle_json:
        try:
            oracle = json.loads(Path(args.oracle_json).read_text())["oracle"]
        except (OSError, ValueError, KeyError) as exc:
            p.error(f"cannot read the --oracle-json {args.oracle_json!r}: {exc}")

    cache: dict[str, Any] = {}
    result: dict[str, Any] = {"seeds": seeds, "oracle": oracle, "cells": {}}
    print(
        "| set / protocol | joint-training retention (per seed) | fixed MESU | best-rate target: needs "
        "| > replay: needs | domination: rates not dominated (needs retention / or prequential) |"
    )
    print("|---|---|---|---|---|---|")
    for name, prots in sets.items():
        if wanted is not None and name not in wanted:
            continue
        for prot, cell in prots.items():
            if prot not in SET_PROTOCOLS.get(name, ()) or "fixed" not in cell:
                continue
            key = f"{name}/{prot}"
            if key not in oracle:
                per_seed = [
                    joint_training(build_stream(args.data, name, prot, s, cache), s, rates, epochs_grid) for s in seeds
                ]
                oracle[key] = {
                    "rates": rates,
                    "epochs": epochs_grid,
                    "retention": float(np.mean([r["retention"] for r in per_seed])),
                    "final": float(np.mean([r["final"] for r in per_seed])),
                    "seeds": per_seed,
                }
            o = oracle[key]
            n = needs(cell, o["retention"])
            result["cells"][key] = n
            b = n.get("best_rate", {})
            r = n.get("replay", {})
            dom = "; ".join(
                f"{k}: {_pct(v['need_retention'])} / {_pct(v['or_prequential'])} ({v['verdict']})"
                for k, v in n.get("dominates", {}).items()
            )
            print(
                f"| {name} / {prot} | {_pct(o['retention'])} "
                f"({', '.join(_pct(s['retention']) for s in o['seeds'])}) | "
                f"{_pct(n['mesu_prequential'])} / {_pct(n['mesu_retention'])} | "
                f"{_pct(b['need_retention']) if b else '—'} ({b.get('verdict', '—')}) | "
                f"> {_pct(r['need_retention_above']) if r else '—'} ({r.get('verdict', '—')}) | "
                f"{dom or 'dominated'} |",
                flush=True,
            )
    cells = result["cells"].values()
    for target, pick in (
        ("best-rate", lambda c: [c["best_rate"]["verdict"]] if "best_rate" in c else []),
        ("replay", lambda c: [c["replay"]["verdict"]] if "replay" in c else []),
        ("domination (per cell: the worst rate)", lambda c: [v["verdict"] for v in c.get("dominates", {}).values()]),
    ):
        tally: dict[str, int] = {}
        for c in cells:
            vs = pick(c)
            worst = min(vs, key=VERDICTS.index) if vs else MET
            tally[worst] = tally.get(worst, 0) + 1
        print(f"{target}: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
    if args.json:
        atomic_write_bytes(args.json, json.dumps(result, indent=1).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
