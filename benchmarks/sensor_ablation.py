"""Ablation of the MESU learners' settings on the real sensor streams (docs/sensor_streams.md).

Every variant is a learner kind (``fixed`` or ``mesu``) with a base preset and keyword overrides; every
variant runs on the same streams (built once, optionally cached in a pickle outside the project) and is
compared with the SGD learning-rate grid and SGD + replay on those streams (the issue's targets).

    python benchmarks/sensor_ablation.py --data ../shared/data/sensors --variants sigma_init \\
        --json benchmarks/results/sensor_ablation.json [--baselines-json B.json] [--stream-cache /tmp/s.pkl]

Prints, per variant, the mean prequential accuracy and retention over the (set, protocol) cells and how many
cells meet each target, then the per-cell figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import sys
import time
from typing import Any

import numpy as np

from edge_mesu.statefile import atomic_write_bytes
from edge_mesu_app.bench.sensor_streams import SET_PROTOCOLS, build_stream
from edge_mesu_app.bench.sensors import DEFAULT_LEARNERS, _clean, _summary, check_targets, make_learner, run_learner

# name -> (kind, preset, overrides); groups of variants are run together with --variants GROUP
GROUPS: dict[str, dict[str, tuple[str, str, dict[str, Any]]]] = {
    # the chosen preset, then one knob at a time away from it (the table of docs/sensor_streams.md)
    "sensor": {
        "fixed:sensor": ("fixed", "sensor", {}),
        "mesu:sensor": ("mesu", "sensor", {}),
        "fixed:device": ("fixed", "device", {}),
        "fixed:sensor,sigma_init=0.05": ("fixed", "sensor", {"sigma_init": 0.05}),
        "fixed:sensor,sigma_init=0.1": ("fixed", "sensor", {"sigma_init": 0.1}),
        "fixed:sensor,sigma_init=fan_in": ("fixed", "sensor", {"sigma_init": "paper"}),
        "fixed:sensor,sigma_max=none": ("fixed", "sensor", {"sigma_max": None}),
        "fixed:sensor,ratio_max=0.1": ("fixed", "sensor", {"ratio_max": 0.1}),
        "fixed:sensor,ratio_max=none": ("fixed", "sensor", {"ratio_max": None}),
        "fixed:sensor,lr_mu=1": ("fixed", "sensor", {"lr_mu": 1.0}),
        "fixed:sensor,N=3e4": ("fixed", "sensor", {"N": 3e4}),
        "fixed:sensor,N=3e6": ("fixed", "sensor", {"N": 3e6}),
        "fixed:sensor,train_samples=2": ("fixed", "sensor", {"train_samples": 2}),
        "fixed:sensor,centered": ("fixed", "sensor", {"sigma_grad": "centered"}),
    },
    "presets": {
        "fixed:pipeline": ("fixed", "pipeline", {}),
        "mesu:paper": ("mesu", "paper", {}),
        "mesu:pipeline": ("mesu", "pipeline", {}),
    },
    "sigma_init": {f"fixed:sigma_init={v}": ("fixed", "pipeline", {"sigma_init": v}) for v in (0.1, 0.2, 0.3)},
    "N": {f"fixed:N={v:g}": ("fixed", "pipeline", {"N": v}) for v in (3e3, 1e4, 3e4, 1e5)},
    "guard": {
        f"fixed:s0.2,ratio_max={v}": ("fixed", "pipeline", {"sigma_init": 0.2, "ratio_max": v})
        for v in (None, 0.03, 0.3)
    },
    "samples": {
        f"fixed:s0.2,train_samples={v}": ("fixed", "pipeline", {"sigma_init": 0.2, "train_samples": v}) for v in (2, 4)
    },
    "centered": {"fixed:s0.2,centered": ("fixed", "pipeline", {"sigma_init": 0.2, "sigma_grad": "centered"})},
    "prior": {
        f"fixed:s0.2,N={n:g},sigma_prior={sp}": ("fixed", "pipeline", {"sigma_init": 0.2, "N": n, "sigma_prior": sp})
        for n, sp in ((3e4, 0.5), (3e5, 0.5), (3e5, 0.25))
    },
    "lr_mu": {
        f"fixed:s{s0},lr_mu={lm}": ("fixed", "pipeline", {"sigma_init": s0, "lr_mu": lm})
        for s0, lm in ((0.1, 2.0), (0.1, 4.0), (0.2, 2.0))
    },
    "ratio": {
        f"fixed:s0.2,ratio_max={v}": ("fixed", "pipeline", {"sigma_init": 0.2, "ratio_max": v})
        for v in (0.1, 0.2, 0.3, 0.5, 1.0)
    },
    "round3": {
        "fixed:s0.15,r0.3": ("fixed", "pipeline", {"sigma_init": 0.15, "ratio_max": 0.3}),
        "fixed:s0.3,r0.3": ("fixed", "pipeline", {"sigma_init": 0.3, "ratio_max": 0.3}),
        "fixed:s0.2,r0.3,sstep0.1": ("fixed", "pipeline", {"sigma_init": 0.2, "ratio_max": 0.3, "sigma_step_max": 0.1}),
        "fixed:s0.2,r0.3,top0.2": ("fixed", "pipeline", {"sigma_init": 0.2, "ratio_max": 0.3, "sigma_max": 0.2}),
        "fixed:s0.2,r0.3,lr_mu2": ("fixed", "pipeline", {"sigma_init": 0.2, "ratio_max": 0.3, "lr_mu": 2.0}),
        "fixed:s0.2,r0.3,sp0.25": ("fixed", "pipeline", {"sigma_init": 0.2, "ratio_max": 0.3, "sigma_prior": 0.25}),
    },
    "round4": {
        "fixed:s0.2,r0.3,lr_mu2,sp0.25": (
            "fixed",
            "pipeline",
            {"sigma_init": 0.2, "ratio_max": 0.3, "lr_mu": 2.0, "sigma_prior": 0.25},
        ),
        "fixed:s0.2,r0.3,lr_mu1.5,sp0.25": (
            "fixed",
            "pipeline",
            {"sigma_init": 0.2, "ratio_max": 0.3, "lr_mu": 1.5, "sigma_prior": 0.25},
        ),
        "fixed:s0.2,r0.5,lr_mu2,sp0.25": (
            "fixed",
            "pipeline",
            {"sigma_init": 0.2, "ratio_max": 0.5, "lr_mu": 2.0, "sigma_prior": 0.25},
        ),
        "fixed:s0.15,r0.3,lr_mu3,sp0.25": (
            "fixed",
            "pipeline",
            {"sigma_init": 0.15, "ratio_max": 0.3, "lr_mu": 3.0, "sigma_prior": 0.25},
        ),
        "fixed:s0.2,r0.3,lr_mu2,top0.25": (
            "fixed",
            "pipeline",
            {"sigma_init": 0.2, "ratio_max": 0.3, "lr_mu": 2.0, "sigma_max": 0.25},
        ),
        "mesu:s0.2,r0.3,lr_mu2,sp0.25": (
            "mesu",
            "pipeline",
            {"sigma_init": 0.2, "ratio_max": 0.3, "lr_mu": 2.0, "sigma_prior": 0.25},
        ),
    },
    "round5": {
        **{f"fixed:sensor,N={n:g}": ("fixed", "sensor", {"N": n}) for n in (1e4, 3e4, 1e5)},
        "fixed:sensor": ("fixed", "sensor", {}),
        "mesu:sensor": ("mesu", "sensor", {}),
        "fixed:sensor,centered": ("fixed", "sensor", {"sigma_grad": "centered"}),
        "fixed:sensor,train_samples=2": ("fixed", "sensor", {"train_samples": 2}),
    },
    "final": {  # one setting at a time away from the sensor preset (plus the presets it replaces)
        "mesu:paper": ("mesu", "paper", {}),
        "mesu:pipeline": ("mesu", "pipeline", {}),
        **{f"fixed:sensor,sigma_init={v}": ("fixed", "sensor", {"sigma_init": v}) for v in (0.1, 0.15, 0.3, "paper")},
        **{f"fixed:sensor,ratio_max={v}": ("fixed", "sensor", {"ratio_max": v}) for v in (0.1, 0.5, None)},
        **{f"fixed:sensor,lr_mu={v}": ("fixed", "sensor", {"lr_mu": v}) for v in (1.0, 3.0)},
        "fixed:sensor,sigma_max=default": ("fixed", "sensor", {"sigma_max": None}),
        "fixed:sensor,sigma_prior=0.25": ("fixed", "sensor", {"sigma_prior": 0.25}),
    },
    # class-incremental recency: output biases are the first suspect (no biases: the paper preset's choice)
    "bias": {
        "fixed:sensor,bias=False": ("fixed", "sensor", {"bias": False}),
        "mesu:sensor,bias=False": ("mesu", "sensor", {"bias": False}),
    },
    # the σ code's resolution: 48 codes per octave widens the window below (5.3 octaves instead of 4)
    "octave": {"fixed:sensor,sigma_per_octave=48": ("fixed", "sensor", {"sigma_per_octave": 48})},
    "window": {
        f"fixed:s0.2,sigma_max={v}": ("fixed", "pipeline", {"sigma_init": 0.2, "sigma_max": v}) for v in (0.2, 0.8)
    },
}


# the study's names for the presets it compared: "paper" = the learners' default before it (the "device"
# preset), "pipeline" = what SensorPipeline used before it (device with σ = 2/√fan_in)
_STUDY_PRESETS = {"paper": ("device", {}), "pipeline": ("device", {"sigma_init": "paper"})}


def variant_factory(kind: str, preset: str, overrides: dict[str, Any]):  # noqa: ANN201
    name, base = _STUDY_PRESETS.get(preset, (preset, {}))
    args = {**base, **overrides}
    return lambda n_in, k, seed: make_learner(kind, n_in, k, seed, preset=name, **args)


def load_streams(
    data: str, cells: list[tuple[str, str]], seeds: list[int], cache_path: str | None, stream_options: dict[str, Any]
) -> dict:
    key = json.dumps(stream_options, sort_keys=True, default=str)
    store: dict = {}
    if cache_path and os.path.exists(cache_path):
        with open(cache_path, "rb") as f:
            store = pickle.load(f)
    sets_cache: dict = {}
    changed = False
    for name, prot in cells:
        for seed in seeds:
            k = (name, prot, seed, key if name == "hapt" else "")
            if k not in store:
                opts = stream_options if name == "hapt" else {}
                store[k] = build_stream(data, name, prot, seed, sets_cache, **opts)
                changed = True
    if cache_path and changed:
        with open(cache_path + ".tmp", "wb") as f:
            pickle.dump(store, f)
        os.replace(cache_path + ".tmp", cache_path)
    return {(n, p, s): store[(n, p, s, key if n == "hapt" else "")] for n, p in cells for s in seeds}


def run_cells(
    streams: dict, cells: list, seeds: list[int], factories: dict[str, Any], log: bool = True
) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, prot in cells:
        for lname, fac in factories.items():
            runs = []
            for seed in seeds:
                t = time.time()
                runs.append(run_learner(streams[(name, prot, seed)], fac, seed))
                if log:
                    r = runs[-1]
                    print(
                        f"  {name:>20s} {prot:6s} s{seed} {lname:28s} preq {r['prequential']:.3f} "
                        f"ret {r['retention']:.3f} auroc {r['novelty_auroc']:.3f} ({time.time() - t:.0f}s)",
                        file=sys.stderr,
                        flush=True,
                    )
            out.setdefault(name, {}).setdefault(prot, {})[lname] = _summary(runs)
    return out


def score(variant: dict, baselines: dict) -> dict[str, Any]:
    """Targets of one variant (as the ``fixed`` learner) against the baselines, per cell and in total."""
    cells, counts = {}, {"dominates": 0, "best_lr_ok": 0, "replay_ok": 0, "novelty_ok": 0, "finite": 0, "cells": 0}
    preq, ret = [], []
    for name, prots in variant.items():
        for prot, d in prots.items():
            cell = {**baselines.get(name, {}).get(prot, {}), "fixed": d}
            t = check_targets(cell, mesu="fixed", floatname="fixed")
            cells[f"{name}/{prot}"] = {
                **t,
                "prequential": d["prequential"],
                "retention": d["retention"],
                "novelty_auroc": d.get("novelty_auroc"),
            }
            for key in counts:
                if key != "cells" and t.get(key):
                    counts[key] += 1
            counts["cells"] += 1
            preq.append(d["prequential"])
            ret.append(d["retention"])
    return {
        "counts": counts,
        "mean_prequential": float(np.mean(preq)),
        "mean_retention": float(np.mean(ret)),
        "cells": cells,
    }


def format_scores(scores: dict[str, dict]) -> str:
    lines = [
        "| variant | mean preq | mean ret | dominates | best-lr ok | > replay | novelty ≥ .8 | cells |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v, s in scores.items():
        c = s["counts"]
        lines.append(
            f"| {v} | {100 * s['mean_prequential']:.1f} | {100 * s['mean_retention']:.1f} | "
            f"{c['dominates']} | {c['best_lr_ok']} | {c['replay_ok']} | {c['novelty_ok']} | {c['cells']} |"
        )
    return "\n".join(lines)


def format_cells(scores: dict[str, dict], baselines: dict) -> str:
    names = sorted({c for s in scores.values() for c in s["cells"]})
    lines = []
    for c in names:
        set_, prot = c.split("/")
        b = baselines.get(set_, {}).get(prot, {})
        base = "  ".join(f"{k} {100 * v['prequential']:.1f}/{100 * v['retention']:.1f}" for k, v in b.items())
        lines.append(f"\n{c}: {base}")
        for v, s in scores.items():
            if c in s["cells"]:
                x = s["cells"][c]
                lines.append(
                    f"   {v:40s} {100 * x['prequential']:.1f}/{100 * x['retention']:.1f} "
                    f"auroc {x['novelty_auroc'] or math.nan:.2f} dom {x.get('dominates')} "
                    f"best {x.get('best_lr_ok')} rep {x.get('replay_ok')}"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--sets", default=",".join(SET_PROTOCOLS))
    p.add_argument("--protocols", default="domain,class,drift")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--variants", default="presets", help="comma list of groups or variant names")
    p.add_argument("--baselines-json", default=None, help="reuse (or write) the SGD baselines here")
    p.add_argument("--stream-cache", default=None, help="pickle of built streams (outside the project)")
    p.add_argument("--hapt-users", type=int, default=None)
    p.add_argument("--freeze-after", type=int, default=None)
    p.add_argument("--static", action="store_true")
    p.add_argument("--tau", type=int, default=None)
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    seeds = [int(s) for s in a.seeds.split(",")]
    prots = a.protocols.split(",")
    cells = [(n, pr) for n in a.sets.split(",") for pr in SET_PROTOCOLS.get(n, ()) if pr in prots]
    opts: dict[str, Any] = {}
    if a.hapt_users:
        opts["users"] = a.hapt_users
    if a.freeze_after:
        opts["freeze_after"] = a.freeze_after
    if a.static:
        opts["static"] = True
    if a.tau is not None:
        import dataclasses

        from edge_mesu_app.bench.sensor_streams import default_frontend

        opts["spec"] = dataclasses.replace(default_frontend(), tau_log2=a.tau)
    t0 = time.time()
    streams = load_streams(a.data, cells, seeds, a.stream_cache, opts)
    print(f"streams ready ({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)
    base_names = [n for n in DEFAULT_LEARNERS if n.startswith("sgd")]
    baselines: dict = {}
    if a.baselines_json and os.path.exists(a.baselines_json):
        with open(a.baselines_json) as f:
            baselines = json.load(f)["baselines"]
    missing = [(n, pr) for n, pr in cells if pr not in baselines.get(n, {})]
    if missing:
        facs = {b: (lambda n_in, k, s, _b=b: make_learner(_b, n_in, k, s)) for b in base_names}
        for n, pr in missing:
            baselines.setdefault(n, {}).update(run_cells(streams, [(n, pr)], seeds, facs)[n])
        if a.baselines_json:
            atomic_write_bytes(
                a.baselines_json,
                json.dumps(
                    _clean({"baselines": baselines, "seeds": seeds, "stream_options": str(opts)}), indent=1
                ).encode(),
            )
    variants: dict[str, tuple] = {}
    for v in a.variants.split(","):
        if v in GROUPS:
            variants.update(GROUPS[v])
        else:
            found = [g[v] for g in GROUPS.values() if v in g]
            if not found:
                raise SystemExit(f"unknown variant or group {v!r}")
            variants[v] = found[0]
    results, scores = {}, {}
    for vname, (kind, preset, over) in variants.items():
        results[vname] = run_cells(streams, cells, seeds, {vname: variant_factory(kind, preset, over)})
        results[vname] = {n: {pr: d[vname] for pr, d in ps.items()} for n, ps in results[vname].items()}
        scores[vname] = score(results[vname], baselines)
        print(format_scores({vname: scores[vname]}).splitlines()[-1], file=sys.stderr, flush=True)
        if a.json:
            atomic_write_bytes(
                a.json,
                json.dumps(
                    _clean(
                        {
                            "variants": {
                                k: {"kind": variants[k][0], "preset": variants[k][1], "overrides": variants[k][2]}
                                for k in results
                            },
                            "results": results,
                            "scores": scores,
                            "baselines": baselines,
                            "seeds": seeds,
                            "stream_options": str(opts),
                        }
                    ),
                    indent=1,
                ).encode(),
            )
    print(format_scores(scores))
    print(format_cells(scores, baselines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
