"""Generate the C99 of the integer sensor front end (:class:`~edge_mesu.frontend.FrontEnd`) from its spec.

The C is hand-written once (``csrc/template_frontend.c``, ``csrc/template_frontend.h``); what changes per
front end is generated here from the :class:`FrontEndSpec`: channels, window, hop, decimation, the
normaliser's time constant, the clip bound, the σ floor, the output format and the label rule, as macros
of the header. The integers are those of :mod:`edge_mesu.frontend.normalise`, bit for bit, at every sample
(``tests/test_frontend_c.py``), and the state blob is :meth:`FrontEnd.state` byte for byte
(:mod:`edge_mesu.frontend.cblob`), so a stream can stop on the device and resume in Python, or the reverse,
even inside a window.

Files (``name`` is a C identifier prefix, default ``sensor_fe``)::

    name.h   configuration macros, the state struct, the API (push, push_block, freeze, state save/load)
    name.c   the front end (no malloc, no float, stdint/stddef only)

Labels reach the device per raw sample, as in Python. The ``"majority"`` rule needs the number of classes
(``n_classes``: a histogram of that many counters decides a window's label); ``"last"`` needs nothing.

Example
-------
>>> src = generate_frontend_c(FrontEndSpec(channels=3, window=32, hop=16), name="imu")
>>> sorted(src.files), src.macros["IMU_N_OUTPUTS"], src.macros["IMU_STATE_BYTES"]
(['imu.c', 'imu.h'], 96, 292)
"""

from __future__ import annotations

import json
import keyword
import re
import zlib
from dataclasses import dataclass
from importlib import resources

from .spec import DEV_FRAC, FEAT_FRAC, INV_SHIFT, MEAN_FRAC, FrontEndSpec, LabelRule

__all__ = [
    "FE_BLOB_HEADER_BYTES",
    "FE_BLOB_VERSION",
    "FE_COUNTER_NAMES",
    "FrontEndCSource",
    "c_identifier",
    "frontend_config_hash",
    "frontend_state_bytes",
    "generate_frontend_c",
    "label_history_len",
]

FE_COUNTER_NAMES = ("input_limit", "warmup_windows", "clip", "saturate")  # the blob's order
FE_BLOB_VERSION = 1
FE_BLOB_HEADER_BYTES = 48  # magic, version, flags, hash, k, acc_n, countdown, seen, counters
MAX_CLASSES = 32767  # labels are int16 class indices in [0, 32766]


@dataclass(frozen=True)
class FrontEndCSource:
    """The generated files (name → text), the identifier prefix and the numeric macros of the header."""

    name: str
    files: dict[str, str]
    macros: dict[str, int]


def c_identifier(name: str) -> str:
    """A lower-case C identifier from ``name`` (non-identifier characters become ``_``).

    >>> c_identifier("IMU front-end")
    'imu_front_end'
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"C name must be a non-empty string, got {name!r}")
    out = re.sub(r"[^0-9a-zA-Z_]", "_", name.strip()).lower()
    if out[0].isdigit():
        out = "n_" + out
    if keyword.iskeyword(out) or out in {"int", "char", "void", "static", "const", "register", "auto"}:
        out += "_fe"
    return out[:40]


def label_history_len(spec: FrontEndSpec) -> int:
    """Raw labels the state keeps: ``window − 1`` for the majority rule, else 0 (as :class:`FrontEnd`)."""
    return spec.window - 1 if spec.label_rule is LabelRule.MAJORITY else 0


def _classes(spec: FrontEndSpec, n_classes: int | None) -> int:
    """The class count the C needs: 0 for the "last" rule, ``n_classes`` (checked) for "majority"."""
    if spec.label_rule is not LabelRule.MAJORITY:
        return 0
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or not 1 <= n_classes <= MAX_CLASSES:
        raise ValueError(
            f"the 'majority' label rule needs n_classes, an integer in [1, {MAX_CLASSES}] "
            f"(the learner's number of classes), got {n_classes!r}"
        )
    return n_classes


def frontend_config_hash(spec: FrontEndSpec, n_classes: int | None = None) -> int:
    """CRC32 of the spec (and the class count of the majority rule): a blob only loads where it was written."""
    text = json.dumps(
        {"spec": spec.to_dict(), "n_classes": _classes(spec, n_classes), "version": FE_BLOB_VERSION}, sort_keys=True
    )
    return zlib.crc32(text.encode("utf-8")) & 0xFFFFFFFF


def frontend_state_bytes(spec: FrontEndSpec) -> int:
    """Size of the C state blob: header, mean (i32), variance (i64), decimation sum (i32) per channel, the
    last window of decimated samples (i16), the label history (i16), CRC32."""
    c = spec.channels
    return FE_BLOB_HEADER_BYTES + (4 + 8 + 4) * c + 2 * spec.frames * c + 2 * label_history_len(spec) + 4


def _macros(spec: FrontEndSpec, n_classes: int) -> dict[str, int]:
    frac = FEAT_FRAC if spec.features else spec.out_frac
    label_len = label_history_len(spec)
    m = {
        "CHANNELS": spec.channels,
        "WINDOW": spec.window,
        "HOP": spec.hop_samples,
        "DECIMATE": spec.decimate,
        "FRAMES": spec.frames,
        "FRAME_HOP": spec.frame_hop,
        "FEATURES": int(spec.features),
        "N_OUTPUTS": spec.n_outputs,
        "TAU_LOG2": spec.tau_log2,
        "HAS_WARMUP": int(spec.warmup > 0),
        "CLIP_BOUND": spec.clip_feat if spec.features else spec.clip_q,
        "Z_SHIFT": INV_SHIFT - frac,
        "MIN_STD_Q": spec.min_std_q,
        "OUT_FRAC": spec.out_frac,
        "REQ_SHIFT": FEAT_FRAC - spec.out_frac,
        "MAJORITY": int(spec.label_rule is LabelRule.MAJORITY),
        "N_CLASSES": n_classes,
        "LABEL_LEN": label_len,
        "LABEL_RING": max(label_len, 1),
        "MEAN_FRAC": MEAN_FRAC,
        "DEV_FRAC": DEV_FRAC,
        "INV_SHIFT": INV_SHIFT,
        "N_COUNTERS": len(FE_COUNTER_NAMES),
        "BLOB_VERSION": FE_BLOB_VERSION,
        "BLOB_HEADER_BYTES": FE_BLOB_HEADER_BYTES,
        "STATE_BYTES": frontend_state_bytes(spec),
    }
    m.update({f"CNT_{n.upper()}": i for i, n in enumerate(FE_COUNTER_NAMES)})
    return m


def _config_block(spec: FrontEndSpec, macros: dict[str, int], chash: int) -> str:
    d = spec.to_dict()
    lines = [
        "/* Front end: " + ", ".join(f"{k}={v}" for k, v in d.items()) + f"; output int8 {spec.out_fmt.qstring}. */",
        *(f"#define EMFE_{k} {v}" for k, v in macros.items()),
        f"#define EMFE_WARMUP UINT64_C({spec.warmup})",
        f"#define EMFE_CONFIG_HASH UINT32_C({chash})",
    ]
    return "\n".join(lines)


def _template(filename: str) -> str:
    return (resources.files("edge_mesu.frontend") / "csrc" / filename).read_text(encoding="utf-8")


def _rename(text: str, name: str, source: str) -> str:
    text = re.sub(r"\bemfe(_\w*|\.h|\.c)", lambda m: name + m.group(1), text)
    text = re.sub(r"\bEMFE(_\w*)", lambda m: name.upper() + m.group(1), text)
    return f"/* Generated by edge-mesu from {source}: do not edit (edit the template, regenerate). */\n{text}"


def generate_frontend_c(spec: FrontEndSpec, name: str = "sensor_fe", n_classes: int | None = None) -> FrontEndCSource:
    """The C sources of the front end ``spec``; nothing is written.

    ``n_classes`` is required for the ``"majority"`` label rule (the learner's number of classes: labels at
    or above it never win a window in C). Raises ``ValueError`` for ``tau_log2 == 0`` (Python's
    normaliser is undefined there: its rate shift would be −1).
    """
    if not isinstance(spec, FrontEndSpec):
        raise ValueError(f"spec must be a FrontEndSpec, got {type(spec).__name__}")
    if spec.tau_log2 < 1:
        raise ValueError("the C front end needs tau_log2 >= 1 (the Python normaliser fails at tau_log2=0)")
    classes = _classes(spec, n_classes)
    name = c_identifier(name)
    macros = _macros(spec, classes)
    chash = frontend_config_hash(spec, n_classes)
    header = _template("template_frontend.h").replace("/*@CONFIG@*/", _config_block(spec, macros, chash))
    files = {
        f"{name}.h": _rename(header, name, "edge_mesu/frontend/csrc/template_frontend.h"),
        f"{name}.c": _rename(_template("template_frontend.c"), name, "edge_mesu/frontend/csrc/template_frontend.c"),
    }
    out = {f"{name.upper()}_{k}": v for k, v in macros.items()}
    out[f"{name.upper()}_CONFIG_HASH"] = chash
    return FrontEndCSource(name, files, out)
