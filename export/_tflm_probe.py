"""Child-process probes of TensorFlow Lite Micro: run a model once in a given arena, report as JSON.

Run as a script by :mod:`export.tflm_arena` (never imported by it)::

    python _tflm_probe.py MODEL ARENA [--allocations]   # one probe in this process
    python _tflm_probe.py MODEL --serve                  # one forked child per arena size read on stdin

A probe builds the TFLM interpreter with an arena of ``ARENA`` bytes, invokes it once on a zero input and
reports one JSON line: ``{"arena": n, "ok": true, "outputs": [probs, logits], "allocations": "..."}``
(``allocations`` on request: the text ``print_allocations()`` wrote to file descriptor 2, captured with
``os.dup2``), else ``{"arena": n, "ok": false, "error": "..."}``.

An arena far too small crashes TFLM's allocator (segmentation fault), so every probe runs in its own
process. ``--serve`` imports tflite-micro once, then forks one short-lived child per probe (POSIX only):
a crash kills that child alone and is reported as ``{"ok": false, "error": "killed by signal 11"}``;
probes then cost milliseconds instead of an interpreter start-up each. Only the standard library, numpy
and tflite-micro are imported.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

FAILED = 3


def capture_fd2(func: Any) -> str:
    """Call ``func()`` with file descriptor 2 redirected to a temporary file; return what was written.

    C++ code writes straight to fd 2, so ``sys.stderr`` redirection would miss it.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            func()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode("utf-8", errors="replace")


def probe(data: bytes, arena_size: int, allocations: bool = False) -> dict[str, Any]:
    """Build and invoke once in an ``arena_size``-byte arena; the outcome as a JSON-ready dict."""
    import numpy as np
    from tflite_micro.python.tflite_micro import runtime

    try:
        interp = runtime.Interpreter.from_bytes(data, arena_size=arena_size)
        details = interp.get_input_details(0)
        interp.set_input(np.zeros(tuple(details["shape"]), dtype=details["dtype"]), 0)
        interp.invoke()
        outputs = [interp.get_output(k).tolist() for k in range(2)]
    except (RuntimeError, ValueError) as exc:
        return {"arena": arena_size, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    out: dict[str, Any] = {"arena": arena_size, "ok": True, "outputs": outputs}
    if allocations:
        out["allocations"] = capture_fd2(interp.print_allocations)
    return out


def _forked_probe(data: bytes, arena_size: int, allocations: bool) -> dict[str, Any]:
    """:func:`probe` in a forked child (its fd 2 silenced); a crash becomes ``ok: false``."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        os.close(read_end)
        code = FAILED
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)  # TFLM reports allocation failures on fd 2: keep the parent's stderr clean
            result = probe(data, arena_size, allocations)
            os.write(write_end, json.dumps(result).encode("utf-8"))
            code = 0 if result["ok"] else FAILED
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return {"arena": arena_size, "ok": False, "error": f"killed by signal {os.WTERMSIG(status)}"}
    try:
        return json.loads(b"".join(chunks).decode("utf-8"))
    except ValueError:
        return {"arena": arena_size, "ok": False, "error": f"no result (exit status {status})"}


def serve(data: bytes) -> int:
    """Read ``ARENA [allocations]`` lines on stdin; answer each with one JSON line from a forked child."""
    from tflite_micro.python.tflite_micro import runtime  # noqa: F401  (imported once, before forking)

    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        result = _forked_probe(data, int(parts[0]), len(parts) > 1)
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[1] == "--serve":
        with open(argv[0], "rb") as fh:
            return serve(fh.read())
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] != "--allocations"):
        sys.stderr.write("usage: _tflm_probe.py MODEL (ARENA_BYTES [--allocations] | --serve)\n")
        return 2
    with open(argv[0], "rb") as fh:
        result = probe(fh.read(), int(argv[1]), len(argv) == 3)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0 if result["ok"] else FAILED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
