"""C export: a self-contained C99 library of a fixed-point learner (inference and the MESU update).

The generator lives with the learner (:mod:`edge_mesu.fixed.cgen`); this module validates, writes the files
atomically and reports. The C integer results equal the Python learner's bit for bit (see
``tests/test_c_firmware.py``); the state blob is read and written in Python by
:mod:`edge_mesu.fixed.cblob`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from edge_mesu.fixed.cgen import fixed_network, generate_c, sanitize_name
from edge_mesu.interface import Describable, FixedNetwork, NetworkDescription, describe
from edge_mesu.statefile import atomic_write_bytes

from .report import ExportReport, TensorFormat

__all__ = ["to_c"]

_OPS = ("predict", "learn_one", "learn_many", "state_init", "state_save", "state_load")


def _check_dir(out_dir: str | os.PathLike) -> Path:
    target = Path(out_dir)
    if target.exists() and not target.is_dir():
        raise ValueError(f"C output {target} exists and is not a directory")
    parent = target.parent if str(target.parent) else Path(".")
    if not target.exists() and not parent.is_dir():
        raise ValueError(f"parent directory {parent} of the C output does not exist")
    return target


def _tensors(net: FixedNetwork) -> tuple[TensorFormat, ...]:
    plan = net.plan
    out = [TensorFormat("x", "int8", (plan.layers[0],), plan.input_fmt.qstring)]
    for l, f in enumerate(plan.mu_fmts):
        shape = (plan.layers[l], plan.layers[l + 1])
        out.append(TensorFormat(f"mu_w{l}", "int16", shape, f.qstring))
        out.append(
            TensorFormat(
                f"code_w{l}",
                "uint8",
                shape,
                f"sigma={plan.sigma_max:.4g}*2^(-(code+{plan.offsets[l]})/{plan.sigma_per_octave})",
            )
        )
        if plan.bias:
            out.append(TensorFormat(f"mu_b{l}", "int16", (plan.layers[l + 1],), f.qstring))
    out.append(TensorFormat("p", "int32", (plan.layers[-1],), "Q15"))
    return tuple(out)


def to_c(learner: Describable | NetworkDescription, out_dir: str | os.PathLike, name: str = "mesu_net") -> ExportReport:
    """Write ``name.h``, ``name_model.h`` and ``name.c`` of a fixed-point learner into ``out_dir``.

    ``learner``: a :class:`~edge_mesu.FixedMESULearner`, a :class:`~edge_mesu.SensorPipeline` around one
    (the front end is not part of the C), or their description.

    The directory is created if its parent exists. Compile ``name.c`` alone (C99, no libc beyond
    <stdint.h>/<stddef.h>); define ``NAME_INFERENCE_ONLY`` for a predict-only build with const state.

    Raises
    ------
    ValueError
        Not a fixed-point learner, an unsupported configuration (``train_samples != 1``, formats), or a
        bad output directory; nothing is written.
    """
    t0 = time.perf_counter()
    desc = describe(learner)
    net = fixed_network(desc)
    target = _check_dir(out_dir)
    src = generate_c(desc, sanitize_name(name))
    target.mkdir(exist_ok=True)
    for fname, text in src.files.items():
        atomic_write_bytes(target / fname, text.encode("utf-8"))
    size = sum(len(t.encode("utf-8")) for t in src.files.values())
    p = src.name.upper()
    details = {
        "name": src.name,
        "files": sorted(src.files),
        "arena_bytes": src.macros[f"{p}_ARENA_BYTES"],
        "state_ram_bytes": src.macros[f"{p}_STATE_RAM_BYTES"],
        "state_blob_bytes": src.macros[f"{p}_STATE_BYTES"],
        "ram_bytes": src.macros[f"{p}_RAM_BYTES"],
        "rounding": net.rounding.value,
        "step": net.step,
        "build": f"cc -std=c99 -O2 -c {src.name}.c (define {p}_INFERENCE_ONLY for predict only)",
    }
    return ExportReport("c", str(target), size, _OPS, _tensors(net), time.perf_counter() - t0, details)
