"""Results files: one row per run, keyed by ``run_id``; CSV always, Parquet when pyarrow is importable.

CSV rows are appended one at a time, flushed and fsync'ed, so a killed sweep loses only the runs in flight;
a torn last line (killed mid-write) is dropped when the file is reopened. Parquet cannot be appended to, so
each new row rewrites the file atomically (temporary file + rename). At the end the file is rewritten in the
spec's order, so the same spec gives the same file whatever order runs completed in.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from edge_mesu.statefile import atomic_write_bytes

__all__ = ["ResultsStore", "read_rows", "check_output"]


def check_output(path: str | os.PathLike) -> str:
    """The format of an output path (``csv`` or ``parquet``); refuse others, and Parquet without pyarrow."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError(
                f"{path}: writing Parquet needs pyarrow (pip install pyarrow); or use a .csv output"
            ) from None
        return "parquet"
    raise ValueError(f"{path}: output must end in .csv or .parquet, got {suffix or 'no suffix'!r}")


def _decode(value: str) -> Any:
    """CSV cell → Python value (cells were written as JSON scalars)."""
    if value == "":
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _encode(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def read_rows(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a results file (an absent file has none); a torn last CSV line is ignored."""
    p = Path(path)
    if not p.exists():
        return []
    if check_output(p) == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(p).to_pylist()
    text = p.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # killed mid-line
    reader = csv.DictReader(io.StringIO(text))
    return [{k: _decode(v) for k, v in row.items()} for row in reader]


class ResultsStore:
    """Append-as-you-go results file; ``done`` holds the run ids already recorded."""

    def __init__(self, path: str | os.PathLike, columns: list[str]) -> None:
        self.path = Path(path)
        self.format = check_output(self.path)
        self.rows = read_rows(self.path)
        self.columns = list(self.rows[0].keys()) if self.rows else list(columns)
        missing = [c for c in columns if c not in self.columns]
        if self.rows and missing:
            raise ValueError(
                f"{self.path}: existing results lack column(s) {', '.join(missing)}: "
                f"written by another sweep? use a new output file"
            )
        self.done = {r["run_id"] for r in self.rows}
        if self.format == "csv":
            self._rewrite()  # drops a torn last line; writes the header of a new file

    def _csv_bytes(self, rows: list[dict[str, Any]]) -> bytes:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns)
        for r in rows:
            w.writerow([_encode(r.get(c)) for c in self.columns])
        return buf.getvalue().encode("utf-8")

    def _rewrite(self) -> None:
        if self.format == "csv":
            atomic_write_bytes(self.path, self._csv_bytes(self.rows))
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist([{c: r.get(c) for c in self.columns} for r in self.rows])
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, self.path)

    def append(self, row: dict[str, Any]) -> None:
        """Record one finished run durably before returning (kept as it reads back from the file)."""
        row = {c: _decode(_encode(row.get(c))) for c in self.columns}
        self.rows.append(row)
        self.done.add(row["run_id"])
        if self.format != "csv":
            self._rewrite()
            return
        line = self._csv_bytes([row]).split(b"\n", 1)[1]
        with open(self.path, "ab") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def finalize(self, order: list[str]) -> None:
        """Rewrite the file with rows in ``order`` (run ids; others after, in file order)."""
        rank = {rid: i for i, rid in enumerate(order)}
        self.rows.sort(key=lambda r: rank.get(r["run_id"], len(rank)))
        self._rewrite()
