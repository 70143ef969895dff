"""One binary state-file format for every learner: what a device would keep in flash.

Layout (little-endian)::

    magic   4 bytes  b"EMSU"
    version u16      FORMAT_VERSION
    flags   u16      0 (reserved)
    hlen    u32      length of the header
    header  hlen     UTF-8 JSON, sorted keys: {"kind", "meta", "arrays": [[name, dtype, shape], ...]}
    payload          the arrays' raw bytes, C order, in header order
    crc     u32      CRC32 (zlib) of every byte before it

Files are written to a temporary file in the target directory, flushed, fsync'ed and renamed over the
target, so a crash leaves either the old file or the new one, never half of one. Headers hold no timestamps
or paths: equal states give equal files.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import tempfile
import warnings
import zlib
from pathlib import Path

import numpy as np

from .errors import StateFileError

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "StateFormatWarning",
    "encode_state",
    "decode_state",
    "atomic_write_bytes",
    "save_state",
    "load_state",
]

MAGIC = b"EMSU"
#: 2: the fixed-point arithmetic for 32-bit cores (32-bit counter-based generator, int32 update). The
#: layout is that of version 1; a version-1 file loads, and a fixed-point state in it continues under the
#: format-2 arithmetic (a :class:`StateFormatWarning` and a log record say so).
FORMAT_VERSION = 2
_log = logging.getLogger(__name__)


class StateFormatWarning(UserWarning):
    """A state file of an older format was converted on load (its state continues under today's arithmetic)."""


_PREFIX = struct.Struct("<4sHHI")
_ALLOWED_DTYPES = {"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"}


def encode_state(kind: str, meta: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """Serialise a learner state to bytes (see module docstring for the layout)."""
    specs, blobs = [], []
    for name, arr in arrays.items():
        a = np.asarray(arr, order="C")  # (np.ascontiguousarray would turn a 0-d array into shape (1,))
        dtype = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        if dtype.name not in _ALLOWED_DTYPES:
            raise ValueError(f"array {name!r} has unsupported dtype {a.dtype}")
        specs.append([name, dtype.name, list(a.shape)])
        blobs.append(a.astype(dtype.newbyteorder("<"), copy=False).tobytes())
    header = json.dumps(
        {"kind": kind, "meta": meta, "arrays": specs}, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")
    body = _PREFIX.pack(MAGIC, FORMAT_VERSION, 0, len(header)) + header + b"".join(blobs)
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def decode_state(data: bytes, source: str = "<bytes>") -> tuple[str, dict, dict[str, np.ndarray]]:
    """Parse bytes written by :func:`encode_state`; raise :class:`StateFileError` on any defect."""
    if len(data) < _PREFIX.size + 4:
        raise StateFileError(f"{source}: truncated state file ({len(data)} bytes, need at least {_PREFIX.size + 4})")
    magic, version, _flags, hlen = _PREFIX.unpack_from(data, 0)
    if magic != MAGIC:
        raise StateFileError(f"{source}: not an edge-mesu state file (magic {magic!r}, expected {MAGIC!r})")
    (crc,) = struct.unpack_from("<I", data, len(data) - 4)
    if crc != (zlib.crc32(data[:-4]) & 0xFFFFFFFF):
        # a newer version is reported as such even when its layout differs from ours
        if version > FORMAT_VERSION:
            raise StateFileError(
                f"{source}: state file format version {version} is newer than this "
                f"edge-mesu supports ({FORMAT_VERSION}); upgrade edge-mesu"
            )
        raise StateFileError(f"{source}: CRC32 mismatch: the file is corrupt or truncated")
    if version > FORMAT_VERSION:
        raise StateFileError(
            f"{source}: state file format version {version} is newer than this "
            f"edge-mesu supports ({FORMAT_VERSION}); upgrade edge-mesu"
        )
    if version < 1:
        raise StateFileError(f"{source}: invalid state file format version {version}")
    end_header = _PREFIX.size + hlen
    if end_header > len(data) - 4:
        raise StateFileError(f"{source}: header length {hlen} runs past the end of the file")
    try:
        header = json.loads(data[_PREFIX.size : end_header].decode("utf-8"))
        kind, meta, specs = header["kind"], header["meta"], header["arrays"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise StateFileError(f"{source}: unreadable header ({exc})") from None
    arrays: dict[str, np.ndarray] = {}
    offset = end_header
    for spec in specs:
        try:
            name, dtype_name, shape = spec
            shape = [int(d) for d in shape]
            if any(d < 0 for d in shape) or not isinstance(name, str):
                raise ValueError("negative dimension or non-string name")
        except (TypeError, ValueError) as exc:
            raise StateFileError(f"{source}: malformed array spec {spec!r} ({exc})") from None
        if dtype_name not in _ALLOWED_DTYPES:
            raise StateFileError(f"{source}: array {name!r} has unsupported dtype {dtype_name!r}")
        dtype = np.dtype(dtype_name).newbyteorder("<")
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if offset + nbytes > len(data) - 4:
            raise StateFileError(f"{source}: payload of array {name!r} runs past the end of the file")
        arrays[name] = (
            np.frombuffer(data, dtype=dtype, count=nbytes // dtype.itemsize, offset=offset)
            .reshape(shape)
            .astype(dtype.newbyteorder("="))
        )
        offset += nbytes
    if offset != len(data) - 4:
        raise StateFileError(f"{source}: {len(data) - 4 - offset} unexpected trailing byte(s) in payload")
    if version == 1 and any(n.split(".")[-1].startswith("mu_") and a.dtype == np.int16 for n, a in arrays.items()):
        msg = (
            f"{source}: state file format 1 holds a fixed-point state of the 64-bit arithmetic (SplitMix64, "
            "int64 update); it is converted: μ, σ codes, seed and step are kept and learning continues under "
            "the format-2 arithmetic (32-bit generator and update), so its random numbers differ from here on"
        )
        _log.warning(msg)
        warnings.warn(msg, StateFormatWarning, stacklevel=2)
    return kind, meta, arrays


def _umask() -> int:
    """The process's umask (read without changing it where /proc tells, else set and restored at once)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync and rename: never half-written.

    The file gets the mode an ordinary ``open(path, "w")`` would give it: an existing file keeps its mode,
    a new one gets 0o666 less the umask (0644 under umask 022). An ``OSError`` names ``path``, never the
    temporary file.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        reason = f"directory {directory} does not exist" if not directory.is_dir() else exc.strerror
        raise OSError(exc.errno, f"cannot write ({reason})", str(target)) from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OSError(exc.errno, f"cannot write ({exc.strerror})", str(target)) from None
        raise
    try:  # make the rename itself durable where the OS allows it
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save_state(path: str | os.PathLike, kind: str, meta: dict, arrays: dict[str, np.ndarray]) -> int:
    """Encode and atomically write a state; return the file size in bytes."""
    data = encode_state(kind, meta, arrays)
    atomic_write_bytes(path, data)
    return len(data)


def load_state(path: str | os.PathLike) -> tuple[str, dict, dict[str, np.ndarray]]:
    """Read and validate a state file written by :func:`save_state`."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise StateFileError(f"{path}: cannot read state file ({exc.strerror})") from None
    return decode_state(data, source=str(path))
