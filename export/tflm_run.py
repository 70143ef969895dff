"""Run an int8 ``.tflite`` in TensorFlow Lite Micro's Python interpreter (host build of the C++ runtime).

Install with ``pip install 'edge-mesu[tflm]'`` (pins :data:`TFLM_REQUIREMENT`); without it the functions
here raise :class:`export.RuntimeUnavailableError`, and importing this module still works.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .errors import RuntimeUnavailableError
from .validate import read_model_bytes, validate_tflite

__all__ = ["RUN_ARENA_MIN", "TFLM_REQUIREMENT", "run_tflm", "tflm_runtime", "tflm_version"]

RUN_ARENA_MIN = 64 * 1024  # arena of ordinary runs: max(this, 10 x model size), far above any need
TFLM_REQUIREMENT = "tflite-micro==0.dev20261023182759"


def tflm_runtime() -> Any:
    """The ``tflite_micro`` runtime module, or one clear :class:`RuntimeUnavailableError`."""
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:
        raise RuntimeUnavailableError(
            "tflite-micro is not installed: pip install 'edge-mesu[tflm]' (or "
            f"{TFLM_REQUIREMENT}) to run .tflite files in TensorFlow Lite Micro"
        ) from None
    return runtime


def tflm_version() -> str:
    """Version string of the installed tflite-micro (raises if it is not installed)."""
    tflm_runtime()
    from tflite_micro.python.tflite_micro._version import __version__

    return str(__version__)


def run_tflm(model: str | os.PathLike | bytes, x_q: np.ndarray) -> dict[str, np.ndarray]:
    """Run an int8 artefact in TFLM on a batch ``x_q`` (n, n_in); return ``{output tensor name: array}``.

    The file is checked first (:func:`export.validate_tflite`, ``ValueError`` if malformed); ``x_q`` must
    be int8 of the model's input width. The arena is generous (:data:`RUN_ARENA_MIN` or more).
    """
    data, label = read_model_bytes(model)
    sg = validate_tflite(data, label).subgraphs[0]
    width = sg.tensors[sg.inputs[0]].shape[1]
    x = np.asarray(x_q)
    if x.dtype != np.int8 or x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"input must be int8 of shape (n, {width}), got {x.dtype} {x.shape}")
    interp = tflm_runtime().Interpreter.from_bytes(data, arena_size=max(RUN_ARENA_MIN, 10 * len(data)))
    outs: list[list[np.ndarray]] = [[] for _ in sg.outputs]
    for row in x:
        interp.set_input(np.ascontiguousarray(row[None, :]), 0)
        interp.invoke()
        for k, rows in enumerate(outs):
            rows.append(np.array(interp.get_output(k), copy=True))
    return {
        sg.tensors[j].name: (np.concatenate(rows) if rows else np.empty((0, sg.tensors[j].shape[1]), dtype=np.int8))
        for j, rows in zip(sg.outputs, outs, strict=True)
    }
