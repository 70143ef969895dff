"""TensorFlow Lite Micro's arena for an artefact: measured in child processes, kept in the file's metadata.

- :func:`measure_arena` — what TFLM's ``RecordingMicroAllocator`` reports (``print_allocations()``:
  total = head + tail, bytes per category) and the smallest arena in which the model builds, runs and
  answers as with a generous one (search to the byte). Every probe runs in its own process: an arena far
  too small crashes TFLM's allocator with a segmentation fault (measured: arenas up to ~450 bytes).
- :func:`write_arena_metadata` / :func:`read_arena` — the measurement as JSON in the artefact's
  ``Model.metadata`` entry :data:`ARENA_METADATA` (runtimes ignore metadata; ``firmware_sim`` reads it).

Probes are served by ``_tflm_probe.py --serve``: one child process imports tflite-micro once and forks a
grandchild per probe (POSIX); where ``os.fork`` does not exist each probe is a fresh interpreter process.
The measurement is of the host build (x86-64, 8-byte pointers): TFLM's bookkeeping structs hold pointers,
so on a 32-bit microcontroller the tail is smaller; the head (activations) is the same.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edge_mesu.statefile import atomic_write_bytes

from .tflite_export import read_metadata, with_metadata
from .tflm_run import RUN_ARENA_MIN, tflm_version
from .validate import read_model_bytes, validate_tflite

__all__ = [
    "ARENA_METADATA",
    "RUN_ARENA_MIN",
    "ArenaMeasurement",
    "parse_allocations",
    "measure_arena",
    "smallest_working",
    "write_arena_metadata",
    "read_arena",
]

ARENA_METADATA = "edge_mesu.tflm_arena"
_PROBE = Path(__file__).with_name("_tflm_probe.py")


@dataclass(frozen=True)
class ArenaMeasurement:
    """TFLM's arena for one model, measured on the host build.

    ``total = head + tail`` as TFLM's ``RecordingMicroAllocator`` reports after allocation: head = the
    planned non-persistent buffers (activations), tail = persistent bookkeeping (tensor structs,
    quantisation data, kernel op data, node structs, the allocator itself). ``smallest``: the smallest
    arena (bytes) in which the model builds and runs — it can exceed ``total``, because ``Prepare`` needs
    temporary memory that ``total`` does not show; ``None`` when not searched. ``categories``: bytes per
    recorded category; ``recorded_with``: the arena of the recording run.
    """

    total: int
    head: int
    tail: int
    smallest: int | None
    categories: dict[str, int]
    recorded_with: int
    tflm_version: str

    @property
    def required(self) -> int:
        """The arena to reserve: ``smallest`` when measured, else ``total``."""
        return self.smallest if self.smallest is not None else self.total

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ArenaMeasurement:
        """Inverse of :meth:`to_dict`; ``ValueError`` for anything else."""
        try:
            return cls(
                int(d["total"]),
                int(d["head"]),
                int(d["tail"]),
                None if d.get("smallest") is None else int(d["smallest"]),
                {str(k): int(v) for k, v in dict(d.get("categories", {})).items()},
                int(d.get("recorded_with", 0)),
                str(d.get("tflm_version", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a TFLM arena measurement: {exc!r}") from None

    def format_text(self) -> str:
        smallest = "not measured" if self.smallest is None else f"{self.smallest:,} B"
        return (
            f"TFLM arena {self.total:,} B = head {self.head:,} B (activations) + tail {self.tail:,} B "
            f"(bookkeeping); smallest arena that runs: {smallest} (tflite-micro {self.tflm_version}, "
            "host build)"
        )


_TOTALS = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
_CATEGORY = re.compile(r"'([^']+)' used (\d+) bytes")


def parse_allocations(text: str) -> dict[str, Any]:
    """Parse ``print_allocations()`` output: ``{"total", "head", "tail", "categories": {name: bytes}}``.

    >>> parse_allocations("[RecordingMicroAllocator] Arena allocation total 2864 bytes\\n"
    ...                   "[RecordingMicroAllocator] Arena allocation head 848 bytes\\n"
    ...                   "[RecordingMicroAllocator] Arena allocation tail 2016 bytes\\n"
    ...                   "[RecordingMicroAllocator] 'NodeAndRegistration struct' used 192 bytes with ...")
    {'total': 2864, 'head': 848, 'tail': 2016, 'categories': {'NodeAndRegistration struct': 192}}
    """
    totals = {k: int(v) for k, v in _TOTALS.findall(text)}
    if set(totals) != {"total", "head", "tail"}:
        raise ValueError(f"no arena totals in TFLM's allocation report: {text[:200]!r}")
    return {
        "total": totals["total"],
        "head": totals["head"],
        "tail": totals["tail"],
        "categories": {k: int(v) for k, v in _CATEGORY.findall(text)},
    }


class _Probes:
    """Probe results by arena size, from a ``--serve`` child (POSIX) or one process per probe."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.path, self.timeout = path, timeout
        self.server: subprocess.Popen | None = None
        if hasattr(os, "fork"):
            env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
            self.server = subprocess.Popen(
                [sys.executable, str(_PROBE), str(path), "--serve"],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
            )

    def __enter__(self) -> _Probes:
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the server and any probe it forked (its own process group, so a hung probe goes too)."""
        if self.server is not None:
            try:
                os.killpg(self.server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.server.communicate()

    def run(self, arena: int, allocations: bool = False) -> dict[str, Any]:
        """One probe: ``{"ok": bool, "outputs"?, "allocations"?, "error"?}``."""
        if self.server is None:
            cmd = [sys.executable, str(_PROBE), str(self.path), str(arena)]
            cmd += ["--allocations"] if allocations else []
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"the TFLM probe gave no answer for a {arena}-byte arena") from None
            lines = done.stdout.strip().splitlines()
            return json.loads(lines[-1]) if lines else {"ok": False, "error": f"exit code {done.returncode}"}
        assert self.server.stdin is not None and self.server.stdout is not None
        self.server.stdin.write(f"{arena}{' allocations' if allocations else ''}\n")
        self.server.stdin.flush()
        ready, _, _ = select.select([self.server.stdout], [], [], self.timeout)
        line = self.server.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"the TFLM probe process gave no answer for a {arena}-byte arena")
        return json.loads(line)


def smallest_working(works: Callable[[int], bool], total: int, upper: int) -> int:
    """Smallest ``n <= upper`` with ``works(n)``, searched around ``total`` (``works`` monotone in n).

    >>> smallest_working(lambda n: n >= 2249, total=1952, upper=65536)
    2249
    >>> smallest_working(lambda n: n >= 100, total=2864, upper=65536)
    100
    """
    if works(total):
        hi, lo, n = total, 0, total - 64
        while n > 0 and works(n):
            hi, n = n, n // 2
        lo = max(n, 0)
    else:
        lo, step = total, max(64, total // 8)
        hi = upper
        while lo + step < upper:
            if works(lo + step):
                hi = lo + step
                break
            lo, step = lo + step, 2 * step
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if works(mid) else (mid, hi)
    return hi


def measure_arena(model: str | os.PathLike | bytes, *, search: bool = True, timeout: float = 60.0) -> ArenaMeasurement:
    """Measure the model's TFLM arena in child processes (see :class:`ArenaMeasurement`).

    One probe records the allocations with a generous arena (``print_allocations`` output captured from
    file descriptor 2 with ``os.dup2``); with ``search``, further probes find the smallest arena that
    builds, invokes and answers as the generous run did, to the byte (assuming more arena never fails).
    The model is validated first. Raises :class:`export.RuntimeUnavailableError` without tflite-micro and
    ``RuntimeError`` if TFLM cannot run the model at all.
    """
    data, label = read_model_bytes(model)
    validate_tflite(data, label)
    version = tflm_version()
    generous = max(RUN_ARENA_MIN, 10 * len(data))
    with tempfile.TemporaryDirectory(prefix="edge_mesu_tflm_") as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(data)
        with _Probes(path, timeout) as probes:
            first = probes.run(generous, allocations=True)
            if not first.get("ok"):
                raise RuntimeError(f"TFLM could not run the model with a {generous:,}-byte arena: {first.get('error')}")
            parsed = parse_allocations(str(first.get("allocations", "")))

            def works(n: int) -> bool:
                r = probes.run(n)
                return r.get("ok") is True and r.get("outputs") == first["outputs"]

            smallest = smallest_working(works, parsed["total"], generous) if search else None
    return ArenaMeasurement(
        parsed["total"], parsed["head"], parsed["tail"], smallest, parsed["categories"], generous, version
    )


def write_arena_metadata(path: str | os.PathLike, arena: ArenaMeasurement) -> None:
    """Store ``arena`` as JSON in the artefact's ``Model.metadata`` (:data:`ARENA_METADATA`), atomically."""
    model = validate_tflite(path)
    payload = json.dumps(arena.to_dict(), sort_keys=True).encode("utf-8")
    atomic_write_bytes(path, with_metadata(model, ARENA_METADATA, payload).build())


def read_arena(model: str | os.PathLike | bytes) -> ArenaMeasurement | None:
    """The arena measurement stored in an artefact, or ``None`` if it holds none."""
    raw = read_metadata(model).get(ARENA_METADATA)
    if raw is None:
        return None
    try:
        return ArenaMeasurement.from_dict(json.loads(raw.decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"metadata {ARENA_METADATA!r} is not JSON: {exc}") from None
