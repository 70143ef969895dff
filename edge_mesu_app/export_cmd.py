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
from typing import Any

import numpy as np

from edge_mesu.errors import EdgeMesuError
from edge_mesu.loading import load_learner

from .export_c_cmd import add_c_arguments, export_c
from .export_firmware_cmd import add_firmware_arguments, check_firmware_options, export_firmware
from .outputs import Staging, check_dir, check_distinct, check_file, user_error

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
    add_firmware_arguments(p)
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


_FILE_TARGETS = (("onnx", "--onnx"), ("onnx_int8", "--onnx-int8"), ("tflite", "--tflite"))


def _check_extras(args: argparse.Namespace) -> None:
    """Import what the requested artefacts need now: a missing extra is named before any work."""
    import importlib

    from edge_mesu.errors import MissingExtraError

    if args.onnx or args.onnx_int8:
        importlib.import_module("export.onnx_export")
    if args.onnx_int8:
        try:
            importlib.import_module("onnxruntime")
        except ImportError:
            raise MissingExtraError("--onnx-int8", "onnx", "onnxruntime") from None
    if args.tflite:
        importlib.import_module("export.tflite_export")
    if args.check == "tflm":
        from export.tflm_run import tflm_runtime

        tflm_runtime()


def _plan(args: argparse.Namespace) -> tuple[dict[str, Path], Path | None, Path | None]:
    """The output paths by option (files), the C directory and the firmware directory, each checked;
    nothing is written."""
    if args.check and not args.tflite:
        raise ValueError("--check tflm needs --tflite")
    if not (args.onnx or args.onnx_int8 or args.tflite or args.c or args.firmware):
        raise ValueError("nothing to export: give --onnx, --onnx-int8, --tflite, --c and/or --firmware")
    files = {opt: check_file(getattr(args, key), opt) for key, opt in _FILE_TARGETS if getattr(args, key)}
    check_distinct(files)
    c_dir = check_dir(args.c, "--c") if args.c else None
    fw_dir = check_dir(args.firmware, "--firmware") if args.firmware else None
    if fw_dir is not None:
        check_firmware_options(args)
        if c_dir is not None and c_dir.resolve() == fw_dir.resolve():
            raise ValueError(f"--c and --firmware name the same directory {fw_dir}")
    if args.calibration_samples < 1:
        raise ValueError(f"--calibration-samples must be >= 1, got {args.calibration_samples}")
    _check_extras(args)
    return files, c_dir, fw_dir


def _learner_of(args: argparse.Namespace) -> tuple[Any, Any]:
    """(the learner to export, the pipeline around it or None); a C export is checked for fixed point now."""
    from edge_mesu import SensorPipeline
    from edge_mesu.fixed.cgen import fixed_network

    loaded = load_learner(args.state)
    pipe = loaded if isinstance(loaded, SensorPipeline) else None
    learner = pipe.learner if pipe is not None else loaded
    if args.firmware and pipe is None:
        raise ValueError(
            f"--firmware needs a sensor-pipeline state (the front end is part of the library); {args.state} holds "
            f"a bare {type(loaded).__name__}: export its learner with --c"
        )
    if args.c or args.firmware:
        try:
            fixed_network(learner)
        except ValueError as exc:
            hint = " ('edge-mesu learn --fixed' makes a fixed-point state)" if learner.input_format is None else ""
            raise ValueError(f"{'--c' if args.c else '--firmware'}: {exc}{hint}") from None
    return learner, pipe


def _frontend_note(state: str, pipe: Any) -> str:
    spec, learner = pipe.spec, pipe.learner
    shape = "mean/RMS/min/max per channel" if spec.features else f"{spec.window // spec.decimate} samples per channel"
    return (
        f"note: {state} is a sensor pipeline: the "
        f"artefacts hold its learner {'-'.join(map(str, learner.layers))}, whose {learner.layers[0]} inputs are "
        f"the front end's int8 outputs ({spec.out_fmt.qstring}; window {spec.window}, hop {spec.hop_samples}, "
        f"{shape}). The front end is not part of these artefacts: the device must compute those inputs "
        f"(docs/frontend.md), or export the whole device loop with --firmware DIR."
    )


def export_handler(args: argparse.Namespace) -> int:
    """Write the requested artefacts (all of them or none) and print each one's size, operators and formats."""
    try:
        files, c_dir, fw_dir = _plan(args)
        learner, pipe = _learner_of(args)
        X = None
        if args.onnx_int8 or args.tflite:
            X, _, source = _inputs(args, learner.layers[0], "train", args.calibration_samples)
            print(f"calibration: {source}")
    except (ValueError, OSError, EdgeMesuError) as exc:
        return _fail(user_error(exc))
    with Staging() as stage:
        try:
            reports, status = _write_all(args, learner, pipe, files, (c_dir, fw_dir), X, stage)
            stage.commit()
        except (ValueError, OSError, RuntimeError, EdgeMesuError) as exc:
            return _fail(stage.user_text(user_error(exc)) + "; nothing was written")
    for rep in reports:
        print(rep.format_text())
    if pipe is not None and (args.onnx or args.onnx_int8 or args.tflite or args.c):
        print(_frontend_note(args.state, pipe))
    return status


def _write_all(
    args: argparse.Namespace,
    learner: Any,
    pipe: Any,
    files: dict[str, Path],
    dirs: tuple[Path | None, Path | None],
    X: np.ndarray | None,
    stage: Staging,
) -> tuple[list[Any], int]:
    """Every artefact into ``stage`` (renamed into place by the caller); the reports name the user's paths."""
    import dataclasses

    reports: list[Any] = []
    staged = {opt: stage.file(path) for opt, path in files.items()}
    if "--onnx" in files:
        from export import to_onnx

        reports.append(to_onnx(learner, staged["--onnx"]))
    if "--onnx-int8" in files:
        from export import to_onnx_int8

        reports.append(to_onnx_int8(learner, staged["--onnx-int8"], calibration=X))
    if "--tflite" in files:
        from export import to_tflite_int8

        reports.append(to_tflite_int8(learner, staged["--tflite"], calibration=X))
    c_dir, fw_dir = dirs
    if c_dir is not None:
        reports.append(export_c(args, learner, stage.directory(c_dir)))
    if fw_dir is not None:
        reports.append(export_firmware(args, pipe, stage.directory(fw_dir), fw_dir))
    reports = [dataclasses.replace(r, path=stage.user_text(str(r.path))) for r in reports]
    status = 0
    if args.check == "tflm":
        assert X is not None
        status = _check_tflm(args, X, staged["--tflite"], files["--tflite"])
    return reports, status


def _check_tflm(args: argparse.Namespace, X: np.ndarray, path: Path, shown: Path) -> int:
    """``--check tflm``: compare runtimes, measure and store the arena in ``path``; print what was found.

    Returns 1 when TFLM is not bit-exact (the artefacts are still written); raises when the check cannot run.
    """
    from export.tflite_export import model_to_plan
    from export.tflm import ARENA_METADATA, check_tflm
    from export.validate import validate_tflite

    plan = model_to_plan(validate_tflite(path))
    rng = np.random.default_rng([args.seed, 2])
    x_q = np.concatenate(
        [plan.quantize_input(X), rng.integers(-128, 128, (CHECK_RANDOM_ROWS, plan.sizes[0])).astype(np.int8)]
    )
    try:
        result = check_tflm(path, x_q)
    except RuntimeError as exc:
        raise RuntimeError(f"--check tflm: {exc}") from None
    print(f"TFLM check on {len(x_q)} inputs ({len(X)} calibration + {CHECK_RANDOM_ROWS} random int8):")
    for name, summary in result.comparison.details().items():
        print(f"  TFLM vs {name}: {summary}")
    print(f"  {result.arena.format_text()}")
    print(f"  stored in {shown} metadata {ARENA_METADATA!r}")
    if not result.comparison.reference.exact:
        print("error: TFLM is not bit-exact with the reference's TFLM variant", file=sys.stderr)
        return 1
    return 0


def quant_report_handler(args: argparse.Namespace) -> int:
    """Export every artefact to a temporary directory and print the fidelity table (and JSON)."""
    from edge_mesu import SensorPipeline

    try:
        if args.json:
            check_file(args.json, "--json")
        from export import fidelity_report, to_onnx, to_onnx_int8, to_tflite_int8

        loaded = load_learner(args.state)
        learner = loaded.learner if isinstance(loaded, SensorPipeline) else loaded  # the mean network
        n_in = learner.layers[0]
        Xc, _, cal_source = _inputs(args, n_in, "train", args.calibration_samples)
        Xe, ye, eval_source = _inputs(args, n_in, "test", args.eval_samples)
        with tempfile.TemporaryDirectory(prefix="edge_mesu_quant_") as tmp:
            paths = {k: os.path.join(tmp, f"model{k}") for k in (".onnx", ".int8.onnx", ".tflite")}
            to_onnx(learner, paths[".onnx"])
            to_onnx_int8(learner, paths[".int8.onnx"], calibration=Xc)
            to_tflite_int8(learner, paths[".tflite"], calibration=Xc, validate=False)
            labels = ye if ye is not None else learner.predict_proba(Xe, samples=0).argmax(axis=1)
            report = fidelity_report(
                learner, Xe, labels, onnx=paths[".onnx"], onnx_int8=paths[".int8.onnx"], tflite=paths[".tflite"]
            )
    except (ValueError, OSError, EdgeMesuError) as exc:
        return _fail(user_error(exc))
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
