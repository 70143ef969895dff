"""The C front end's state blob, read and written from Python: :meth:`FrontEnd.state` as bytes.

A device keeps ``NAME_STATE_BYTES`` bytes (``name_state_save`` / ``name_state_load`` of
:func:`edge_mesu.frontend.cgen.generate_frontend_c`); these helpers convert between that blob and a
:class:`FrontEnd`, exactly: a stream stopped on either side resumes on the other at the same sample, even
inside a window. Layout, little-endian::

    magic b"EMFE" | u16 version | u16 flags (bit 0: frozen) | u32 config hash | u32 k | u32 acc_n
    | u32 countdown | u64 samples seen | u32 counters[4] (input_limit, warmup_windows, clip, saturate)
    | i32 mean[C] | i64 var[C] | i32 acc[C] | i16 history[frames][C] (oldest first)
    | i16 label_history[window − 1 for the majority rule, else 0] | u32 CRC32 of all before

Counters saturate at 2**32 − 1 on both sides; the sample count is kept modulo 2**64.

Example
-------
>>> import numpy as np
>>> from edge_mesu.frontend import FrontEnd, FrontEndSpec
>>> fe = FrontEnd(FrontEndSpec(channels=2, window=8, hop=4))
>>> _ = fe.push(np.arange(22, dtype=np.int16).reshape(11, 2))
>>> blob = frontend_blob(fe); len(blob) == frontend_state_bytes(fe.spec)
True
>>> frontend_blob(frontend_from_blob(fe.spec, blob)) == blob
True
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from ..errors import StateFileError
from .cgen import (
    FE_BLOB_HEADER_BYTES,
    FE_BLOB_VERSION,
    FE_COUNTER_NAMES,
    frontend_config_hash,
    frontend_state_bytes,
    label_history_len,
)
from .frontend import FrontEnd
from .spec import FrontEndSpec

__all__ = ["frontend_blob", "frontend_from_blob"]

_HEAD = struct.Struct(f"<4sHHIIIIQ{len(FE_COUNTER_NAMES)}I")
assert _HEAD.size == FE_BLOB_HEADER_BYTES
_U32 = 2**32 - 1


def frontend_blob(fe: FrontEnd, n_classes: int | None = None) -> bytes:
    """The C state blob of ``fe`` (``n_classes`` as given to the generator, for the majority rule)."""
    if not isinstance(fe, FrontEnd):
        raise ValueError(f"frontend_blob needs a FrontEnd (the integer front end), got {type(fe).__name__}")
    meta, arrays = fe.state()
    counters = [min(int(meta["counters"].get(n, 0)), _U32) for n in FE_COUNTER_NAMES]
    head = _HEAD.pack(
        b"EMFE",
        FE_BLOB_VERSION,
        int(bool(meta["frozen"])),
        frontend_config_hash(fe.spec, n_classes),
        int(meta["k"]),
        int(meta["acc_n"]),
        int(meta["countdown"]),
        int(meta["seen"]) & (2**64 - 1),
        *counters,
    )
    body = b"".join(
        [
            head,
            np.asarray(arrays["mean"], dtype="<i4").tobytes(),
            np.asarray(arrays["var"], dtype="<i8").tobytes(),
            np.asarray(arrays["acc"], dtype="<i4").tobytes(),
            np.asarray(arrays["history"], dtype="<i2").tobytes(),
            np.asarray(arrays["label_history"], dtype="<i2").tobytes(),
        ]
    )
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def frontend_from_blob(spec: FrontEndSpec, blob: bytes, n_classes: int | None = None) -> FrontEnd:
    """A :class:`FrontEnd` holding the state of ``blob``.

    Raises :class:`~edge_mesu.errors.StateFileError` for a blob of another size, version or configuration,
    a CRC mismatch or counters out of range.
    """
    size = frontend_state_bytes(spec)
    if len(blob) != size:
        raise StateFileError(f"front-end state blob has {len(blob)} bytes, this front end needs {size}")
    fields = _HEAD.unpack_from(blob, 0)
    magic, version, flags, chash, k, acc_n, countdown, seen = fields[:8]
    if magic != b"EMFE" or version != FE_BLOB_VERSION:
        raise StateFileError(f"not a front-end blob of version {FE_BLOB_VERSION} (magic {magic!r}, version {version})")
    if chash != frontend_config_hash(spec, n_classes):
        raise StateFileError("front-end blob belongs to another front-end configuration (hash mismatch)")
    if struct.unpack_from("<I", blob, len(blob) - 4)[0] != zlib.crc32(blob[:-4]) & 0xFFFFFFFF:
        raise StateFileError("front-end blob CRC32 mismatch: corrupt or truncated")
    if flags > 1:
        raise StateFileError(f"front-end blob has unknown flags {flags:#x}")
    c, off = spec.channels, FE_BLOB_HEADER_BYTES
    arrays = {}
    for name, dtype, shape in (
        ("mean", "<i4", (c,)),
        ("var", "<i8", (c,)),
        ("acc", "<i4", (c,)),
        ("history", "<i2", (spec.frames, c)),
        ("label_history", "<i2", (label_history_len(spec),)),
    ):
        n = int(np.prod(shape))
        a = np.frombuffer(blob, dtype=dtype, count=n, offset=off).reshape(shape)
        arrays[name] = a.astype(f"int{8 * a.itemsize}")  # native byte order, as FrontEnd.state() gives
        off += a.nbytes
    meta = {
        "spec": spec.to_dict(),
        "k": k,
        "acc_n": acc_n,
        "countdown": countdown,
        "seen": seen,
        "frozen": bool(flags & 1),
        "counters": {n: v for n, v in zip(FE_COUNTER_NAMES, fields[8:]) if v},
    }
    try:
        fe = FrontEnd.from_state(meta, arrays)
    except ValueError as exc:
        raise StateFileError(f"front-end blob out of range: {exc}") from None
    assert isinstance(fe, FrontEnd)
    return fe
