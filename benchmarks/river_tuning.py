"""How the river adapters' one default configuration was chosen: on river's synthetic generators, not on the
four real sets of the progressive table (Phishing, Bananas, ImageSegments, Shuttle), which it never reads.

Each candidate (hidden width × memory window N × initial σ) runs the same protocol as the table
(``StandardScaler() | MESUClassifier(learner="fixed", ...)``, predict then learn, one pass) over seven
synthetic streams of 3,000 samples; candidates are ranked by mean accuracy. Prints the ranking, writes JSON.

    python benchmarks/river_tuning.py --stage stage1 --json benchmarks/results/river_tuning_stage1.json
    python benchmarks/river_tuning.py --stage stage2 --json benchmarks/results/river_tuning_stage2.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys

from river import preprocessing
from river.datasets import synth

from edge_mesu.compat.river import MESUClassifier
from edge_mesu_app.bench.river import progressive

N_SAMPLES = 3000
STREAMS = {
    "Agrawal-2": lambda: synth.Agrawal(classification_function=2, seed=1),
    "SEA-noise": lambda: synth.SEA(variant=1, noise=0.1, seed=1),
    "Sine": lambda: synth.Sine(classification_function=1, seed=1),
    "RandomRBF-5": lambda: synth.RandomRBF(seed_model=1, seed_sample=1, n_classes=5, n_features=10),
    "Waveform": lambda: synth.Waveform(seed=1),
    "LED-noise": lambda: synth.LED(seed=1, noise_percentage=0.1),
    "Hyperplane": lambda: synth.Hyperplane(seed=1, n_features=10),
}
GRIDS = {  # stage 2 extends stage 1 past its edge (the best σ_init of stage 1 was its largest)
    "stage1": {"hidden": [(16,), (32,), (64,)], "N": [1e3, 1e4, 1e5], "sigma_init": [0.1, 0.2, 0.4]},
    "stage2": {"hidden": [(32,), (64,)], "N": [1e4, 1e5], "sigma_init": [0.6, 0.8]},
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learner", default="fixed")
    parser.add_argument("--stage", default="stage1", choices=sorted(GRIDS))
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    data = {name: list(make().take(N_SAMPLES)) for name, make in STREAMS.items()}
    grid = GRIDS[args.stage]
    rows = []
    for hidden, N, sigma_init in itertools.product(*grid.values()):
        acc = {}
        for name, stream in data.items():
            model = preprocessing.StandardScaler() | MESUClassifier(
                learner=args.learner, hidden=hidden, N=N, sigma_init=sigma_init, max_classes=10
            )
            acc[name] = progressive(model, stream)["accuracy"]
        mean = sum(acc.values()) / len(acc)
        rows.append({"hidden": list(hidden), "N": N, "sigma_init": sigma_init, "mean_accuracy": mean, "accuracy": acc})
        print(f"hidden={hidden} N={N:g} sigma_init={sigma_init}: mean {mean:.4f}", file=sys.stderr, flush=True)
    rows.sort(key=lambda r: -r["mean_accuracy"])
    for r in rows:
        print(
            f"{str(tuple(r['hidden'])):7s} N={r['N']:<8g} sigma_init={r['sigma_init']:<4} {r['mean_accuracy']:.4f}  "
            + " ".join(f"{k}={v:.3f}" for k, v in r["accuracy"].items())
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "learner": args.learner,
                    "stage": args.stage,
                    "n_samples": N_SAMPLES,
                    "streams": list(STREAMS),
                    "grid": {k: [list(v) if isinstance(v, tuple) else v for v in vs] for k, vs in grid.items()},
                    "ranking": rows,
                },
                fh,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
