"""Greedy arena planner for buffer lifetimes, after TensorFlow Lite Micro's ``GreedyMemoryPlanner``.

The generated C lays out its scratch arena with it, and firmware_sim budgets with the same plans, so the
two agree to the byte.

A buffer is ``(name, size, first_use, last_use)`` with inclusive step indices. Buffers are placed largest
first (ties: earliest first use, then name); each goes at the lowest aligned offset where it overlaps no
already placed buffer whose lifetime overlaps its own. Two buffers whose lifetimes are disjoint may share
bytes. The arena is the highest end offset.

Example
-------
>>> plan = plan_memory([Buffer("a", 100, 0, 1), Buffer("b", 60, 2, 3), Buffer("c", 40, 1, 2)])
>>> plan.arena_bytes, plan.offsets()
(140, {'a': 0, 'b': 0, 'c': 100})
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Buffer", "Placement", "MemoryPlan", "plan_memory"]


@dataclass(frozen=True)
class Buffer:
    """A buffer of ``size`` bytes needed from step ``first_use`` to step ``last_use`` (inclusive).

    ``group``: buffers of different groups never share bytes, whatever their lifetimes (the device code
    gives each group one element type, so no byte is ever read through two C types).
    """

    name: str
    size: int
    first_use: int
    last_use: int
    group: str = ""

    def __post_init__(self) -> None:
        for key in ("size", "first_use", "last_use"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"Buffer {self.name!r}: {key} must be an integer >= 0, got {value!r}")
        if self.last_use < self.first_use:
            raise ValueError(f"Buffer {self.name!r}: last_use {self.last_use} < first_use {self.first_use}")

    def lives_with(self, other: Buffer) -> bool:
        """True when the two may not share bytes: their lifetimes share a step, or their groups differ."""
        if self.group != other.group:
            return True
        return self.first_use <= other.last_use and other.first_use <= self.last_use


@dataclass(frozen=True)
class Placement:
    """A planned buffer: its offset in the arena."""

    buffer: Buffer
    offset: int

    @property
    def end(self) -> int:
        return self.offset + self.buffer.size

    def to_dict(self) -> dict:
        b = self.buffer
        out = {"name": b.name, "size": b.size, "first_use": b.first_use, "last_use": b.last_use, "offset": self.offset}
        if b.group:
            out["group"] = b.group
        return out


@dataclass(frozen=True)
class MemoryPlan:
    """Offsets of every buffer and the arena size they need."""

    placements: tuple[Placement, ...]
    arena_bytes: int
    alignment: int

    def offsets(self) -> dict[str, int]:
        return {p.buffer.name: p.offset for p in self.placements}

    def to_dict(self) -> dict:
        ordered = sorted(self.placements, key=lambda p: (p.offset, p.buffer.name))
        return {"arena_bytes": self.arena_bytes, "alignment": self.alignment, "buffers": [p.to_dict() for p in ordered]}


def _align(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def _lowest_fit(buf: Buffer, placed: list[Placement], alignment: int) -> int:
    """Lowest aligned offset where ``buf`` overlaps no live placed buffer."""
    live = sorted((p for p in placed if p.buffer.lives_with(buf) and p.buffer.size > 0), key=lambda p: p.offset)
    candidate = 0
    for p in live:
        if candidate + buf.size <= p.offset:
            break
        candidate = max(candidate, _align(p.end, alignment))
    return candidate


def plan_memory(buffers: list[Buffer], alignment: int = 4) -> MemoryPlan:
    """Place ``buffers`` in one arena with the greedy largest-first strategy.

    Parameters
    ----------
    buffers : the buffers; names must be unique.
    alignment : every offset is a multiple of this (bytes, >= 1).
    """
    if isinstance(alignment, bool) or not isinstance(alignment, int) or alignment < 1:
        raise ValueError(f"alignment must be an integer >= 1, got {alignment!r}")
    names = [b.name for b in buffers]
    if len(set(names)) != len(names):
        raise ValueError(f"buffer names must be unique, got {names}")
    order = sorted(buffers, key=lambda b: (-b.size, b.first_use, b.name))
    placed: list[Placement] = []
    for buf in order:
        placed.append(Placement(buf, _lowest_fit(buf, placed, alignment)))
    arena = max((p.end for p in placed), default=0)
    return MemoryPlan(tuple(placed), arena, alignment)
