"""Running artefacts in real runtimes: the LiteRT / tflite-runtime interpreter, TFLite Micro, onnxruntime.

The TFLite interpreter comes from ``ai_edge_litert`` (preferred) or ``tflite_runtime``; when neither
imports, :class:`RuntimeUnavailableError` says so once. Op resolvers: ``"auto"`` (the default: optimised
kernels plus the default XNNPACK delegate), ``"builtin"`` (optimised kernels, no default delegates) and
``"reference"`` (reference kernels). ``"tflm"`` runs TensorFlow Lite Micro instead (:mod:`export.tflm`,
optional dependency ``tflite-micro``). Every ``.tflite`` is checked by :func:`export.validate_tflite`
before any runtime sees it: runtimes accept some malformed files without complaint.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from edge_mesu.errors import MissingExtraError

from .errors import RuntimeUnavailableError
from .tflm_run import run_tflm

__all__ = ["RuntimeUnavailableError", "RESOLVERS", "tflite_interpreter_class", "run_tflite", "run_onnx"]

RESOLVERS = ("auto", "builtin", "reference", "tflm")
_RESOLVER_NAMES = {"auto": "AUTO", "builtin": "BUILTIN_WITHOUT_DEFAULT_DELEGATES", "reference": "BUILTIN_REF"}


def tflite_interpreter_class() -> tuple[Any, Any]:
    """``(Interpreter, OpResolverType)`` from ai-edge-litert, else tflite-runtime, else one clear error."""
    try:
        from ai_edge_litert import interpreter as mod
    except ImportError:
        try:
            from tflite_runtime import interpreter as mod  # type: ignore[no-redef]
        except ImportError:
            raise RuntimeUnavailableError(
                "no TFLite interpreter: pip install 'edge-mesu[tflite]' (LiteRT: ai-edge-litert) or "
                "tflite-runtime to run .tflite files"
            ) from None
    return mod.Interpreter, mod.OpResolverType


def run_tflite(
    model: str | os.PathLike | bytes,
    x_q: np.ndarray,
    resolver: str = "auto",
) -> dict[str, np.ndarray]:
    """Run an int8 MLP TFLite model on a batch ``x_q``; return ``{output tensor name: array}``.

    The model is validated first (:func:`export.validate_tflite`). ``resolver="tflm"`` runs it in
    TensorFlow Lite Micro (:func:`export.tflm.run_tflm`), the others in LiteRT.

    Raises ``ValueError`` for a malformed model, an unknown resolver or an input of the wrong dtype /
    width; :class:`RuntimeUnavailableError` when the runtime is not installed.
    """
    from .validate import read_model_bytes, validate_tflite

    if resolver not in RESOLVERS:
        raise ValueError(f"resolver must be one of {RESOLVERS}, got {resolver!r}")
    data, label = read_model_bytes(model)
    validate_tflite(data, label)
    if resolver == "tflm":
        return run_tflm(data, x_q)
    interpreter_cls, resolver_type = tflite_interpreter_class()
    kind = getattr(resolver_type, _RESOLVER_NAMES[resolver])
    interp = interpreter_cls(model_content=data, experimental_op_resolver_type=kind, num_threads=1)
    (inp,) = interp.get_input_details()
    x = np.asarray(x_q)
    if x.dtype != inp["dtype"] or x.ndim != 2 or x.shape[1] != inp["shape"][1]:
        raise ValueError(
            f"input must be {np.dtype(inp['dtype']).name} of shape (n, {inp['shape'][1]}), got {x.dtype} {x.shape}"
        )
    interp.resize_tensor_input(inp["index"], list(x.shape))
    interp.allocate_tensors()
    interp.set_tensor(inp["index"], np.ascontiguousarray(x))
    interp.invoke()
    return {d["name"]: interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()}


def run_onnx(
    model: str | os.PathLike | bytes, X: np.ndarray, outputs: list[str] | None = None
) -> dict[str, np.ndarray]:
    """Run a one-input ONNX model in onnxruntime (CPU) on float inputs; return ``{output name: array}``."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise MissingExtraError("running ONNX models", "onnx", "onnxruntime") from None

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    source = bytes(model) if isinstance(model, (bytes, bytearray)) else os.fspath(model)
    sess = ort.InferenceSession(source, sess_options=opts, providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    names = outputs or [o.name for o in sess.get_outputs()]
    values = sess.run(names, {inp.name: np.ascontiguousarray(X, dtype=np.float32)})
    return dict(zip(names, values, strict=True))
