"""Streamed readers of recordings: CSV (a file or a line stream such as stdin), NPY and NPZ, in chunks.

Every reader yields :class:`Chunk` objects of at most ``chunk_rows`` rows, so a recording bigger than
memory works. Channels are picked by column name (CSV, NPZ members, fields of a structured NPY) or by
index (the columns of a plain 2-D NPY). Sample values must be integers in the int16 range, or any numbers
when ``scale`` (counts per unit) is given: ``round(value · scale)``. Labels are returned as strings, ``""``
meaning "no label" (an empty CSV cell, a negative integer or NaN in NPY/NPZ). Every problem raises
``ValueError`` naming the source, the line or row, the column and the value.
"""

from __future__ import annotations

import csv
import math
import os
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

__all__ = ["Chunk", "read_csv", "read_npy", "read_npz", "read_recording"]

_LO, _HI = -32768, 32767


@dataclass(frozen=True)
class Chunk:
    """Rows ``first_row`` .. ``first_row + n − 1`` (0-based data rows) of a recording.

    samples : int16 ``(n, channels)``; labels : str ``(n,)`` object array or None; timestamps : float64
    ``(n,)`` or None.
    """

    samples: np.ndarray
    labels: np.ndarray | None
    timestamps: np.ndarray | None
    first_row: int

    def __len__(self) -> int:
        return int(self.samples.shape[0])


def _counts(values: np.ndarray, where: Callable[[int], str], scale: float | None) -> np.ndarray:
    """Column values to int16 counts, or ``ValueError`` naming the first bad one (``where`` locates it)."""
    v = np.asarray(values)
    if np.issubdtype(v.dtype, np.integer) and scale is None:
        out = v.astype(np.int64)
    else:
        f = v.astype(np.float64)
        bad = ~np.isfinite(f)
        if bad.any():
            raise ValueError(f"{where(int(np.argmax(bad)))}: {f[bad][0].item()!r} is not a finite number")
        if scale is None:
            frac = f != np.rint(f)
            if frac.any():
                raise ValueError(
                    f"{where(int(np.argmax(frac)))}: {f[frac][0].item()!r} is not an integer count; "
                    "pass scale (counts per unit) to read non-integer signals"
                )
            out = f.astype(np.int64)
        else:
            out = np.rint(f * scale)
            out = np.where(np.abs(out) < 2.0**62, out, 2.0**62).astype(np.int64)
    bad = (out < _LO) | (out > _HI)
    if bad.any():
        raise ValueError(
            f"{where(int(np.argmax(bad)))}: {out[bad][0].item()} is outside the int16 range "
            "[-32768, 32767]" + ("" if scale is None else f" after scaling by {scale:g}")
        )
    return out.astype(np.int16)


def _stack(columns: list[np.ndarray], n: int) -> np.ndarray:
    """Columns side by side as int16 ``(n, len(columns))`` (no columns: a label-only scan)."""
    return np.stack(columns, axis=1) if columns else np.zeros((n, 0), dtype=np.int16)


def _check_chunk_rows(chunk_rows: int) -> int:
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be an integer >= 1, got {chunk_rows!r}")
    return chunk_rows


# -- CSV ------------------------------------------------------------------------------------------------------
def _csv_columns(
    header: list[str], name: str, channels: Sequence[str], label: str | None, timestamp: str | None
) -> tuple[list[int], int | None, int | None]:
    cols = [h.strip() for h in header]
    index = {c: i for i, c in enumerate(cols)}
    wanted = list(channels) + [c for c in (label, timestamp) if c is not None]
    missing = [c for c in wanted if c not in index]
    if missing:
        raise ValueError(f"{name}: no column {missing[0]!r} in the header (columns: {', '.join(cols)})")
    return (
        [index[c] for c in channels],
        index.get(label) if label else None,
        index.get(timestamp) if timestamp else None,
    )


def _csv_chunk(
    rows: list[list[str]],
    lines: list[int],
    name: str,
    header: list[str],
    idx: list[int],
    lab: int | None,
    ts: int | None,
    scale: float | None,
    first_row: int,
) -> Chunk:
    def cells(i: int) -> np.ndarray:
        return np.array([r[i].strip() for r in rows], dtype=object)

    def parse(i: int) -> np.ndarray:
        col = cells(i)
        for dtype in (np.int64, np.float64):  # integers stay exact; then any number
            try:
                return np.array(col.astype(dtype))
            except (ValueError, OverflowError):
                pass
        for j, c in enumerate(col):
            try:
                float(c)
            except ValueError:
                raise ValueError(
                    f"{name} line {lines[j]}: column {header[i].strip()!r} holds {c!r}, not a number"
                ) from None
        raise AssertionError("some cell failed to parse")

    samples = np.empty((len(rows), len(idx)), dtype=np.int16)
    for k, i in enumerate(idx):
        samples[:, k] = _counts(parse(i), _where(name, lines, header[i]), scale)
    stamps = None
    if ts is not None:
        stamps = parse(ts).astype(np.float64)
        if not np.all(np.isfinite(stamps)):
            j = int(np.argmax(~np.isfinite(stamps)))
            raise ValueError(f"{name} line {lines[j]}: timestamp {cells(ts)[j]!r} is not a finite number")
    return Chunk(samples, None if lab is None else cells(lab), stamps, first_row)


def read_csv(
    source: str | os.PathLike | IO[str],
    channels: Sequence[str],
    label: str | None = None,
    timestamp: str | None = None,
    *,
    chunk_rows: int = 65536,
    scale: float | None = None,
    delimiter: str = ",",
    skip_rows: int = 0,
) -> Iterator[Chunk]:
    """Stream a CSV file (or an open text stream, e.g. ``sys.stdin``) with a header line, in chunks.

    ``skip_rows`` data rows are read and dropped first (to resume after a checkpoint).

    >>> import io
    >>> text = io.StringIO("t,ax,ay,label\\n0,1,2,walk\\n1,3,4,\\n2,5,6,run\\n")
    >>> [(c.samples.tolist(), c.labels.tolist()) for c in read_csv(text, ["ax", "ay"], "label", chunk_rows=2)]
    [([[1, 2], [3, 4]], ['walk', '']), ([[5, 6]], ['run'])]
    """
    chunk_rows = _check_chunk_rows(chunk_rows)
    if not isinstance(source, (str, os.PathLike)):  # an open text stream
        yield from _read_csv_stream(
            source,
            str(getattr(source, "name", "<stream>")),
            channels,
            label,
            timestamp,
            chunk_rows,
            scale,
            delimiter,
            skip_rows,
        )
        return
    with open(source, newline="", encoding="utf-8") as fh:
        yield from _read_csv_stream(
            fh, str(source), channels, label, timestamp, chunk_rows, scale, delimiter, skip_rows
        )


def _read_csv_stream(
    fh: IO[str],
    name: str,
    channels: Sequence[str],
    label: str | None,
    timestamp: str | None,
    chunk_rows: int,
    scale: float | None,
    delimiter: str,
    skip_rows: int,
) -> Iterator[Chunk]:
    reader = csv.reader(fh, delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise ValueError(f"{name}: empty file (no header line)")
    idx, lab, ts = _csv_columns(header, name, channels, label, timestamp)
    rows: list[list[str]] = []
    lines: list[int] = []
    row_no = first = 0
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise ValueError(f"{name} line {reader.line_num}: {len(row)} fields, the header has {len(header)}")
        row_no += 1
        if row_no <= skip_rows:
            first = row_no
            continue
        rows.append(row)
        lines.append(reader.line_num)
        if len(rows) == chunk_rows:
            yield _csv_chunk(rows, lines, name, header, idx, lab, ts, scale, first)
            first += len(rows)
            rows, lines = [], []
    if rows:
        yield _csv_chunk(rows, lines, name, header, idx, lab, ts, scale, first)


# -- NPY / NPZ ------------------------------------------------------------------------------------------------
def _npy_header(fh: IO[bytes], name: str) -> tuple[tuple[int, ...], np.dtype]:
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"NPY format version {version} is not supported")
    except ValueError as exc:
        raise ValueError(f"{name}: not a readable .npy array ({exc})") from None
    if dtype.hasobject:
        raise ValueError(f"{name}: object arrays (pickled) are not read; save numbers or fixed-width strings")
    if fortran and len(shape) > 1:
        raise ValueError(f"{name}: Fortran-ordered array; save it in C order (np.ascontiguousarray)")
    return tuple(shape), dtype


def _npy_blocks(fh: IO[bytes], name: str, chunk_rows: int) -> Iterator[np.ndarray]:
    """Blocks of at most ``chunk_rows`` rows of the .npy array in ``fh`` (header included in ``fh``)."""
    shape, dtype = _npy_header(fh, name)
    if not shape:
        raise ValueError(f"{name}: a 0-d array holds no samples")
    row_bytes = dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))
    left = shape[0]
    while left > 0:
        rows = min(chunk_rows, left)
        data = fh.read(rows * row_bytes)
        if len(data) != rows * row_bytes:
            raise ValueError(
                f"{name}: truncated array data ({shape[0] - left + len(data) // max(row_bytes, 1)} of {shape[0]} rows)"
            )
        yield np.frombuffer(data, dtype=dtype).reshape((rows,) + shape[1:])
        left -= rows


def _labels_text(values: np.ndarray) -> np.ndarray:
    """Labels of an array as strings, "" where missing (negative integer, NaN, empty string)."""
    if np.issubdtype(values.dtype, np.integer):
        return np.array(["" if v < 0 else str(v) for v in values.tolist()], dtype=object)
    if np.issubdtype(values.dtype, np.floating):
        return np.array(
            ["" if math.isnan(v) else (str(int(v)) if float(v).is_integer() else str(v)) for v in values.tolist()],
            dtype=object,
        )
    if values.dtype.kind in "US":
        return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values.tolist()], dtype=object)
    raise ValueError(f"labels of dtype {values.dtype} are not supported")


def read_npy(
    path: str | os.PathLike,
    channels: Sequence[str | int] | None = None,
    label: str | None = None,
    timestamp: str | None = None,
    *,
    chunk_rows: int = 65536,
    scale: float | None = None,
    skip_rows: int = 0,
) -> Iterator[Chunk]:
    """Stream a .npy file: a 2-D ``(n, C)`` array (``channels`` are column indices, default all) or a 1-D
    structured array (``channels``, ``label``, ``timestamp`` are field names)."""
    chunk_rows = _check_chunk_rows(chunk_rows)
    name, row = str(path), 0
    with open(path, "rb") as fh:
        for block in _npy_blocks(fh, name, chunk_rows):
            chunk = _npy_chunk(block, name, channels, label, timestamp, scale, row)
            row += len(block)
            if row <= skip_rows:
                continue
            yield _drop(chunk, skip_rows - chunk.first_row) if chunk.first_row < skip_rows else chunk


def _drop(chunk: Chunk, k: int) -> Chunk:
    return Chunk(
        chunk.samples[k:],
        None if chunk.labels is None else chunk.labels[k:],
        None if chunk.timestamps is None else chunk.timestamps[k:],
        chunk.first_row + k,
    )


def _npy_chunk(
    block: np.ndarray,
    name: str,
    channels: Sequence[str | int] | None,
    label: str | None,
    timestamp: str | None,
    scale: float | None,
    row: int,
) -> Chunk:
    def where(col: object) -> Any:
        return lambda j: f"{name} row {row + j}, column {col!r}"

    if block.dtype.names:
        fields = list(block.dtype.names)
        for f in list(channels or []) + [c for c in (label, timestamp) if c]:
            if f not in fields:
                raise ValueError(f"{name}: no field {f!r} (fields: {', '.join(fields)})")
        samples = _stack([_counts(block[c], where(c), scale) for c in channels or []], len(block))
        labels = _labels_text(block[label]) if label else None
        stamps = block[timestamp].astype(np.float64) if timestamp else None
        return Chunk(samples, labels, stamps, row)
    if block.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (samples, channels), got {block.ndim}-D")
    if label or timestamp:
        raise ValueError(
            f"{name}: a plain array has no named label/timestamp columns; use an NPZ or a structured array"
        )
    cols = list(range(block.shape[1])) if channels is None else [int(c) for c in channels]
    if any(not 0 <= c < block.shape[1] for c in cols):
        raise ValueError(f"{name}: channel indices {cols} out of range for {block.shape[1]} columns")
    return Chunk(_stack([_counts(block[:, c], where(c), scale) for c in cols], len(block)), None, None, row)


def read_npz(
    path: str | os.PathLike,
    channels: Sequence[str],
    label: str | None = None,
    timestamp: str | None = None,
    *,
    chunk_rows: int = 65536,
    scale: float | None = None,
    skip_rows: int = 0,
) -> Iterator[Chunk]:
    """Stream an .npz whose members are 1-D arrays of equal length: one per channel, and optionally the
    labels and the timestamps; members are decompressed as they are read."""
    chunk_rows = _check_chunk_rows(chunk_rows)
    name = str(path)
    with zipfile.ZipFile(path) as zf:
        members = {m[:-4]: m for m in zf.namelist() if m.endswith(".npy")}
        wanted = list(channels) + [c for c in (label, timestamp) if c]
        for w in wanted:
            if w not in members:
                raise ValueError(f"{name}: no array {w!r} (arrays: {', '.join(sorted(members))})")
        handles = [zf.open(members[w]) for w in wanted]
        try:
            streams = [_npy_blocks(h, f"{name}[{w}]", chunk_rows) for h, w in zip(handles, wanted)]
            row = 0
            while True:
                got = [next(s, None) for s in streams]
                if all(b is None for b in got):
                    return
                blocks = [b for b in got if b is not None]
                if len(blocks) != len(got) or any(b.ndim != 1 or len(b) != len(blocks[0]) for b in blocks):
                    raise ValueError(f"{name}: arrays {', '.join(wanted)} must be 1-D and of equal length")
                chunk = _npz_chunk(blocks, name, list(channels), label, timestamp, scale, row)
                row += len(chunk)
                if row <= skip_rows:
                    continue
                yield _drop(chunk, skip_rows - chunk.first_row) if chunk.first_row < skip_rows else chunk
        finally:
            for h in handles:
                h.close()


def _where(name: str, lines: list[int], column: str) -> Callable[[int], str]:
    """Error location of row ``j`` of a CSV column (the file's line number)."""
    return lambda j: f"{name} line {lines[j]}, column {column.strip()!r}"


def _at(name: str, row: int, array: str) -> Callable[[int], str]:
    """Error location of row ``j`` of an NPZ array, counted from ``row``."""
    return lambda j: f"{name} row {row + j}, array {array!r}"


def _npz_chunk(
    blocks: list,
    name: str,
    channels: list[str],
    label: str | None,
    timestamp: str | None,
    scale: float | None,
    row: int,
) -> Chunk:
    c = len(channels)
    samples = _stack([_counts(b, _at(name, row, w), scale) for b, w in zip(blocks[:c], channels)], len(blocks[0]))
    rest = blocks[c:]
    labels = _labels_text(rest.pop(0)) if label else None
    stamps = rest.pop(0).astype(np.float64) if timestamp else None
    return Chunk(samples, labels, stamps, row)


def read_recording(
    path: str | os.PathLike | IO[str],
    channels: Sequence[str],
    label: str | None = None,
    timestamp: str | None = None,
    **kw: Any,
) -> Iterator[Chunk]:
    """Pick the reader by file name: ``.npy``, ``.npz``, otherwise CSV (``"-"`` or a stream: CSV lines)."""
    if hasattr(path, "read"):
        return read_csv(path, channels, label, timestamp, **kw)  # type: ignore[arg-type]
    suffix = os.fspath(path).lower().rsplit(".", 1)[-1]
    if suffix == "npy":
        chans: list[str | int] = [int(c) if str(c).isdigit() else c for c in channels] if channels else []
        return read_npy(path, chans or None, label, timestamp, **kw)
    if suffix == "npz":
        return read_npz(path, channels, label, timestamp, **kw)
    return read_csv(path, channels, label, timestamp, **kw)
