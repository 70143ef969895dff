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

Every exporter validates its inputs before writing, writes atomically and returns an
:class:`ExportReport`. Supported architecture: dense MLPs with any number of hidden ReLU layers and a
softmax output (see :mod:`export._checks`).
"""

from __future__ import annotations

from . import tflm
from .c_export import to_c
from .fidelity import FidelityReport, FidelityRow, fidelity_report, sqnr_db
from .fixedpoint import RequantRounding
from .int8_reference import RUNTIME_VARIANTS, ReferenceOutputs, Softmax, run_reference
from .onnx_bayes import to_onnx_bayesian
from .onnx_export import DEFAULT_OPSET, to_onnx, to_onnx_int8
from .quant import ActQuant, DenseInt8, Int8MLP, quantize_mlp, quantize_multiplier
from .report import ExportReport, TensorFormat
from .runtime import RuntimeUnavailableError, run_onnx, run_tflite
from .tflite_export import model_to_plan, plan_to_model, read_metadata, to_tflite_int8, with_metadata
from .validate import validate_tflite

__all__ = [
    "DEFAULT_OPSET",
    "RUNTIME_VARIANTS",
    "ActQuant",
    "DenseInt8",
    "ExportReport",
    "FidelityReport",
    "FidelityRow",
    "Int8MLP",
    "ReferenceOutputs",
    "RequantRounding",
    "RuntimeUnavailableError",
    "Softmax",
    "TensorFormat",
    "fidelity_report",
    "model_to_plan",
    "plan_to_model",
    "quantize_mlp",
    "quantize_multiplier",
    "read_metadata",
    "run_onnx",
    "run_reference",
    "run_tflite",
    "sqnr_db",
    "tflm",
    "to_c",
    "to_onnx",
    "to_onnx_bayesian",
    "to_onnx_int8",
    "to_tflite_int8",
    "validate_tflite",
    "with_metadata",
]
