"""The raw state blob of the generated C library, read and written from Python.

A device keeps ``NAME_STATE_BYTES`` bytes (``NAME_state_save`` / ``NAME_state_load`` in the generated C);
these helpers convert between that blob and a :class:`FixedMESULearner`. Layout, little-endian::

    magic b"EMSC" | u16 version | u16 n_layers | u32 config hash | u32 n_params | u64 seed | u64 step
    | u32 counters[10] (cgen.COUNTER_NAMES order) | i16 mu[P] | u8 code[P] | u32 CRC32 of all before

Example
-------
>>> from edge_mesu.fixed import FixedMESULearner
>>> m = FixedMESULearner((4, 3, 2), seed=5)
>>> blob = state_blob(m); len(blob) == state_blob_bytes(m.n_params())
True
>>> learner_from_blob(m, blob).to_bytes() == m.to_bytes()
True
"""

from __future__ import annotations

import logging
import struct
import warnings
import zlib
from typing import Any

import numpy as np

from ..errors import StateFileError
from ..interface import Describable, NetworkDescription
from ..statefile import StateFormatWarning
from .cgen import BLOB_VERSION, COUNTER_NAMES, blob_header_bytes, config_hash, fixed_network, state_blob_bytes

__all__ = ["state_blob", "learner_from_blob"]

_HEAD = struct.Struct(f"<4sHHIIQQ{len(COUNTER_NAMES)}I")
assert _HEAD.size == blob_header_bytes()


def state_blob(obj: Describable | NetworkDescription) -> bytes:
    """The C state blob of a fixed-point learner (its μ, σ codes, seed, step and counters)."""
    net = fixed_network(obj)
    counters = [min(net.counters.get(n, 0), 2**32 - 1) for n in COUNTER_NAMES]
    head = _HEAD.pack(
        b"EMSC",
        BLOB_VERSION,
        len(net.plan.layers) - 1,
        config_hash(net),
        net.layout.n_params,
        net.seed & (2**64 - 1),
        net.step & (2**64 - 1),
        *counters,
    )
    body = head + net.mu.astype("<i2").tobytes() + net.code.astype(np.uint8).tobytes()
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def learner_from_blob(template: Any, blob: bytes) -> Any:
    """A copy of ``template`` (same configuration) holding the state of ``blob``.

    Raises :class:`~edge_mesu.errors.StateFileError` for a blob of another size, version or network,
    a CRC mismatch or σ codes out of range; ``template`` is never modified.
    """
    net = fixed_network(template)
    n = net.layout.n_params
    if len(blob) != state_blob_bytes(n):
        raise StateFileError(f"C state blob has {len(blob)} bytes, this network needs {state_blob_bytes(n)}")
    fields = _HEAD.unpack_from(blob, 0)
    magic, version, n_layers, chash, n_params, seed, step = fields[:7]
    if magic != b"EMSC" or version not in (1, BLOB_VERSION):
        raise StateFileError(f"not a C state blob of version {BLOB_VERSION} (magic {magic!r}, version {version})")
    if version == 1:  # same layout; the state continues under the format-2 arithmetic
        msg = (
            "C state blob of version 1 (64-bit arithmetic) converted: μ, σ codes, seed and step are kept and "
            "learning continues under the format-2 (32-bit) arithmetic"
        )
        logging.getLogger(__name__).warning(msg)
        warnings.warn(msg, StateFormatWarning, stacklevel=2)
    if (n_layers, chash, n_params) != (len(net.plan.layers) - 1, config_hash(net), n):
        raise StateFileError("C state blob belongs to another network configuration (hash mismatch)")
    if struct.unpack_from("<I", blob, len(blob) - 4)[0] != zlib.crc32(blob[:-4]) & 0xFFFFFFFF:
        raise StateFileError("C state blob CRC32 mismatch: corrupt or truncated")
    off = _HEAD.size
    mu = np.frombuffer(blob, dtype="<i2", count=n, offset=off).astype(np.int16)
    code = np.frombuffer(blob, dtype=np.uint8, count=n, offset=off + 2 * n).copy()
    if code.size and (code.min() < net.plan.code_min or code.max() > net.plan.code_max):
        raise StateFileError("C state blob holds σ codes outside the network's code range")
    state = template.state_dict()
    arrays = dict(state["arrays"])
    for name, m, c in zip(template.param_names, net.layout.views(mu), net.layout.views(code)):
        arrays[f"mu_{name}"], arrays[f"code_{name}"] = m, c
    meta = {
        **state["meta"],
        "step": int(step),
        "init": {**state["meta"]["init"], "seed": int(seed)},
        "counters": {k: int(v) for k, v in zip(COUNTER_NAMES, fields[7:]) if v},
    }
    return type(template).from_state_dict({"kind": state["kind"], "meta": meta, "arrays": arrays})
