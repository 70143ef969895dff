"""Errors of the export package."""

from __future__ import annotations

from edge_mesu.errors import EdgeMesuError

__all__ = ["RuntimeUnavailableError"]


class RuntimeUnavailableError(EdgeMesuError, ImportError):
    """No TFLite interpreter (ai-edge-litert or tflite-runtime) can be imported."""
