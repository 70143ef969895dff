"""export: artefacts of a learner's mean network for real toolchains, checked against our own reference.

- :func:`to_onnx` — float32 ONNX (MatMul/Add/Relu or Gemm/Relu, Softmax), ``onnx.checker``-clean.
- :func:`to_onnx_int8` — int8 QDQ ONNX via onnxruntime static quantisation (per-channel weights).
- :func:`to_onnx_bayesian` — ONNX graph sampling weights (RandomNormalLike): mean probabilities and
  mutual information.
- :func:`to_tflite_int8` — full-integer int8 TFLite written with flatbuffers (TFLite int8 spec).
- :func:`run_reference` — our numpy int64 reference of the int8 network, bit-exact with LiteRT (each op
  resolver) and with TensorFlow Lite Micro (variant ``"tflm"``).
- :func:`validate_tflite` — structural checks of a ``.tflite`` before any runtime sees it.
- :mod:`export.tflm` — run in TensorFlow Lite Micro, compare runtimes, measure the arena (optional
  dependency ``tflite-micro``).
- :func:`to_c` — a C99 library of a fixed-point learner (inference + MESU update, bit-exact).
- :func:`fidelity_report` — accuracy, agreement, logit error and per-layer SQNR of every artefact.

Names are loaded on first use (PEP 562): ``import export`` imports neither onnx nor flatbuffers, so
:func:`to_c` works where the ONNX and TFLite extras are not installed.

Every exporter validates its inputs before writing, writes atomically and returns an
:class:`ExportReport`. Supported architecture: dense MLPs with any number of hidden ReLU layers and a
softmax output (see :mod:`export._checks`).
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it (a submodule itself where the value is None)
_LAZY = {
    "tflm": None,
    "to_c": "c_export",
    "FidelityReport": "fidelity",
    "FidelityRow": "fidelity",
    "fidelity_report": "fidelity",
    "sqnr_db": "fidelity",
    "RequantRounding": "fixedpoint",
    "RUNTIME_VARIANTS": "int8_reference",
    "ReferenceOutputs": "int8_reference",
    "Softmax": "int8_reference",
    "run_reference": "int8_reference",
    "to_onnx_bayesian": "onnx_bayes",
    "DEFAULT_OPSET": "onnx_export",
    "to_onnx": "onnx_export",
    "to_onnx_int8": "onnx_export",
    "ActQuant": "quant",
    "DenseInt8": "quant",
    "Int8MLP": "quant",
    "quantize_mlp": "quant",
    "quantize_multiplier": "quant",
    "ExportReport": "report",
    "TensorFormat": "report",
    "RuntimeUnavailableError": "errors",
    "run_onnx": "runtime",
    "run_tflite": "runtime",
    "model_to_plan": "tflite_export",
    "plan_to_model": "tflite_export",
    "read_metadata": "tflite_export",
    "to_tflite_int8": "tflite_export",
    "with_metadata": "tflite_export",
    "validate_tflite": "validate",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'export' has no attribute {name!r}")
    module = importlib.import_module(f".{_LAZY[name] or name}", __name__)
    value = module if _LAZY[name] is None else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
