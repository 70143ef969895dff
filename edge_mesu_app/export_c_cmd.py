"""``edge-mesu export --c DIR``: write the C library of a fixed-point learner; report its code size and,
when ``arm-none-eabi-gcc`` and ``unicorn`` are installed, the instructions and cycles of one predict and
one learn_one on an emulated Cortex-M4 (measured instructions x the documented CPI of
``firmware_sim.calibration``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os

from export.report import ExportReport

__all__ = ["add_c_arguments", "export_c"]


def add_c_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``--c DIR``, ``--c-name`` and ``--c-no-emulate`` to the ``export`` subcommand."""
    p.add_argument(
        "--c",
        dest="c",
        metavar="DIR",
        help="write a C99 library (inference + MESU update) into DIR; needs a fixed-point state "
        "('learn --fixed', the demo's); a pipeline state exports its learner alone (--firmware: front end and learner)",
    )
    p.add_argument("--c-name", dest="c_name", default="mesu_net", help="C identifier prefix (default mesu_net)")
    p.add_argument(
        "--c-no-emulate",
        dest="c_no_emulate",
        action="store_true",
        help="skip the Cortex-M4 emulation (code size and instruction counts)",
    )


def _emulation_details(learner: object) -> dict:
    from firmware_sim.calibration import CPI
    from firmware_sim.emulate import emulate, emulator_available

    reason = emulator_available()
    if reason is not None:
        return {"cortex_m4": f"not emulated: {reason}"}
    res = emulate(learner, steps=1)
    cpi = CPI["cortex-m4"]
    size = res.library_size
    return {
        "cortex_m4 (arm-none-eabi-gcc -O2, emulated)": {
            "code size": f"text {size['text']:,} B, data {size['data']:,} B, bss {size['bss']:,} B",
            "predict": f"{res.predict_mean:,.0f} instructions (measured) ~ {res.predict_mean * cpi:,.0f} cycles "
            f"(CPI {cpi}, modelled)",
            "learn_one": f"{res.learn_mean:,.0f} instructions (measured) ~ {res.learn_mean * cpi:,.0f} cycles "
            f"(CPI {cpi}, modelled)",
            "bit-exact with Python": res.bit_exact,
        }
    }


def export_c(args: argparse.Namespace, learner: object, out_dir: str | os.PathLike | None = None) -> ExportReport:
    """Run ``to_c`` for ``--c`` (into ``out_dir``, default ``args.c``); add the emulated Cortex-M4 figures
    unless ``--c-no-emulate``. ``learner`` is the fixed-point learner (a pipeline's ``.learner``)."""
    from export import to_c

    report = to_c(learner, args.c if out_dir is None else out_dir, name=args.c_name)
    if args.c_no_emulate:
        return report
    return dataclasses.replace(report, details={**report.details, **_emulation_details(learner)})
