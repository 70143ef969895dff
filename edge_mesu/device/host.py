"""Compile generated device C for the host (tests, ctypes twins): find a compiler, build a shared library.

The device sources are C99 with no dependencies, so a host build is one compiler call; the flags are
the strict ones every test uses (``-std=c99 -Wall -Wextra -Werror``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["STRICT_FLAGS", "CompileError", "compile_shared", "find_compiler", "write_sources"]

STRICT_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-O2")


class CompileError(RuntimeError):
    """The compiler refused the sources (the message carries its output)."""


def find_compiler() -> str | None:
    """``$CC`` if set, else the first of ``cc``, ``gcc``, ``clang`` on ``PATH``; ``None`` without one."""
    env = os.environ.get("CC")
    if env:
        return shutil.which(env) or env
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return path
    return None


def write_sources(files: Mapping[str, str], folder: str | os.PathLike) -> Path:
    """Write ``name → text`` into ``folder`` (created); returns the folder."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return out


def compile_shared(
    files: Mapping[str, str],
    folder: str | os.PathLike,
    lib_name: str = "device",
    flags: Sequence[str] = STRICT_FLAGS,
    compiler: str | None = None,
) -> Path:
    """Write ``files`` into ``folder`` and compile every ``.c`` among them into ``lib<lib_name>.so``.

    Raises :class:`CompileError` (compiler output in the message) or ``RuntimeError`` without a compiler.
    """
    cc = compiler or find_compiler()
    if cc is None:
        raise RuntimeError("no C compiler found (set $CC, or install cc, gcc or clang)")
    out = write_sources(files, folder)
    lib = out / f"lib{lib_name}.so"
    sources = [str(out / n) for n in sorted(files) if n.endswith(".c")]
    res = subprocess.run(
        [cc, *flags, "-fPIC", "-shared", "-o", str(lib), *sources], capture_output=True, text=True, check=False
    )
    if res.returncode != 0:
        raise CompileError(f"{cc} failed:\n{res.stderr[-4000:]}")
    return lib
