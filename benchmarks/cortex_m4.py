"""The generated C on an emulated Cortex-M4 and Cortex-M0+: code size, instructions per predict / learn_one.

Measured: code size (``arm-none-eabi-size``), instructions executed per call (unicorn, Cortex-M4 and
Cortex-M0+ builds, Thumb), and the bit-exactness of the emulated state against the Python learner after
every update. Modelled (the core of ``--device``, a Cortex-M4 by default): cycles = instructions × CPI
(``firmware_sim.calibration.CPI``) and firmware_sim's op-by-op estimate.

Example::

    python benchmarks/cortex_m4.py --steps 2 --json benchmarks/results/cortex_m4.json
    python benchmarks/cortex_m4.py --steps 2 --sampling both --json benchmarks/results/cortex_m4_lrt.json

``--sampling lrt`` (or ``both``) emulates the local-reparameterisation build (``sampling="lrt"``) of each network
on both cores instead of (beside) weight sampling's and prints instructions per parameter side by side; the
latency model is compared with the emulator on ``--device``'s core for each learn path emulated (weight
sampling's rows first). The Cortex-M0+ profile's calibration::

    python benchmarks/cortex_m4.py --device rp2040 --sampling both --no-m0plus

Needs ``arm-none-eabi-gcc`` (Debian: gcc-arm-none-eabi) and ``pip install unicorn``; exits 0 with a
message naming the missing tool otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys

from edge_mesu.statefile import atomic_write_bytes
from firmware_sim.calibration import DEFAULT_NETWORKS, calibrate, cpi_of, format_calibration
from firmware_sim.device import load_device
from firmware_sim.emulate import emulate, emulator_available


def _size_table(results: list, device: str) -> str:
    cpi = cpi_of(load_device(device))
    lines = [
        f"{'core':>13s} {'sampling':>8s} {'network':>10s} {'lib text':>9s} {'lib data':>9s} {'predict instr':>14s} "
        f"{'learn instr':>12s} {'learn/param':>11s} {'predict/param':>13s} {'bit-exact':>9s}"
    ]
    for r in results:
        n_params = r.notes["n_params"]
        lines.append(
            f"{r.cpu:>13s} {r.notes.get('sampling', 'weights'):>8s} {'-'.join(map(str, r.layers)):>10s} "
            f"{r.library_size['text']:9,d} "
            f"{r.library_size['data']:9,d} {r.predict_mean:14,.0f} "
            f"{r.learn_mean:12,.0f} {r.learn_mean / n_params:11.1f} {r.predict_mean / n_params:13.2f} "
            f"{str(r.bit_exact):>9s}"
        )
    lines.append(
        f"(library = the generated net.o; data = the exported mu and sigma codes; CPI {cpi} for "
        f"cycles; instructions include IT-skipped ones, counting={results[0].counting})"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2, help="predict + learn_one calls per network (default 2)")
    p.add_argument(
        "--device",
        default="stm32l4",
        help="device profile of the model, whose core the calibration emulates (default stm32l4, Cortex-M4)",
    )
    p.add_argument("--json", default=None, metavar="OUT.json")
    p.add_argument("--no-m0plus", action="store_true", help="skip the Cortex-M0+ build")
    p.add_argument(
        "--sampling",
        choices=("weights", "lrt", "both"),
        default="weights",
        help="the learn path emulated (each with the latency model's calibration): weight sampling (default), "
        "local reparameterisation, or both side by side",
    )
    args = p.parse_args(argv)
    reason = emulator_available()
    if reason is not None:
        print(f"skipped: {reason}")
        return 0
    from edge_mesu.fixed import FixedMESULearner

    samplings = ("weights", "lrt") if args.sampling == "both" else (args.sampling,)
    cores = ("cortex-m4",) + (() if args.no_m0plus else ("cortex-m0plus",))
    rows: list = []
    results: list = []
    for sampling in samplings:  # the M4 runs, compared with the latency model of each learn path
        cal_rows, cal_results = calibrate(DEFAULT_NETWORKS, device=args.device, steps=args.steps, sampling=sampling)
        for res in cal_results:
            res.notes["sampling"] = sampling
        rows += cal_rows
        results += cal_results
    cores = cores[1:]
    for cpu in cores:
        for sampling in samplings:
            for layers, bias in DEFAULT_NETWORKS:
                learner = FixedMESULearner(tuple(layers), bias=bool(bias), seed=0, sampling=sampling)
                res = emulate(learner, steps=args.steps, seed=0, cpu=cpu)
                res.notes["sampling"] = sampling
                results.append(res)
    print(_size_table(results, args.device))
    if rows:
        print()
        print(format_calibration(rows, args.device))
    payload = {
        "benchmark": "cortex_m4",
        "sampling": args.sampling,
        "device": args.device,
        "cpi": cpi_of(load_device(args.device)),
        "emulation": [r.to_dict() for r in results],
        "calibration": [r.to_dict() for r in rows],
        "measured": ["library_size", "image_size", "predict_instructions", "learn_instructions", "bit_exact"],
        "modelled": ["emulated_cycles (instructions x CPI)", "model_cycles (firmware_sim)"],
    }
    if args.json:
        atomic_write_bytes(args.json, (json.dumps(payload, indent=1) + "\n").encode())
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
