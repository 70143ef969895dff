"""TFLM's measured arena of an exported model beside firmware_sim's estimate (export meets firmware_sim here)."""

from __future__ import annotations

import os

from export.runtime import RuntimeUnavailableError
from export.tflite_export import model_to_plan
from export.tflm import measure_arena, read_arena
from export.validate import validate_tflite
from firmware_sim.memory import tflm_arena_estimate

__all__ = ["arena_summary"]


def arena_summary(path: str | os.PathLike, measure: bool = True) -> str:
    """Two lines: TFLM's measured arena for the artefact, and ``firmware_sim``'s estimate beside it.

    The measurement comes from the file's metadata, else (``measure``) from :func:`export.tflm.measure_arena`;
    without either the first line says why. The estimate is :func:`firmware_sim.memory.tflm_arena_estimate`
    for the layer sizes read from the file.
    """
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
    second = (
        f"simulator estimate {est.required:,} B = bookkeeping {est.tail:,} B + max(activations "
        f"{est.head:,} B, prepare peak {est.prepare:,} B)"
    )
    if arena is not None:
        second += f" ({100 * (est.required / arena.required - 1):+.1f} % vs the smallest TFLM arena)"
    return f"{first}\n{second}"
