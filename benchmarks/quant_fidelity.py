"""Quantisation fidelity on MNIST task 1: float MESU vs its fixed-point copy vs int8 ONNX vs int8 TFLite.

Trains a float MESULearner (784-50-10, the benchmark's settings) on one pass of MNIST task 1, quantises it
into a FixedMESULearner (``from_float``), exports int8 ONNX and TFLite (calibrated on 500 training images)
and compares all of them on the 10,000 test images. Prints the table, writes JSON.

    python benchmarks/quant_fidelity.py --data ../shared/data/mnist --json benchmarks/results/quant_fidelity.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

import export
from edge_mesu import FixedMESULearner
from edge_mesu.data import load_mnist, standardize_mnist
from edge_mesu_app.bench.pmnist import make_learner


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--samples", type=int, default=60000)
    ap.add_argument("--out", default=None, help="directory for the state and artefacts (default: a temp dir)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    Xtr, ytr = load_mnist(args.data, split="train")
    Xte, yte = load_mnist(args.data, split="test")
    Xtr, Xte = standardize_mnist(Xtr), standardize_mnist(Xte)
    ytr, yte = ytr.astype(np.int64), yte.astype(np.int64)
    learner = make_learner("mesu", 0)
    t0 = time.perf_counter()
    learner.learn_many(Xtr[: args.samples], ytr[: args.samples])
    train_s = time.perf_counter() - t0
    fixed = FixedMESULearner.from_float(learner)
    out = Path(args.out or tempfile.mkdtemp(prefix="edge-mesu-fidelity-"))
    out.mkdir(parents=True, exist_ok=True)
    learner.save(out / "mesu_task1.emsu")
    calib = Xtr[:500]
    reps = {
        "onnx": export.to_onnx(learner, out / "model.onnx"),
        "onnx_int8": export.to_onnx_int8(learner, out / "model.int8.onnx", calibration=calib),
        "tflite": export.to_tflite_int8(learner, out / "model.tflite", calibration=calib),
    }
    report = export.fidelity_report(
        learner, Xte, yte, onnx=reps["onnx"], onnx_int8=reps["onnx_int8"], tflite=reps["tflite"], fixed_learner=fixed
    )
    print(report.format_table())
    for name, rep in reps.items():
        print(f"{name:10s} {rep.size_bytes:8,d} B  export {1000 * rep.export_seconds:.0f} ms")
    print(f"float training on {args.samples} samples: {train_s:.1f} s; state files in {out}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "benchmark": "quant_fidelity",
                    "samples": args.samples,
                    "report": report.to_dict(),
                    "artefacts": {k: r.to_dict() for k, r in reps.items()},
                },
                indent=1,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
