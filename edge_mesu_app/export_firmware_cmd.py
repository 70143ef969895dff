"""``edge-mesu export --firmware DIR``: the device library of a sensor-pipeline state.

One self-contained C99 folder (``edge_mesu.device.package``): the integer front end, the fixed-point learner
(its weights as the factory state), the crash-safe A/B flash slots, one public header, an example main and
the build files (CMake, PlatformIO, Arduino, Zephyr). The factory state is the exported pipeline's own:
the learner's weights and the front end's running normaliser, partial window and counters, so the device
continues the stream exactly where Python left it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from export.report import ExportReport

from .device_uncertainty_args import add_uncertainty_arguments, check_uncertainty_options

__all__ = ["add_firmware_arguments", "check_firmware_options", "export_firmware"]


def add_firmware_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``--firmware DIR`` and its options to the ``export`` subcommand."""
    p.add_argument(
        "--firmware",
        metavar="DIR",
        help="write a drop-in C99 device library (front end + learner + crash-safe flash state, CMake / "
        "PlatformIO / Arduino / Zephyr) of a fixed-point sensor-pipeline state ('learn --fixed', the demo's) "
        "into DIR (absent or empty)",
    )
    p.add_argument(
        "--firmware-name",
        dest="firmware_name",
        default="edge_mesu_device",
        help="the library's C name (default edge_mesu_device)",
    )
    p.add_argument(
        "--save-every",
        dest="save_every",
        type=int,
        default=100,
        help="the example's learning steps between flash saves (default 100; 0: only on demand)",
    )
    p.add_argument(
        "--flash-page",
        dest="flash_page",
        type=int,
        default=2048,
        help="the example's flash erase page in bytes (default 2048, STM32L4)",
    )
    add_uncertainty_arguments(p)
    p.add_argument(
        "--flash-unit",
        dest="flash_unit",
        type=int,
        default=8,
        help="the example's flash program unit in bytes (default 8, STM32L4)",
    )


def check_firmware_options(args: argparse.Namespace) -> None:
    """Refuse bad ``--firmware`` options before any work (``ValueError`` naming the value)."""
    from edge_mesu.frontend.cgen import c_identifier

    if args.save_every < 0:
        raise ValueError(f"--save-every must be >= 0, got {args.save_every}")
    if args.flash_page < 64 or args.flash_page & (args.flash_page - 1):
        raise ValueError(f"--flash-page must be a power of two >= 64 bytes, got {args.flash_page}")
    if args.flash_unit < 1 or args.flash_unit > args.flash_page or args.flash_page % args.flash_unit:
        raise ValueError(f"--flash-unit must divide --flash-page ({args.flash_page}), got {args.flash_unit}")
    check_uncertainty_options(args)
    if c_identifier(args.firmware_name) != args.firmware_name:
        raise ValueError(f"--firmware-name must be a C identifier, got {args.firmware_name!r}")
    target = Path(args.firmware)
    if target.is_dir() and any(target.iterdir()):
        raise ValueError(f"--firmware {target}: exists and is not empty")


def export_firmware(args: argparse.Namespace, pipe: Any, out_dir: Path, shown: Path | None = None) -> ExportReport:
    """Write the library of ``pipe`` into ``out_dir`` (a new staged directory) and describe it under the
    user's path ``shown`` (default ``out_dir``)."""
    import time

    from edge_mesu.device.package import NOVELTY_THRESHOLD_BITS, pipeline_sources, write_library

    t0 = time.perf_counter()
    k = pipe.uncertainty_samples if args.uncertainty_samples is None else args.uncertainty_samples
    threshold = NOVELTY_THRESHOLD_BITS if args.novelty_threshold is None else args.novelty_threshold
    sources, fe_state = pipeline_sources(pipe)
    lib = write_library(
        out_dir,
        sources,
        name=args.firmware_name,
        page_bytes=args.flash_page,
        prog_unit=args.flash_unit,
        save_every=args.save_every,
        frontend_state=fe_state,
        uncertainty_samples=k,
        novelty_threshold=threshold,
        uncertainty_windows=args.uncertainty_windows,
    )
    spec = pipe.spec
    return ExportReport(
        format="C99 device library",
        path=str(out_dir),
        size_bytes=sum((out_dir / f).stat().st_size for f in lib.files),
        ops=("front end", "predict", "uncertainty", "learn_one", "A/B slot save/load"),
        tensors=(),
        export_seconds=time.perf_counter() - t0,
        details={
            "public header": f"src/{lib.name}.h",
            "parts": f"front end {lib.frontend} ({spec.channels} channels, window {spec.window}, hop "
            f"{spec.hop_samples}), learner {lib.learner} {'-'.join(map(str, pipe.learner.layers))}, "
            "A/B flash slots",
            "saved state": f"{lib.state_bytes:,} B per slot, {lib.slot_pages} page(s) of {lib.page_bytes} B each",
            "factory state": "the exported pipeline's (learner weights, front-end normaliser and partial window)",
            "build": f"cmake -S {shown or out_dir} -B build && cmake --build build (also library.json, "
            "library.properties, zephyr/module.yml)",
            "uncertainty": (
                f"mutual information over {k} weight samples per window ({args.uncertainty_windows} windows; Q16 "
                f"bits, as SensorPipeline's), novelty flag at >= {lib.novelty_q16 / 65536:.4g} bits"
                if k
                else "none (--uncertainty-samples 0)"
            ),
        },
    )
