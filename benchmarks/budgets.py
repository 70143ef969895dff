"""Budget table of reference learners on every shipped device, inference and learning mode.

784-50-10 (the pMNIST network, no biases) and 12-32-5 (the demo's front-end feature network) as untrained
fixed-point learners, replayed at ``--rate`` Hz through ``firmware_sim.simulate``. Prints a Markdown table and
writes JSON. ``max rate`` is the highest sample rate at which the mode fits the device: every sample
processed (infer; learn: predict then learn_one, each sample labelled) within its period, i.e.
10^6 / µs per step, provided flash and RAM fit (0 when they do not).

    python benchmarks/budgets.py --rate 50 --json benchmarks/results/budgets.json
    python benchmarks/budgets.py --sampling weights --json benchmarks/results/budgets_weights.json   # weight sampling
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import firmware_sim
from edge_mesu import FixedMESULearner

NETWORKS = {
    "784-50-10": dict(layers=(784, 50, 10), bias=False),
    "12-32-5": dict(layers=(12, 32, 5), sigma_init="paper"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--json", default=None)
    ap.add_argument(
        "--sampling", choices=("weights", "lrt"), default=None, help="the learn path (default: the learners' default)"
    )
    args = ap.parse_args()
    extra = {} if args.sampling is None else {"sampling": args.sampling}
    rng = np.random.default_rng(0)
    rows = []
    print(
        "| network | device | mode | flash B | RAM B | cycles/step | time/step | utilisation | misses | budgets "
        "| max rate |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for net, kw in NETWORKS.items():
        for dev in firmware_sim.list_devices():
            for mode in ("infer", "learn"):
                learner = FixedMESULearner(seed=0, **kw, **extra)
                X = rng.standard_normal((args.samples, learner.n_features))
                y = rng.integers(0, learner.n_classes, args.samples)
                d = firmware_sim.simulate(
                    learner, firmware_sim.load_device(dev), (X, y), rate_hz=args.rate, mode=mode
                ).to_dict()
                memory_ok = d["flash_bytes"] <= d["flash_budget"] and d["ram_bytes"] <= d["ram_budget"]
                d["max_rate_hz"] = 1e6 / d["us_per_step"] if memory_ok else 0.0
                rows.append({"network": net, **d})
                print(
                    f"| {net} | {dev} | {mode} | {d['flash_bytes']:,} | {d['ram_bytes']:,} | "
                    f"{d['cycles_per_step']:,.0f} | {d['us_per_step'] / 1000:,.2f} ms | {d['utilisation']:.2f} | "
                    f"{d['deadline_misses']} | {'ok' if d['ok'] else 'violated'} | {d['max_rate_hz']:,.1f} Hz |",
                    flush=True,
                )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {"benchmark": "budgets", "rate_hz": args.rate, "sampling": learner.sampling, "rows": rows},
                fh,
                indent=1,
                default=str,
            )


if __name__ == "__main__":
    main()
