"""TFLM's measured arena of an exported model beside firmware_sim's estimate (export meets firmware_sim here)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from export.runtime import RuntimeUnavailableError
from export.tflite_export import model_to_plan
from export.tflm import measure_arena, read_arena
from export.validate import validate_tflite
from firmware_sim.memory import tflm_arena_estimate

__all__ = ["ArenaFigures", "arena_figures", "arena_summary", "explain_arenas"]


@dataclass(frozen=True)
class ArenaFigures:
    """TFLM's arena for a ``.tflite``: the measurement (None with the reason) and the simulator's estimate."""

    measured: Any
    reason: str
    estimate: Any


def arena_figures(path: str | os.PathLike, measure: bool = True) -> ArenaFigures:
    """The measurement comes from the file's metadata, else (``measure``) from
    :func:`export.tflm.measure_arena`; the estimate is :func:`firmware_sim.memory.tflm_arena_estimate` for
    the layer sizes read from the file."""
    plan = model_to_plan(validate_tflite(path))
    est = tflm_arena_estimate(plan.sizes)
    arena, reason = read_arena(path), ""
    if arena is None and measure:
        try:
            arena = measure_arena(path)
        except (RuntimeUnavailableError, RuntimeError) as exc:
            reason = str(exc)
    return ArenaFigures(arena, reason, est)


def arena_summary(path: str | os.PathLike, measure: bool = True) -> str:
    """Two lines: TFLM's measured arena for the artefact, and ``firmware_sim``'s estimate beside it."""
    fig = arena_figures(path, measure)
    arena, est = fig.measured, fig.estimate
    if arena is None:
        first = f"TFLM arena: not measured ({fig.reason})" if fig.reason else "TFLM arena: not measured"
    else:
        first = arena.format_text()
    second = (
        f"simulator estimate {est.required:,} B = bookkeeping {est.tail:,} B + max(activations "
        f"{est.head:,} B, prepare peak {est.prepare:,} B)"
    )
    if arena is not None:
        second += f" ({100 * (est.required / arena.required - 1):+.1f} % vs the smallest TFLM arena)"
    return f"{first}\n{second}"


def explain_arenas(fig: ArenaFigures, c_arena: int, fixed: bool = True) -> list[str]:
    """What each arena figure is, measured or modelled, and which one to reserve on the device.

    ``c_arena``: the learner's scratch arena in the device budget (``fixed``: the generated C's, exact; else
    firmware_sim's model of a float32 implementation, for which no C is generated).
    """
    arena, est = fig.measured, fig.estimate
    learner_line = (
        "the C library's arena (learning on the device): planned from its buffer list, exact for the generated "
        "C (its *_ARENA_BYTES)"
        if fixed
        else "the learner's scratch arena in the budget, modelled for a float32 implementation (no C is generated "
        "for a float learner)"
    )
    lines = ["arena figures (scratch memory; each belongs to one runtime):", f"  {c_arena:>7,} B  {learner_line}"]
    if arena is not None:
        lines += [
            f"  {arena.total:>7,} B  TFLM, int8 TFLite model, measured: what TFLM's recording allocator holds after "
            f"setup (activations {arena.head:,} + bookkeeping {arena.tail:,}; x86-64 host build)",
        ]
        if arena.smallest is not None:
            lines.append(
                f"  {arena.smallest:>7,} B  TFLM, measured: the smallest arena in which the model sets up and runs "
                "(setup needs temporary memory): the one to reserve"
            )
    else:
        lines.append(f"          TFLM arena not measured ({fig.reason or 'no measurement stored in the file'})")
    lines.append(
        f"  {est.required:>7,} B  TFLM, modelled: firmware_sim's estimate from the layer sizes (used by "
        "'simulate --mode infer' when no measurement is given)"
    )
    return lines
