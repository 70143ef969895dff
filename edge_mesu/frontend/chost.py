"""The generated C front end on the host, behind ctypes: the device's integers, driven from Python.

:class:`CFrontEnd` compiles :func:`~edge_mesu.frontend.cgen.generate_frontend_c` for one spec (host
compiler, ``-std=c99 -Wall -Wextra -Werror``) and exposes the verbs of :class:`FrontEnd` — ``push`` (with
``max_windows``), ``freeze``, state save / load as the C blob — so tests and tools can compare the C
with Python sample by sample. It needs a C compiler (:func:`edge_mesu.device.host.find_compiler`).

Example (skipped without a compiler)
-------
>>> import numpy as np
>>> from edge_mesu.frontend import FrontEnd, FrontEndSpec
>>> spec = FrontEndSpec(channels=3, window=32, hop=16)
>>> x = (1000 + 200 * np.random.default_rng(0).standard_normal((300, 3))).astype(np.int16)
>>> c = CFrontEnd(spec)                                                     # doctest: +SKIP
>>> np.array_equal(c.push(x).values, FrontEnd(spec).push(x).values)        # doctest: +SKIP
True
"""

from __future__ import annotations

import ctypes
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..device.host import STRICT_FLAGS, compile_shared
from .cgen import generate_frontend_c
from .frontend import FrontEndOutput
from .spec import FrontEndSpec

__all__ = ["CFrontEnd"]

_SHIM = """#include "{name}.h"
size_t {name}_shim_state_size(void) {{ return sizeof({name}_state_t); }}
"""


class CFrontEnd:
    """The C front end of ``spec`` compiled for the host (a fresh state; see the module docstring).

    ``defines`` are preprocessor symbols without ``-D`` (e.g. ``"CFE_PORTABLE_SHIFTS"``).
    """

    def __init__(
        self,
        spec: FrontEndSpec,
        n_classes: int | None = None,
        workdir: str | Path | None = None,
        name: str = "cfe",
        defines: tuple[str, ...] = (),
    ) -> None:
        self.spec, self.n_classes = spec, n_classes
        src = generate_frontend_c(spec, name=name, n_classes=n_classes)
        self.name, self.macros = src.name, src.macros
        files = {**src.files, f"{src.name}_shim.c": _SHIM.format(name=src.name)}
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="edge_mesu_cfe_")
            workdir = self._tmp.name
        flags = (*STRICT_FLAGS, *(f"-D{d}" for d in defines))
        self.lib = ctypes.CDLL(str(compile_shared(files, workdir, lib_name=src.name, flags=flags)))
        size = self._fn("shim_state_size", ctypes.c_size_t)()
        self._state = ctypes.create_string_buffer(size)
        self.state_bytes = int(self.macros[f"{src.name.upper()}_STATE_BYTES"])
        self._fn("reset", None)(self._state)

    def _fn(self, short: str, restype: Any) -> Any:
        f = getattr(self.lib, f"{self.name}_{short}")
        f.restype = restype
        return f

    @property
    def n_outputs(self) -> int:
        return self.spec.n_outputs

    def reset(self) -> None:
        self._fn("reset", None)(self._state)

    def freeze(self, frozen: bool = True) -> None:
        self._fn("freeze", None)(self._state, ctypes.c_int(int(bool(frozen))))

    def push(self, samples: object, labels: object = None, max_windows: int | None = None) -> FrontEndOutput:
        """``FrontEnd.push`` in C: samples ``(n, channels)`` int16, labels ``(n,)`` (−1 = none) or None."""
        x = np.ascontiguousarray(np.asarray(samples).reshape(-1, self.spec.channels), dtype=np.int16)
        n = x.shape[0]
        lab = None if labels is None else np.ascontiguousarray(labels, dtype=np.int32)
        # at most one window ends per decimated sample, and n raw samples complete at most n // decimate + 1
        cap = n // self.spec.decimate + 1
        limit = 2**32 - 1 if max_windows is None else min(max_windows, cap)
        out = np.zeros((cap, self.n_outputs), dtype=np.int8)
        wl = np.zeros(cap, dtype=np.int32)
        ends = np.zeros(cap, dtype=np.uint64)
        consumed = ctypes.c_uint32(0)
        ptr = ctypes.c_void_p
        w = self._fn("push_block", ctypes.c_uint32)(
            self._state,
            x.ctypes.data_as(ptr),
            None if lab is None else lab.ctypes.data_as(ptr),
            ctypes.c_uint32(n),
            out.ctypes.data_as(ptr),
            wl.ctypes.data_as(ptr),
            ends.ctypes.data_as(ptr),
            ctypes.c_uint32(limit),
            ctypes.byref(consumed),
        )
        return FrontEndOutput(
            values=out[:w], labels=wl[:w].astype(np.int64), end=ends[:w].astype(np.int64), consumed=consumed.value
        )

    def push_one(self, sample: object, label: int = -1) -> tuple[np.ndarray, int] | None:
        """One raw sample through ``name_push``: ``(outputs, window label)`` when it ends a window."""
        x = np.ascontiguousarray(sample, dtype=np.int16).reshape(self.spec.channels)
        out = np.zeros(self.n_outputs, dtype=np.int8)
        wl = ctypes.c_int32(-1)
        ptr = ctypes.c_void_p
        done = self._fn("push", ctypes.c_int)(
            self._state, x.ctypes.data_as(ptr), ctypes.c_int32(label), out.ctypes.data_as(ptr), ctypes.byref(wl)
        )
        return (out, wl.value) if done else None

    def save(self) -> bytes:
        """The state blob (``name_state_save``)."""
        buf = ctypes.create_string_buffer(self.state_bytes)
        n = self._fn("state_save", ctypes.c_size_t)(self._state, buf, ctypes.c_size_t(self.state_bytes))
        if n != self.state_bytes:
            raise RuntimeError(f"state_save wrote {n} bytes, expected {self.state_bytes}")
        return buf.raw

    def load(self, blob: bytes) -> int:
        """``name_state_load``: 0, or the C's negative error code (state untouched)."""
        return int(self._fn("state_load", ctypes.c_int)(self._state, blob, ctypes.c_size_t(len(blob))))
