"""Package exceptions: one base class and the few specific errors callers handle."""

from __future__ import annotations

__all__ = ["EdgeMesuError", "StateFileError", "BudgetExceededError"]


class EdgeMesuError(Exception):
    """Base class of every exception raised on purpose by edge-mesu."""


class StateFileError(EdgeMesuError, ValueError):
    """A state file is corrupt, truncated, of a newer version or of the wrong learner/architecture."""


class BudgetExceededError(EdgeMesuError):
    """A device budget (flash, RAM, latency) is violated."""
