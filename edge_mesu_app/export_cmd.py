"""CLI hooks: ``export`` and ``quant-report`` subcommands for the main ``edge-mesu`` command.

The main CLI calls :func:`add_commands` with its ``subparsers``; each subcommand sets ``func`` to a
handler ``handler(args) -> int`` (exit code: 0 success, 1 a check failed, 2 bad input or a missing
runtime). Handlers print; the library does not.

``export --tflite PATH --check tflm`` also runs the written model in TensorFlow Lite Micro on the
calibration inputs plus :data:`CHECK_RANDOM_ROWS` random int8 rows: bit-exact with the reference's TFLM
variant or exit 1; differences from each LiteRT resolver printed; TFLM's arena measured and stored in the
file's metadata (``edge_mesu.tflm_arena``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from edge_mesu.loading import load_learner

from .export_c_cmd import add_c_arguments, export_c

__all__ = ["add_commands", "export_handler", "quant_report_handler"]

DEFAULT_CALIBRATION = 500
CHECK_RANDOM_ROWS = 1000


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``export`` and ``quant-report`` on ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser(
        "export",
        help="write ONNX / int8 ONNX / int8 TFLite artefacts of a state file",
        description="Export the mean network of a learner state file.",
    )
    p.add_argument("--state", required=True, help="learner state file")
    p.add_argument("--onnx", help="float ONNX output path")
    p.add_argument("--onnx-int8", dest="onnx_int8", help="int8 QDQ ONNX output path")
    p.add_argument("--tflite", help="int8 TFLite output path")
    add_c_arguments(p)
    p.add_argument(
        "--check",
        choices=("tflm",),
        help="tflm: run the .tflite in TensorFlow Lite Micro (bit-exact check, differences from "
        "LiteRT), measure its arena and store it in the file (needs tflite-micro)",
    )
    _common(p)
    p.set_defaults(func=export_handler)
    q = subparsers.add_parser(
        "quant-report",
        help="fidelity of float / ONNX / int8 ONNX / int8 TFLite",
        description="Compare the learner's float mean network with its exports.",
    )
    q.add_argument("--state", required=True, help="learner state file")
    q.add_argument("--json", help="also write the report as JSON to this path")
    q.add_argument(
        "--eval-samples", dest="eval_samples", type=int, default=2000, help="evaluation inputs (default 2000)"
    )
    _common(q)
    q.set_defaults(func=quant_report_handler)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        help="MNIST directory: calibrate on task 1 (unpermuted, standardised) training "
        "images (quant-report: evaluate on its test images); without it, "
        "generated N(0, 1) inputs are used",
    )
    p.add_argument(
        "--calibration-samples",
        dest="calibration_samples",
        type=int,
        default=DEFAULT_CALIBRATION,
        help=f"calibration inputs (default {DEFAULT_CALIBRATION})",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of generated inputs (default 0)")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _mnist(directory: str, split: str, n: int, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` images of an MNIST split, task 1 (identity permutation), standardised."""
    from edge_mesu.data import load_mnist, standardize_mnist

    if n_features != 784:
        raise ValueError(f"--data gives 784-pixel MNIST inputs but the learner expects {n_features}")
    X, y = load_mnist(directory, split=split)
    return standardize_mnist(X[:n]).astype(np.float64), y[:n].astype(np.int64)


def _inputs(args: argparse.Namespace, n_features: int, split: str, n: int) -> tuple[np.ndarray, np.ndarray | None, str]:
    """``(X, y or None, description)`` from MNIST or generated N(0, 1) inputs."""
    if n < 1:
        raise ValueError(f"sample counts must be >= 1, got {n}")
    if args.data:
        X, y = _mnist(args.data, split, n, n_features)
        return X, y, f"MNIST task 1 {split} split from {args.data} ({len(X)} images)"
    rng = np.random.default_rng([args.seed, 0 if split == "train" else 1])
    X = rng.standard_normal((n, n_features))
    return X, None, f"generated N(0, 1) inputs ({n} x {n_features}, seed {args.seed}); no --data given"


def export_handler(args: argparse.Namespace) -> int:
    """Write the requested artefacts and print each one's size, operators and tensor formats."""
    from export import to_onnx, to_onnx_int8, to_tflite_int8

    if args.check and not args.tflite:
        return _fail("--check tflm needs --tflite")
    if not (args.onnx or args.onnx_int8 or args.tflite or args.c):
        return _fail("nothing to export: give --onnx, --onnx-int8, --tflite and/or --c")
    try:
        learner = load_learner(args.state)
        reports = []
        if args.onnx:
            reports.append(to_onnx(learner, args.onnx))
        if args.onnx_int8 or args.tflite:
            X, _, source = _inputs(args, learner.layers[0], "train", args.calibration_samples)
            print(f"calibration: {source}")
            if args.onnx_int8:
                reports.append(to_onnx_int8(learner, args.onnx_int8, calibration=X))
            if args.tflite:
                reports.append(to_tflite_int8(learner, args.tflite, calibration=X))
        if args.c:
            reports.append(export_c(args, learner))
    except (ValueError, OSError) as exc:
        return _fail(str(exc))
    for rep in reports:
        print(rep.format_text())
    return _check_tflm(args, X) if args.check == "tflm" else 0


def _check_tflm(args: argparse.Namespace, X: np.ndarray) -> int:
    """``--check tflm``: compare runtimes, measure and store the arena; print what was found."""
    from export.runtime import RuntimeUnavailableError
    from export.tflite_export import model_to_plan
    from export.tflm import ARENA_METADATA, check_tflm
    from export.validate import validate_tflite

    try:
        plan = model_to_plan(validate_tflite(args.tflite))
        rng = np.random.default_rng([args.seed, 2])
        x_q = np.concatenate(
            [plan.quantize_input(X), rng.integers(-128, 128, (CHECK_RANDOM_ROWS, plan.sizes[0])).astype(np.int8)]
        )
        result = check_tflm(args.tflite, x_q)
    except (RuntimeUnavailableError, RuntimeError, ValueError, OSError) as exc:
        return _fail(f"--check tflm: {exc}")
    print(f"TFLM check on {len(x_q)} inputs ({len(X)} calibration + {CHECK_RANDOM_ROWS} random int8):")
    for name, summary in result.comparison.details().items():
        print(f"  TFLM vs {name}: {summary}")
    print(f"  {result.arena.format_text()}")
    print(f"  stored in {args.tflite} metadata {ARENA_METADATA!r}")
    if not result.comparison.reference.exact:
        print("error: TFLM is not bit-exact with the reference's TFLM variant", file=sys.stderr)
        return 1
    return 0


def quant_report_handler(args: argparse.Namespace) -> int:
    """Export every artefact to a temporary directory and print the fidelity table (and JSON)."""
    from export import fidelity_report, to_onnx, to_onnx_int8, to_tflite_int8

    try:
        learner = load_learner(args.state)
        n_in = learner.layers[0]
        Xc, _, cal_source = _inputs(args, n_in, "train", args.calibration_samples)
        Xe, ye, eval_source = _inputs(args, n_in, "test", args.eval_samples)
        if args.json and not Path(args.json).resolve().parent.is_dir():
            raise ValueError(f"--json directory {Path(args.json).parent} does not exist")
        with tempfile.TemporaryDirectory(prefix="edge_mesu_quant_") as tmp:
            paths = {k: os.path.join(tmp, f"model{k}") for k in (".onnx", ".int8.onnx", ".tflite")}
            to_onnx(learner, paths[".onnx"])
            to_onnx_int8(learner, paths[".int8.onnx"], calibration=Xc)
            to_tflite_int8(learner, paths[".tflite"], calibration=Xc, validate=False)
            labels = ye if ye is not None else learner.predict_proba(Xe, samples=0).argmax(axis=1)
            report = fidelity_report(
                learner, Xe, labels, onnx=paths[".onnx"], onnx_int8=paths[".int8.onnx"], tflite=paths[".tflite"]
            )
    except (ValueError, OSError) as exc:
        return _fail(str(exc))
    print(f"calibration: {cal_source}")
    print(
        f"evaluation: {eval_source}"
        + ("" if ye is not None else "; labels = the learner's own mean prediction, so accuracy equals agreement")
    )
    print(report.format_table())
    if args.json:
        from edge_mesu.statefile import atomic_write_bytes

        payload = {"calibration": cal_source, "evaluation": eval_source, **report.to_dict()}
        atomic_write_bytes(args.json, json.dumps(payload, indent=2, allow_nan=False).encode("utf-8"))
        print(f"wrote {args.json}")
    return 0
