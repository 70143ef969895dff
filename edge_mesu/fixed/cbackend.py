"""Host backend: the generated C library of a fixed-point learner, compiled once, called through ctypes.

:func:`build_library` compiles the sources of :func:`edge_mesu.fixed.cgen.generate_c` into a shared
library cached under ``$EDGE_MESU_CACHE`` (default ``~/.cache/edge-mesu``), keyed by a hash of the sources,
the compiler and the flags; a second build of the same network is a file lookup. The host library is built
with ``-march=native`` where the compiler accepts it (with AVX2 the per-parameter loops of the generated C
take their vector form, ``csrc/template_core.c``), else with :data:`HOST_FLAGS` alone: the same integers.
:class:`CKernels` runs learn_one / predict on a learner's own μ and σ-code arrays in place (zero copy), so the
Python learner and the C library share one state. The integer results are those of the numpy path, bit for bit.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .cgen import COUNTER_NAMES, CSource, generate_c, host_glue

__all__ = [
    "CState",
    "CompilerNotFoundError",
    "HOST_FLAGS",
    "NATIVE_FLAGS",
    "STRICT_FLAGS",
    "CKernels",
    "build_library",
    "cache_dir",
    "find_compiler",
    "load_c_kernels",
]

log = logging.getLogger(__name__)

STRICT_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-O2")  # what the tests compile with
HOST_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-O3")  # the host backend (same source, faster)
# added to HOST_FLAGS when the compiler takes them (the portable build otherwise); on x86, 512-bit vectors where the
# core has AVX-512 (gcc's default there is 256; the host loops then take 16 lanes, csrc/template_core.c)
NATIVE_FLAGS: tuple[str, ...] = (
    ("-march=native", "-mprefer-vector-width=512")
    if platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
    else ("-march=native",)
)
_LIB_NAME = "emsu_host"


class CompilerNotFoundError(RuntimeError):
    """No C compiler (``$CC``, ``cc``, ``gcc`` or ``clang``) was found."""


def find_compiler() -> str | None:
    """The C compiler to use: ``$CC`` if set, else the first of ``cc``, ``gcc``, ``clang`` on ``PATH``."""
    env = os.environ.get("CC")
    if env:
        return shutil.which(env) or env
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return path
    return None


def cache_dir() -> Path:
    """``$EDGE_MESU_CACHE`` or ``~/.cache/edge-mesu`` (created on first use)."""
    return Path(os.environ.get("EDGE_MESU_CACHE") or Path.home() / ".cache" / "edge-mesu")


def _compiler_id(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=60, check=False)
        return out.stdout.splitlines()[0] if out.stdout else cc
    except (OSError, subprocess.SubprocessError):
        return cc


@functools.lru_cache(maxsize=8)
def _native_id(cc: str) -> str:
    """What ``-march=native`` means to ``cc`` on this machine (its expanded target options), so a cached
    native build is never reused on another CPU."""
    try:
        out = subprocess.run(
            [cc, *NATIVE_FLAGS, "-###", "-E", "-x", "c", os.devnull],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return out.stderr
    except (OSError, subprocess.SubprocessError):
        return ""


def build_library(src: CSource, flags: tuple[str, ...] = HOST_FLAGS, compiler: str | None = None) -> Path:
    """Compile ``src`` to a shared library (cached by a hash of sources, compiler and flags); its path.

    Raises :class:`CompilerNotFoundError` without a compiler and ``RuntimeError`` with the compiler's
    message when compilation fails.
    """
    cc = compiler or find_compiler()
    if cc is None:
        raise CompilerNotFoundError("no C compiler found (set $CC, or install gcc / clang)")
    h = hashlib.sha256()
    native = _native_id(cc) if any(f in NATIVE_FLAGS for f in flags) else ""
    for key in (_compiler_id(cc), platform.machine(), " ".join(flags), native, *sorted(src.files)):
        h.update(key.encode() + b"\0")
    for name in sorted(src.files):
        h.update(src.files[name].encode() + b"\0")
    target = cache_dir() / h.hexdigest()[:24] / f"lib{src.name}.so"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        for name, text in src.files.items():
            Path(tmp, name).write_text(text, encoding="utf-8")
        out = Path(tmp, target.name)
        units = [str(Path(tmp, n)) for n in sorted(src.files) if n.endswith(".c")]
        cmd = [cc, *flags, "-fPIC", "-shared", "-o", str(out), *units, "-lm"]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise RuntimeError(f"C compilation failed ({' '.join(cmd)}):\n{res.stderr[-4000:]}")
        os.replace(out, target)  # atomic: concurrent builders of the same key write identical files
    log.info("built %s", target)
    return target


class CState(ctypes.Structure):
    """The ctypes twin of the generated ``NAME_state_t`` (μ and σ-code pointers, seed, step, the counters):
    the one declaration the backend and the tests share."""

    _fields_ = [
        ("mu", ctypes.POINTER(ctypes.c_int16)),
        ("code", ctypes.POINTER(ctypes.c_uint8)),
        ("seed", ctypes.c_uint64),
        ("step", ctypes.c_uint64),
        ("counters", ctypes.c_uint32 * len(COUNTER_NAMES)),
    ]


def _bind(lib: ctypes.CDLL, name: str) -> dict[str, Any]:
    p = ctypes.c_void_p
    fns = {
        "predict": (ctypes.c_int, [p, p, p, p]),
        "learn_one": (ctypes.c_int, [p, p, p, ctypes.c_int32]),
        "learn_many": (ctypes.c_int, [p, p, p, p, ctypes.c_uint32]),
        "state_save": (ctypes.c_size_t, [p, p, ctypes.c_size_t]),
        "state_load": (ctypes.c_int, [p, p, ctypes.c_size_t]),
        "uncertainty": (ctypes.c_int, [p, p, p, ctypes.c_uint32, p, p]),
        "weight_sample": (None, [p, ctypes.c_uint32, p]),
        "quantize": (ctypes.c_uint32, [p, ctypes.c_uint32, p]),
        "predict_float": (ctypes.c_int, [p, p, p, p, p]),
        "predict_rows": (None, [p, p, p, ctypes.c_uint32, p]),
        "learn_float": (ctypes.c_int, [p, p, p, p, p, ctypes.c_uint32, p]),
    }
    out = {}
    for short, (restype, argtypes) in fns.items():
        fn = getattr(lib, f"{name}_{short}")
        fn.restype, fn.argtypes = restype, argtypes
        out[short] = fn
    return out


class CKernels:
    """The compiled C library of one network configuration, bound to a learner's state arrays.

    Parameters
    ----------
    learner : a :class:`~edge_mesu.fixed.FixedMESULearner` (its configuration selects the library).
    flags : compiler flags (default: :data:`HOST_FLAGS` + :data:`NATIVE_FLAGS`, or :data:`HOST_FLAGS` alone
        when the compiler refuses ``-march=native``).
    """

    def __init__(self, learner: Any, flags: tuple[str, ...] | None = None) -> None:
        src = generate_c(learner, name=_LIB_NAME, with_state=False, host_vector=True)
        glue_name, glue = host_glue(_LIB_NAME)
        src = CSource(src.name, {**src.files, glue_name: glue}, src.macros)
        self.flags = flags if flags is not None else HOST_FLAGS + NATIVE_FLAGS
        try:
            self.path = build_library(src, self.flags)
        except RuntimeError as exc:
            if flags is not None:
                raise
            # e.g. a compiler without -march=native: the portable build
            log.warning(
                "host build without %s, the portable loops run instead (%s)",
                " ".join(NATIVE_FLAGS),
                str(exc).splitlines()[0],
            )
            self.flags = HOST_FLAGS
            self.path = build_library(src, self.flags)
        self._lib = ctypes.CDLL(str(self.path))
        self._fn = _bind(self._lib, _LIB_NAME)
        self.macros = src.macros
        self.n_in, self.n_out = learner.layers[0], learner.layers[-1]
        self._arena = ctypes.create_string_buffer(src.macros[f"{_LIB_NAME.upper()}_ARENA_BYTES"])
        self._state = CState()
        self._counters = np.frombuffer(self._state.counters, dtype=np.uint32)
        self._bound: tuple[int, int] = (0, 0)
        self._xq = np.zeros(self.n_in, dtype=np.int8)  # predict_float's and learn_float_one's quantised row
        self._y1 = np.zeros(1, dtype=np.int32)  # learn_float_one's label
        self._sat = ctypes.c_uint32(0)

    def _bind_state(self, mu: np.ndarray, code: np.ndarray, seed: int, step: int) -> None:
        if not (
            mu.flags.c_contiguous
            and mu.flags.writeable
            and mu.dtype == np.int16
            and code.flags.c_contiguous
            and code.flags.writeable
            and code.dtype == np.uint8
        ):
            raise ValueError("state arrays must be writeable, C-contiguous int16 / uint8")
        key = (mu.ctypes.data, code.ctypes.data)
        if key != self._bound:
            self._state.mu = mu.ctypes.data_as(ctypes.POINTER(ctypes.c_int16))
            self._state.code = code.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
            self._bound = key
        self._state.seed = seed & (2**64 - 1)
        self._state.step = step & (2**64 - 1)
        self._counters[:] = 0

    def learn(
        self, mu: np.ndarray, code: np.ndarray, seed: int, step: int, x_q: np.ndarray, y: np.ndarray
    ) -> dict[str, int]:
        """Learn the rows of ``x_q`` (int8 values) in order, updating ``mu``/``code`` in place.

        Returns the saturation events of these updates by counter name (zero counts left out).
        """
        x = np.ascontiguousarray(x_q, dtype=np.int8)
        labels = np.ascontiguousarray(y, dtype=np.int32)
        if x.ndim != 2 or x.shape[1] != self.n_in or labels.shape != (x.shape[0],):
            raise ValueError(f"x_q must be (n, {self.n_in}) with n labels, got {x.shape} / {labels.shape}")
        self._bind_state(mu, code, seed, step)
        rc = self._fn["learn_many"](
            ctypes.addressof(self._state), ctypes.addressof(self._arena), x.ctypes.data, labels.ctypes.data, x.shape[0]
        )
        if rc != 0:
            raise ValueError(f"labels must be in [0, {self.n_out}), got {labels.min()}..{labels.max()}")
        return {n: int(v) for n, v in zip(COUNTER_NAMES, self._counters) if v}

    def quantize(self, X: np.ndarray) -> tuple[np.ndarray, int]:
        """Float rows (float64, finite: the caller checked) in the int8 input format, and how many saturated;
        the integers of ``QFormat.quantize`` (ties to even)."""
        x = np.ascontiguousarray(X, dtype=np.float64)
        q = np.empty(x.shape, dtype=np.int8)
        sat = self._fn["quantize"](x.ctypes.data, x.size, q.ctypes.data)
        return q, int(sat)

    def predict_float(self, mu: np.ndarray, x: np.ndarray) -> int:
        """The mean network's most probable class (first on ties) of one finite float64 row, in one call."""
        xd = np.ascontiguousarray(x, dtype=np.float64)
        if xd.size != self.n_in:
            raise ValueError(f"x must hold {self.n_in} values, got {xd.size}")
        return int(
            self._fn["predict_float"](
                mu.ctypes.data, ctypes.addressof(self._arena), xd.ctypes.data, self._xq.ctypes.data, None
            )
        )

    def learn_float(
        self, mu: np.ndarray, code: np.ndarray, seed: int, step: int, X: np.ndarray, y: np.ndarray
    ) -> tuple[dict[str, int], int]:
        """:meth:`learn` of finite float64 rows, quantised in the same call: (saturation events by counter name,
        saturated input values)."""
        x = np.ascontiguousarray(X, dtype=np.float64)
        labels = np.ascontiguousarray(y, dtype=np.int32)
        if x.ndim != 2 or x.shape[1] != self.n_in or labels.shape != (x.shape[0],):
            raise ValueError(f"X must be (n, {self.n_in}) with n labels, got {x.shape} / {labels.shape}")
        self._bind_state(mu, code, seed, step)
        return self._learn_float_rows(x, np.empty(x.shape, dtype=np.int8), labels)

    def learn_float_one(
        self, mu: np.ndarray, code: np.ndarray, seed: int, step: int, x: np.ndarray, y: int
    ) -> tuple[dict[str, int], int]:
        """:meth:`learn_float` of one C-contiguous finite float64 row and a label in range (the caller checked
        both), through preallocated buffers: (saturation events by counter name, saturated input values)."""
        self._bind_state(mu, code, seed, step)
        self._y1[0] = y
        return self._learn_float_rows(x, self._xq, self._y1)

    def _learn_float_rows(self, x: np.ndarray, xq: np.ndarray, labels: np.ndarray) -> tuple[dict[str, int], int]:
        """The C ``learn_float`` of the bound state on contiguous float64 rows ``x`` (quantised into ``xq``) and
        int32 ``labels``: (saturation events by counter name, saturated input values)."""
        self._sat.value = 0
        rc = self._fn["learn_float"](
            ctypes.addressof(self._state),
            ctypes.addressof(self._arena),
            x.ctypes.data,
            xq.ctypes.data,
            labels.ctypes.data,
            labels.shape[0],
            ctypes.addressof(self._sat),
        )
        if rc != 0:
            raise ValueError(f"labels must be in [0, {self.n_out}), got {labels.min()}..{labels.max()}")
        events = {n: int(v) for n, v in zip(COUNTER_NAMES, self._counters) if v} if self._counters.any() else {}
        return events, int(self._sat.value)

    def predict_q15(self, mu: np.ndarray, x_q: np.ndarray) -> np.ndarray:
        """Q15 probabilities (int32, (n, classes)) of the mean network for int8 rows ``x_q``."""
        x = np.ascontiguousarray(x_q, dtype=np.int8)
        m = np.ascontiguousarray(mu, dtype=np.int16)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"x_q must be (n, {self.n_in}), got {x.shape}")
        out = np.zeros((x.shape[0], self.n_out), dtype=np.int32)
        self._fn["predict_rows"](
            m.ctypes.data, ctypes.addressof(self._arena), x.ctypes.data, x.shape[0], out.ctypes.data
        )
        return out

    def sampled_q15(
        self, mu: np.ndarray, code: np.ndarray, seed: int, step: int, x_q: np.ndarray, samples: int
    ) -> np.ndarray:
        """Q15 probabilities (int64, (samples, n, classes)) of prediction weight samples 0..samples-1 (streams
        ``PREDICT_STREAM + s``) for int8 rows ``x_q``: each sample drawn once in C and run on every row, the
        integers of :func:`edge_mesu.fixed.step.sampled_proba_q15`; nothing changes."""
        x = np.ascontiguousarray(x_q, dtype=np.int8)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"x_q must be (n, {self.n_in}), got {x.shape}")
        self._bind_state(mu, code, seed, step)
        w = np.empty(mu.size, dtype=np.int16)
        out = np.zeros((samples, x.shape[0], self.n_out), dtype=np.int32)
        for s in range(samples):
            self._fn["weight_sample"](ctypes.addressof(self._state), s, w.ctypes.data)
            self._fn["predict_rows"](
                w.ctypes.data, ctypes.addressof(self._arena), x.ctypes.data, x.shape[0], out[s].ctypes.data
            )
        return out.astype(np.int64)

    def uncertainty(
        self, mu: np.ndarray, code: np.ndarray, seed: int, step: int, x_q: np.ndarray, samples: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The C's ``uncertainty`` of int8 rows ``x_q`` over ``samples`` weight samples: mean Q15 probabilities
        (int64, (n, classes)) and (predictive, aleatoric, mi) in Q16 bits (int64, (n, 3)); nothing changes."""
        x = np.ascontiguousarray(x_q, dtype=np.int8)
        self._bind_state(mu, code, seed, step)
        mean = np.zeros((x.shape[0], self.n_out), dtype=np.int32)
        ent = np.zeros((x.shape[0], 3), dtype=np.int32)
        for k in range(x.shape[0]):
            rc = self._fn["uncertainty"](
                ctypes.addressof(self._state),
                ctypes.addressof(self._arena),
                x[k].ctypes.data,
                samples,
                mean[k].ctypes.data,
                ent[k].ctypes.data,
            )
            if rc < 0:
                raise ValueError(f"samples must be in [2, the C's maximum], got {samples}")
        return mean.astype(np.int64), ent.astype(np.int64)

    def state_blob(self, mu: np.ndarray, code: np.ndarray, seed: int, step: int, counters: dict[str, int]) -> bytes:
        """The raw state blob (``NAME_STATE_BYTES``) as the C ``state_save`` writes it."""
        self._bind_state(mu, code, seed, step)
        self._counters[:] = [min(counters.get(n, 0), 2**32 - 1) for n in COUNTER_NAMES]
        size = self.macros[f"{_LIB_NAME.upper()}_STATE_BYTES"]
        buf = ctypes.create_string_buffer(size)
        n = self._fn["state_save"](ctypes.addressof(self._state), ctypes.addressof(buf), size)
        return buf.raw[:n]


def load_c_kernels(learner: Any) -> CKernels | None:
    """:class:`CKernels` for ``learner``, or ``None`` (with a logged warning) when no C compiler exists.

    Raises ``ValueError`` for a configuration the C port does not support (see
    :func:`edge_mesu.fixed.cgen.generate_c`).
    """
    if find_compiler() is None:
        log.warning(
            "backend='c' requested but no C compiler was found ($CC, cc, gcc, clang); "
            "FixedMESULearner falls back to the numpy backend"
        )
        return None
    try:
        return CKernels(learner)
    except (OSError, RuntimeError) as exc:  # unwritable cache, broken toolchain: numpy still works
        log.warning("backend='c': building the C library failed (%s); falling back to numpy", exc)
        return None
