"""The demo's device library on an emulated Cortex-M4 over a long generated IMU stream (issue 19's target:
bit-exact over >= 5,000 windows), with the instruction split, memory and energy per profile.

The pipeline is the demo's (front end: window 32, features; learner 12-32-5 fixed point) after learning the
demo's 3,000 windows; the device then continues over ``--windows`` new windows of the generated stream,
labelled in alternate stretches of 20 windows, saving every 25 learned windows, and scores every window's
mutual information over the pipeline's 8 weight samples (compared bit-exact with Python, as the rest).

    python benchmarks/device_loop.py --windows 5000 --json benchmarks/results/device_loop.json
"""

from __future__ import annotations

import argparse
import json
import time

from edge_mesu.data import make_sensor_stream
from edge_mesu_app.demo import _make_pipeline, _prequential, firmware_stream
from firmware_sim.device import load_device
from firmware_sim.firmware_run import run_firmware


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--windows", type=int, default=5000)
    ap.add_argument("--devices", default="stm32l4,nrf52840")
    ap.add_argument("--save-every", type=int, default=25)
    ap.add_argument("--uncertainty-windows", default="all", choices=("all", "unlabelled"))
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    stream = make_sensor_stream(n_windows=3000, seed=0)
    pipe = _make_pipeline("fixed", stream, 0)
    _prequential(pipe, stream)  # the demo's learning
    samples, codes = firmware_stream(args.windows, seed=1)
    out = {}
    for name in args.devices.split(","):
        t0 = time.perf_counter()
        run = run_firmware(
            pipe, samples, codes, load_device(name), save_every=args.save_every,
            uncertainty_windows=args.uncertainty_windows,
        )  # fmt: skip
        d = run.to_dict()
        d["seconds"] = time.perf_counter() - t0
        out[name] = d
        ipw, e = d["instructions_per_window"], d["energy"]
        print(
            f"{name}: {run.windows} windows, bit-exact {run.bit_exact}; instructions/window {ipw['total']:,.0f} "
            f"(front end {ipw['front_end']:,.0f}, predict {ipw['predict']:,.0f}, uncertainty "
            f"{ipw['uncertainty'] or 0:,.0f} (k = {run.uncertainty_samples}) x {ipw['scored_fraction']:.0%}, "
            f"learn {ipw['learn']:,.0f} x "
            f"{ipw['learned_fraction']:.0%}, save {ipw['save'] or 0:,.0f} x {ipw['saved_fraction']:.1%}, rest "
            f"{ipw['loop_and_rest']:,.0f}); {e.get('energy_uj', float('nan')):.1f} uJ/window, "
            f"{e.get('average_ua', float('nan')):.1f} uA, {e.get('battery_years', float('nan')):.2f} years CR2032; "
            f"flash {d['memory']['measured']['flash']:,} B measured / {d['memory']['modelled']['flash']:,} modelled, "
            f"RAM {d['memory']['measured']['ram']:,} / {d['memory']['modelled']['ram']:,}; {d['seconds']:.0f} s"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"windows": args.windows, "save_every": args.save_every, "devices": out}, fh, indent=1)


if __name__ == "__main__":
    main()
