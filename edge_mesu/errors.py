"""Package exceptions: one base class and the few specific errors callers handle."""

from __future__ import annotations

__all__ = ["EdgeMesuError", "StateFileError", "BudgetExceededError", "MissingExtraError"]


class EdgeMesuError(Exception):
    """Base class of every exception raised on purpose by edge-mesu."""


class StateFileError(EdgeMesuError, ValueError):
    """A state file is corrupt, truncated, of a newer version or of the wrong learner/architecture."""


class BudgetExceededError(EdgeMesuError):
    """A device budget (flash, RAM, latency) is violated."""


class MissingExtraError(EdgeMesuError, ImportError):
    """An optional library is not installed; the message names the extra that installs it.

    >>> str(MissingExtraError("ONNX export", "onnx", "onnxruntime"))
    "ONNX export needs onnxruntime, which is not installed: pip install 'edge-mesu[onnx]'"
    """

    def __init__(self, feature: str, extra: str, library: str) -> None:
        super().__init__(f"{feature} needs {library}, which is not installed: pip install 'edge-mesu[{extra}]'")
        self.feature, self.extra, self.library = feature, extra, library
