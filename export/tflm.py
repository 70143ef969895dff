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
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .disagreement import Disagreement
from .int8_reference import RUNTIME_VARIANTS, run_reference
from .runtime import RuntimeUnavailableError, run_tflite
from .tflite_export import model_to_plan
from .tflm_arena import (
    ARENA_METADATA,
    ArenaMeasurement,
    measure_arena,
    read_arena,
    write_arena_metadata,
)
from .tflm_run import TFLM_REQUIREMENT, run_tflm, tflm_runtime, tflm_version
from .validate import read_model_bytes, validate_tflite

__all__ = [
    "TFLM_REQUIREMENT",
    "ARENA_METADATA",
    "ArenaMeasurement",
    "Disagreement",
    "RuntimeComparison",
    "TflmCheck",
    "tflm_runtime",
    "tflm_version",
    "run_tflm",
    "compare_runtimes",
    "measure_arena",
    "write_arena_metadata",
    "read_arena",
    "check_tflm",
]


# -- comparisons -------------------------------------------------------------------------------------------
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


def compare_runtimes(
    model: str | os.PathLike | bytes, x_q: np.ndarray, resolvers: tuple[str, ...] = ("auto", "builtin", "reference")
) -> RuntimeComparison:
    """Run ``x_q`` in TFLM, in our reference (TFLM variant) and in each LiteRT resolver; count differences.

    Raises :class:`RuntimeUnavailableError` without tflite-micro; a missing LiteRT is recorded per resolver.
    """
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


def check_tflm(
    path: str | os.PathLike, x_q: np.ndarray, *, search: bool = True, write_metadata: bool = True
) -> TflmCheck:
    """Validate, compare runtimes on ``x_q``, measure the arena and (by default) store it in the file."""
    comparison = compare_runtimes(path, x_q)
    arena = measure_arena(path, search=search)
    if write_metadata:
        write_arena_metadata(path, arena)
    return TflmCheck(comparison, arena)
