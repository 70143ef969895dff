"""Sensor front end: raw int16 samples → windows → running normalisation → int8 learner inputs.

See ``docs/frontend.md``. :class:`FrontEndSpec` holds the settings, :class:`FrontEnd` runs the integer
pipeline a device runs, :class:`FloatFrontEnd` its float reference; :mod:`.readers` streams CSV, NPY/NPZ and
stdin recordings in chunks.
"""

from __future__ import annotations

from .frontend import FloatFrontEnd, FrontEnd, FrontEndOutput
from .labels import ClassMap, sort_class_names
from .readers import Chunk, read_csv, read_npy, read_npz, read_recording
from .spec import FEATURES, FrontEndSpec, LabelRule

__all__ = [
    "FEATURES",
    "Chunk",
    "ClassMap",
    "FloatFrontEnd",
    "FrontEnd",
    "FrontEndOutput",
    "FrontEndSpec",
    "LabelRule",
    "read_csv",
    "read_npy",
    "read_npz",
    "read_recording",
    "sort_class_names",
]
