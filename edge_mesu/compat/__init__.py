"""Adapters for the streaming-learning ecosystem: river (``MESUClassifier``) and scikit-learn (``MESUSKClassifier``).

Importing this package imports neither river nor scikit-learn: each adapter is loaded on first use, so the core
stays numpy-only. Install the extra with ``pip install "edge-mesu[river]"``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["MESUClassifier", "MESUSKClassifier"]

_WHERE = {"MESUClassifier": ("river", "river"), "MESUSKClassifier": ("sklearn", "scikit-learn")}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, dist = _WHERE[name]
    try:
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] == module:
            raise ImportError(f"{name} needs {dist}: pip install 'edge-mesu[river]'") from exc
        raise
