"""TensorFlow Lite Micro: run an int8 artefact in the microcontroller runtime itself, and measure its arena.

Install with ``pip install 'edge-mesu[tflm]'`` (pins :data:`TFLM_REQUIREMENT`); without it the functions
here raise :class:`export.RuntimeUnavailableError`, and importing this module still works.

- :func:`run_tflm` — run a ``.tflite`` in TFLM's Python interpreter (host build of the C++ runtime), one
  row per ``invoke`` (TFLM has no dynamic batch). Bit-exact with
  ``run_reference(plan, x_q, *RUNTIME_VARIANTS["tflm"])`` — gemmlowp double rounding, gemmlowp softmax.
- :func:`compare_runtimes` — TFLM against that reference and against each LiteRT op resolver: rows and
  values that differ and the largest difference in LSB, reported whatever they are.
- :func:`measure_arena`, :func:`write_arena_metadata`, :func:`read_arena` (from
  :mod:`export.tflm_arena`) — the arena TFLM reports and the smallest that works, measured in child
  processes, kept in the artefact's metadata.
- :func:`check_tflm` — all of the above for ``edge-mesu export --tflite PATH --check tflm``.
- :func:`arena_summary` — the measured arena beside ``firmware_sim``'s estimate, as text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .runtime import RuntimeUnavailableError
from .tflm_arena import (
    ARENA_METADATA,
    RUN_ARENA_MIN,
    ArenaMeasurement,
    measure_arena,
    read_arena,
    write_arena_metadata,
)
from .validate import read_model_bytes, validate_tflite

__all__ = ["TFLM_REQUIREMENT", "ARENA_METADATA", "ArenaMeasurement", "Disagreement", "RuntimeComparison",
           "TflmCheck", "tflm_runtime", "tflm_version", "run_tflm", "compare_runtimes", "measure_arena",
           "write_arena_metadata", "read_arena", "check_tflm", "arena_summary"]

TFLM_REQUIREMENT = "tflite-micro==0.dev20261023182759"


def tflm_runtime() -> Any:
    """The ``tflite_micro`` runtime module, or one clear :class:`RuntimeUnavailableError`."""
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:
        raise RuntimeUnavailableError(
            "tflite-micro is not installed: pip install 'edge-mesu[tflm]' (or "
            f"{TFLM_REQUIREMENT}) to run .tflite files in TensorFlow Lite Micro") from None
    return runtime


def tflm_version() -> str:
    """Version string of the installed tflite-micro (raises if it is not installed)."""
    tflm_runtime()
    from tflite_micro.python.tflite_micro._version import __version__

    return str(__version__)


def run_tflm(model: str | os.PathLike | bytes, x_q: np.ndarray) -> dict[str, np.ndarray]:
    """Run an int8 artefact in TFLM on a batch ``x_q`` (n, n_in); return ``{output tensor name: array}``.

    The file is checked first (:func:`export.validate_tflite`, ``ValueError`` if malformed); ``x_q`` must
    be int8 of the model's input width. The arena is generous (:data:`RUN_ARENA_MIN` or more).
    """
    data, label = read_model_bytes(model)
    sg = validate_tflite(data, label).subgraphs[0]
    width = sg.tensors[sg.inputs[0]].shape[1]
    x = np.asarray(x_q)
    if x.dtype != np.int8 or x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"input must be int8 of shape (n, {width}), got {x.dtype} {x.shape}")
    interp = tflm_runtime().Interpreter.from_bytes(data, arena_size=max(RUN_ARENA_MIN, 10 * len(data)))
    outs: list[list[np.ndarray]] = [[] for _ in sg.outputs]
    for row in x:
        interp.set_input(np.ascontiguousarray(row[None, :]), 0)
        interp.invoke()
        for k, rows in enumerate(outs):
            rows.append(np.array(interp.get_output(k), copy=True))
    return {sg.tensors[j].name: (np.concatenate(rows) if rows else
                                 np.empty((0, sg.tensors[j].shape[1]), dtype=np.int8))
            for j, rows in zip(sg.outputs, outs, strict=True)}


# -- comparisons -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Disagreement:
    """How TFLM's int8 outputs differ from another runtime's on the same ``rows`` inputs."""

    other: str
    rows: int
    rows_differ: int
    logits_differ: int
    probs_differ: int
    max_lsb_logits: int
    max_lsb_probs: int

    @classmethod
    def between(cls, other: str, tflm: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> Disagreement:
        dl = np.abs(tflm["logits"].astype(np.int64) - got["logits"].astype(np.int64))
        dp = np.abs(tflm["probs"].astype(np.int64) - got["probs"].astype(np.int64))
        return cls(other, int(dl.shape[0]), int(np.sum(np.any(dl > 0, axis=1) | np.any(dp > 0, axis=1))),
                   int(np.count_nonzero(dl)), int(np.count_nonzero(dp)), int(dl.max(initial=0)),
                   int(dp.max(initial=0)))

    @property
    def exact(self) -> bool:
        return self.rows_differ == 0

    def summary(self) -> str:
        """``"30/10000 rows differ (logits: 30 values, max 1 LSB; probs: 2 values, max 1 LSB)"``."""
        if self.exact:
            return f"{self.rows}/{self.rows} rows bit-exact"
        return (f"{self.rows_differ}/{self.rows} rows differ (logits: {self.logits_differ} values, max "
                f"{self.max_lsb_logits} LSB; probs: {self.probs_differ} values, max {self.max_lsb_probs} "
                "LSB)")


@dataclass(frozen=True)
class RuntimeComparison:
    """TFLM vs our reference (its variant) and vs each LiteRT resolver (``str`` when one could not run)."""

    rows: int
    reference: Disagreement
    litert: dict[str, Disagreement | str] = field(default_factory=dict)

    def details(self) -> dict[str, str]:
        out = {"reference (tflm variant)": self.reference.summary()}
        out.update({f"litert {k}": v if isinstance(v, str) else v.summary() for k, v in self.litert.items()})
        return out


def compare_runtimes(model: str | os.PathLike | bytes, x_q: np.ndarray,
                     resolvers: tuple[str, ...] = ("auto", "builtin", "reference")) -> RuntimeComparison:
    """Run ``x_q`` in TFLM, in our reference (TFLM variant) and in each LiteRT resolver; count differences.

    Raises :class:`RuntimeUnavailableError` without tflite-micro; a missing LiteRT is recorded per resolver.
    """
    from .int8_reference import RUNTIME_VARIANTS, run_reference
    from .runtime import run_tflite
    from .tflite_export import model_to_plan

    data, label = read_model_bytes(model)
    plan = model_to_plan(validate_tflite(data, label))
    tflm = run_tflm(data, x_q)
    ref = run_reference(plan, np.asarray(x_q), *RUNTIME_VARIANTS["tflm"])
    reference = Disagreement.between("reference", tflm, {"logits": ref.logits, "probs": ref.probs})
    litert: dict[str, Disagreement | str] = {}
    for resolver in resolvers:
        try:
            litert[resolver] = Disagreement.between(resolver, tflm, run_tflite(data, x_q, resolver=resolver))
        except RuntimeUnavailableError as exc:
            litert[resolver] = f"not run ({exc})"
    return RuntimeComparison(int(np.asarray(x_q).shape[0]), reference, litert)


@dataclass(frozen=True)
class TflmCheck:
    """What ``--check tflm`` found: runtime agreement and the measured arena."""

    comparison: RuntimeComparison
    arena: ArenaMeasurement

    def details(self) -> dict[str, Any]:
        return {"tflm_check": self.comparison.details(), "tflm_arena": self.arena.format_text()}


def check_tflm(path: str | os.PathLike, x_q: np.ndarray, *, search: bool = True,
               write_metadata: bool = True) -> TflmCheck:
    """Validate, compare runtimes on ``x_q``, measure the arena and (by default) store it in the file."""
    comparison = compare_runtimes(path, x_q)
    arena = measure_arena(path, search=search)
    if write_metadata:
        write_arena_metadata(path, arena)
    return TflmCheck(comparison, arena)


def arena_summary(path: str | os.PathLike, measure: bool = True) -> str:
    """Two lines: TFLM's measured arena for the artefact, and ``firmware_sim``'s estimate beside it.

    The measurement comes from the file's metadata, else (``measure``) from :func:`measure_arena`; without
    either the first line says why. The estimate is :func:`firmware_sim.memory.tflm_arena_estimate` for the
    layer sizes read from the file (the one place ``export`` looks at ``firmware_sim``, lazily).
    """
    from firmware_sim.memory import tflm_arena_estimate

    from .tflite_export import model_to_plan

    plan = model_to_plan(validate_tflite(path))
    est = tflm_arena_estimate(plan.sizes)
    arena = read_arena(path)
    if arena is None and measure:
        try:
            arena = measure_arena(path)
        except (RuntimeUnavailableError, RuntimeError) as exc:
            first = f"TFLM arena: not measured ({exc})"
        else:
            first = arena.format_text()
    else:
        first = arena.format_text() if arena is not None else "TFLM arena: not measured"
    second = (f"simulator estimate {est.required:,} B = bookkeeping {est.tail:,} B + max(activations "
              f"{est.head:,} B, prepare peak {est.prepare:,} B)")
    if arena is not None:
        second += f" ({100 * (est.required / arena.required - 1):+.1f} % vs the smallest TFLM arena)"
    return f"{first}\n{second}"
