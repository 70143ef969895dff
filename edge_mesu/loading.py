"""Load any edge-mesu state file: a learner of :data:`edge_mesu.registry.LEARNERS` or a sensor pipeline.

The class is named in the file; an unknown kind is refused with the list of known ones.

Example
-------
>>> from edge_mesu import FixedMESULearner
>>> m = FixedMESULearner((4, 3, 2), seed=0)
>>> type(learner_from_bytes(m.to_bytes())).__name__
'FixedMESULearner'
"""

from __future__ import annotations

import os
from typing import Any

from .errors import StateFileError
from .learner_base import from_decoded
from .pipeline import SensorPipeline
from .registry import LEARNERS
from .statefile import decode_state, load_state

__all__ = ["STATE_KINDS", "learner_from_bytes", "load_learner"]

#: every kind a state file can hold, and its class
STATE_KINDS: dict[str, type] = {**LEARNERS, "SensorPipeline": SensorPipeline}


def _build(kind: str, meta: dict, arrays: dict, source: str) -> Any:
    cls = STATE_KINDS.get(kind)
    if cls is None:
        raise StateFileError(
            f"{source}: state file holds a {kind!r}, which this edge-mesu cannot load "
            f"(known kinds: {', '.join(sorted(STATE_KINDS))})"
        )
    return from_decoded(cls, kind, meta, arrays, source)


def load_learner(path: str | os.PathLike) -> Any:
    """The learner or pipeline saved at ``path``."""
    return _build(*load_state(path), str(path))


def learner_from_bytes(data: bytes, source: str = "<bytes>") -> Any:
    """The learner or pipeline of a state file's bytes."""
    return _build(*decode_state(data, source), source)
