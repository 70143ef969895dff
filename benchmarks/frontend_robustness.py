"""Front end + learner on the bundled raw int16 sensor stream and its adversarial versions, float and fixed.

For each front-end setting, stream kind (clean, spikes, saturation, dead channel, gain steps, all) and
stream seed, both learners (FixedMESULearner, MESULearner; defaults otherwise, 32 hidden units) learn the
raw samples prequentially through a SensorPipeline. Measured: prequential accuracy (all windows and the
second half), divergence (a float step producing NaN/Inf, which the learner refuses), non-finite
probabilities, and the fraction of σ at either end of its range (fixed: codes at 0 or 255), sampled every
100 windows (the maximum over time is reported). The row "no front end" feeds the old float windows
(counts / 8192, i.e. g) straight to the learner, for comparison. Prints a table and writes JSON.

    python benchmarks/frontend_robustness.py --jobs 2 --json benchmarks/results/frontend_robustness.json
    # how the defaults were picked:
    python benchmarks/frontend_robustness.py --sweep 1 --windows 2000 --kinds clean,all --jobs 2
    python benchmarks/frontend_robustness.py --sweep 2 --windows 2000 --kinds clean,gain_steps,all --jobs 2
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from edge_mesu import FixedMESULearner, MESULearner, SensorPipeline
from edge_mesu.data import make_sensor_stream
from edge_mesu.data.adversarial import ADVERSARIAL_KINDS, make_adversarial_stream
from edge_mesu.frontend import FrontEndSpec
from edge_mesu.pipeline import sigma_pinned_fraction

DEFAULTS = {"window": 32}  # everything else: FrontEndSpec's defaults
#: name -> front-end settings (None: no front end, the float windows in g) and learner overrides
SETTINGS = {
    "default (raw window)": DEFAULTS,
    "default + features": {**DEFAULTS, "features": True},
    "no front end": None,
    "features, σ0 = paper": ({**DEFAULTS, "features": True}, {"sigma_init": "paper"}),
}
SWEEP = {f"tau_log2={t}": {**DEFAULTS, "tau_log2": t} for t in (10, 12, 14)}
SWEEP.update({f"clip={c:g}": {**DEFAULTS, "clip": c} for c in (2.0, 3.0)})
SWEEP.update({f"features, tau_log2={t}": {**DEFAULTS, "features": True, "tau_log2": t} for t in (12, 14)})
SWEEP.update({f"features, clip={c:g}": {**DEFAULTS, "features": True, "clip": c} for c in (2.0, 3.0)})
#: second round, at the chosen time constant
SWEEP2 = {
    f"{'features, ' if f else ''}tau_log2=14, clip={c:g}": {**DEFAULTS, "features": f, "tau_log2": 14, "clip": c}
    for f in (False, True)
    for c in (2.0, 3.0, 4.0)
}


def run_one(job: tuple) -> dict:
    setting, spec_kw, kind, fixed, seed, n_windows = job
    spec_kw, learner_kw = spec_kw if isinstance(spec_kw, tuple) else (spec_kw, {})
    s = make_adversarial_stream(make_sensor_stream(n_windows=n_windows, seed=seed), kind, seed=seed + 100)
    t0 = time.perf_counter()
    if spec_kw is None:
        correct, diverged, pinned, learner = _run_bare(s, fixed)
    else:
        p = SensorPipeline.create(
            FrontEndSpec(channels=3, **spec_kw), s.class_names, fixed=fixed, seed=seed, **learner_kw
        )
        correct, diverged, pinned = [], None, []
        step = 32 * 100
        for start in range(0, len(s.samples), step):
            try:
                out = p.process(s.samples[start : start + step], s.labels[start : start + step], uncertainty="none")
            except FloatingPointError:
                diverged = len(correct)
                break
            correct.extend(out.correct.tolist())
            pinned.append(sigma_pinned_fraction(p.learner))
        learner = p.learner
    c = np.asarray(correct, dtype=float)
    probe = np.zeros((1, learner.n_features))
    return {
        "setting": setting,
        "kind": kind,
        "learner": "fixed" if fixed else "float",
        "seed": seed,
        "accuracy": float(c.mean()) if c.size else None,
        "accuracy_2nd_half": float(c[c.size // 2 :].mean()) if c.size else None,
        "windows": int(c.size),
        "diverged_at": diverged,
        "finite": bool(np.all(np.isfinite(learner.predict_proba(probe)))),
        "pinned_max": max(pinned),
        "pinned_final": pinned[-1],
        "wall_s": time.perf_counter() - t0,
    }


def _run_bare(s, fixed: bool) -> tuple:
    X, y = s.windows()
    learner = (FixedMESULearner if fixed else MESULearner)(layers=(X.shape[1], 32, s.n_classes), seed=s.seed)
    correct, pinned, diverged = [], [], None
    for i in range(len(X)):
        correct.append(learner.predict_one(X[i]) == y[i])
        try:
            learner.learn_one(X[i], y[i])
        except FloatingPointError:
            diverged = i
            break
        if (i + 1) % 100 == 0:
            pinned.append(sigma_pinned_fraction(learner))
    return correct, diverged, pinned or [sigma_pinned_fraction(learner)], learner


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    keys = sorted(
        {(r["setting"], r["kind"], r["learner"]) for r in rows},
        key=lambda k: (
            list(dict.fromkeys(r["setting"] for r in rows)).index(k[0]),
            ADVERSARIAL_KINDS.index(k[1]),
            k[2],
        ),
    )
    for setting, kind, learner in keys:
        rs = [r for r in rows if (r["setting"], r["kind"], r["learner"]) == (setting, kind, learner)]
        acc = [r["accuracy"] for r in rs if r["diverged_at"] is None]
        out.append(
            {
                "setting": setting,
                "kind": kind,
                "learner": learner,
                "runs": len(rs),
                "accuracy_mean": float(np.mean(acc)) if acc else None,
                "accuracy_std": float(np.std(acc)) if acc else None,
                "accuracy_2nd_half_mean": float(
                    np.mean([r["accuracy_2nd_half"] for r in rs if r["diverged_at"] is None])
                )
                if acc
                else None,
                "diverged": sum(r["diverged_at"] is not None for r in rs),
                "nonfinite": sum(not r["finite"] for r in rs),
                "pinned_max": max(r["pinned_max"] for r in rs),
            }
        )
    return out


def format_table(summary: list[dict]) -> str:
    lines = [
        f"{'setting':28s} {'stream':13s} {'learner':7s} {'accuracy':>15s} {'2nd half':>8s} "
        f"{'diverged':>8s} {'σ pinned (max)':>14s}"
    ]
    for r in summary:
        acc = "—" if r["accuracy_mean"] is None else f"{100 * r['accuracy_mean']:.1f} ± {100 * r['accuracy_std']:.1f}%"
        half = "—" if r["accuracy_2nd_half_mean"] is None else f"{100 * r['accuracy_2nd_half_mean']:.1f}%"
        lines.append(
            f"{r['setting']:28s} {r['kind']:13s} {r['learner']:7s} {acc:>15s} {half:>8s} "
            f"{r['diverged']:>4d}/{r['runs']:<3d} {100 * r['pinned_max']:13.2f}%"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=3000, help="windows of 32 samples per stream")
    ap.add_argument("--seeds", default="0,1,2", help="stream seeds (comma list)")
    ap.add_argument("--kinds", default=",".join(ADVERSARIAL_KINDS))
    ap.add_argument(
        "--sweep",
        type=int,
        choices=(0, 1, 2),
        default=0,
        help="1, 2: the two rounds of settings the defaults were chosen from",
    )
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    settings = {0: SETTINGS, 1: SWEEP, 2: SWEEP2}[args.sweep]
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [
        (name, kw, kind, fixed, seed, args.windows)
        for name, kw in settings.items()
        for kind in kinds
        for fixed in (True, False)
        for seed in seeds
    ]
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(run_one, jobs))
    summary = summarise(rows)
    print(
        f"front end robustness: {args.windows} windows x 32 samples x 3 axes, seeds {seeds}; "
        f"defaults {FrontEndSpec(channels=3, **DEFAULTS).to_dict()}"
    )
    print(format_table(summary))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "benchmark": "frontend_robustness",
                    "windows": args.windows,
                    "seeds": seeds,
                    "settings": {
                        k: v if not isinstance(v, tuple) else {"frontend": v[0], "learner": v[1]}
                        for k, v in settings.items()
                    },
                    "summary": summary,
                    "rows": rows,
                },
                fh,
                indent=1,
            )


if __name__ == "__main__":
    main()
