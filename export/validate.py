"""Structural checks of an int8 TFLite artefact, before any runtime sees it.

Runtimes are no validators: TensorFlow Lite Micro runs a file whose identifier was zeroed, whose bias is
int8, or whose weight matrix is narrower than its input, and answers with numbers. :func:`validate_tflite`
reads the file with the exporter's own reader and refuses it (``ValueError`` naming the layer, tensor and
value) unless it is the graph :func:`export.to_tflite_int8` writes:

- file identifier ``TFL3``, schema version 3, one subgraph, one input;
- operators FULLY_CONNECTED (fused NONE or RELU) … then one SOFTMAX, chained through their activations;
- activations int8 ``(1, width)``, per-tensor scale > 0 and zero point in [−128, 127], no constant data;
- weights int8 ``(n_out, n_in)`` with ``n_in`` the width of the layer's input, constant data of exactly
  that size, symmetric (zero points 0) along dimension 0, one scale or one per output channel;
- bias int32 ``(n_out,)`` with constant data, zero points 0, and the scale the runtimes require:
  ``|s_b − s_in·s_w| / s_out ≤ 0.02`` per channel (TFLite's ``GetQuantizedConvolutionMultipler``);
- softmax output int8 with scale 1/256 and zero point −128 (the int8 spec), graph outputs ``(probs, …)``.

Example
-------
>>> validate_tflite(bytes(8))  # doctest: +ELLIPSIS
Traceback (most recent call last):
ValueError: malformed TFLite artefact <bytes>: file identifier b'\\x00\\x00\\x00\\x00' is not b'TFL3' ...
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

from ._checks import MAX_FAN_IN
from .tflite_schema import (
    FILE_IDENTIFIER,
    SCHEMA_VERSION,
    Activation,
    BuiltinOperator,
    FullyConnectedOptions,
    Model,
    SoftmaxOptions,
    SubGraph,
    Tensor,
    TensorType,
)

__all__ = ["BIAS_SCALE_TOLERANCE", "validate_tflite", "read_model_bytes"]

#: largest ``|s_b − s_in·s_w| / s_out`` TFLite's kernels accept (``kernel_util.cc``).
BIAS_SCALE_TOLERANCE = 0.02
SOFTMAX_SCALE, SOFTMAX_ZERO_POINT = 1.0 / 256.0, -128
_TYPE = {TensorType.INT8: "int8", TensorType.INT32: "int32", TensorType.FLOAT32: "float32"}


class _Refused(ValueError):
    """Internal: a failed check; :func:`validate_tflite` prefixes the artefact's name."""


def read_model_bytes(source: bytes | bytearray | memoryview | str | os.PathLike) -> tuple[bytes, str]:
    """``(bytes, label)`` of a model given as bytes or a path (label: the path, or ``<bytes>``)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    return Path(source).read_bytes(), str(source)


def validate_tflite(source: bytes | bytearray | memoryview | str | os.PathLike, label: str | None = None) -> Model:
    """Check an int8 MLP TFLite artefact structurally; return the parsed :class:`Model`.

    ``label`` names the artefact in messages (default: its path, or ``<bytes>``).

    Raises
    ------
    ValueError : ``"malformed TFLite artefact <where>: <reason>"`` for the first failed check.
    OSError : the path cannot be read.
    """
    data, where = read_model_bytes(source)
    label = label or where
    try:
        model = _parse(data)
        _check_model(model)
    except _Refused as exc:
        raise ValueError(f"malformed TFLite artefact {label}: {exc}") from None
    return model


def _parse(data: bytes) -> Model:
    if len(data) < 8:
        raise _Refused(f"{len(data)} bytes is too short for a flatbuffer")
    if data[4:8] != FILE_IDENTIFIER:
        raise _Refused(f"file identifier {data[4:8]!r} is not {FILE_IDENTIFIER!r} (zeroed, or not a TFLite flatbuffer)")
    try:
        return Model.read(data)
    except (ValueError, IndexError, KeyError, TypeError, struct.error, UnicodeDecodeError) as exc:
        raise _Refused(f"the flatbuffer cannot be parsed ({type(exc).__name__}: {exc})") from None


def _check_model(model: Model) -> None:
    if model.version != SCHEMA_VERSION:
        raise _Refused(f"schema version {model.version}, expected {SCHEMA_VERSION}")
    if len(model.subgraphs) != 1:
        raise _Refused(f"{len(model.subgraphs)} subgraphs, expected 1")
    sg = model.subgraphs[0]
    _check_indices(model, sg)
    codes = [model.operator_codes[op.opcode_index].builtin_code for op in sg.operators]
    n_fc = len(codes) - 1
    if (
        n_fc < 1
        or codes[-1] != BuiltinOperator.SOFTMAX
        or any(c != BuiltinOperator.FULLY_CONNECTED for c in codes[:-1])
    ):
        raise _Refused(
            f"operators {codes}: expected FULLY_CONNECTED ({BuiltinOperator.FULLY_CONNECTED}) "
            f"x k >= 1 then SOFTMAX ({BuiltinOperator.SOFTMAX})"
        )
    if len(sg.inputs) != 1:
        raise _Refused(f"{len(sg.inputs)} graph inputs, expected 1")
    x_index = sg.inputs[0]
    for i, op in enumerate(sg.operators[:-1]):
        x_index = _check_dense(model, sg, i, op.inputs, op.outputs, op.options, x_index)
    _check_softmax(sg, sg.operators[-1], x_index)


def _check_indices(model: Model, sg: SubGraph) -> None:
    n_t, n_b = len(sg.tensors), len(model.buffers)
    for t in sg.tensors:
        if not 0 <= t.buffer < n_b:
            raise _Refused(f"tensor {t.name!r} refers to buffer {t.buffer}, the model has {n_b}")
    for i, op in enumerate(sg.operators):
        if not 0 <= op.opcode_index < len(model.operator_codes):
            raise _Refused(f"operator {i} has opcode index {op.opcode_index} of {len(model.operator_codes)}")
        for j in tuple(op.inputs) + tuple(op.outputs):
            if not 0 <= j < n_t:
                raise _Refused(f"operator {i} refers to tensor {j}, the subgraph has {n_t}")
    for j in tuple(sg.inputs) + tuple(sg.outputs):
        if not 0 <= j < n_t:
            raise _Refused(f"graph input/output {j} is not a tensor index (0..{n_t - 1})")
    for m in model.metadata:
        if not 0 <= m.buffer < n_b:
            raise _Refused(f"metadata {m.name!r} refers to buffer {m.buffer}, the model has {n_b}")


def _type_name(t: Tensor) -> str:
    return _TYPE.get(t.type, f"type {t.type}")


def _activation(model: Model, t: Tensor, what: str) -> int:
    """Check an int8 activation tensor; return its width."""
    if t.type != TensorType.INT8:
        raise _Refused(f"{what} {t.name!r} is {_type_name(t)}, must be int8")
    if len(t.shape) != 2 or t.shape[0] != 1 or t.shape[1] < 1:
        raise _Refused(f"{what} {t.name!r} has shape {t.shape}, expected (1, width)")
    q = t.quantization
    if q is None or len(q.scale) != 1:
        raise _Refused(f"{what} {t.name!r} is not per-tensor quantised")
    if not (math.isfinite(q.scale[0]) and q.scale[0] > 0) or not -128 <= q.zero_point[0] <= 127:
        raise _Refused(
            f"{what} {t.name!r} has scale {q.scale[0]} / zero point {q.zero_point[0]}; need a "
            "finite scale > 0 and a zero point in [-128, 127]"
        )
    if model.buffers[t.buffer].data:
        raise _Refused(f"{what} {t.name!r} holds constant data; activations must not")
    return int(t.shape[1])


def _constant(model: Model, t: Tensor, what: str, shape: tuple[int, ...], itemsize: int) -> None:
    if tuple(t.shape) != shape:
        raise _Refused(f"{what} {t.name!r} has shape {tuple(t.shape)}, the layer needs {shape}")
    size = len(model.buffers[t.buffer].data)
    if size != math.prod(shape) * itemsize:
        raise _Refused(f"{what} {t.name!r} has {size} bytes of data, shape {shape} needs {math.prod(shape) * itemsize}")
    q = t.quantization
    if q is None:
        raise _Refused(f"{what} {t.name!r} is not quantised")
    if len(q.scale) not in (1, shape[0]) or q.quantized_dimension != 0:
        raise _Refused(
            f"{what} {t.name!r} has {len(q.scale)} scales along dimension {q.quantized_dimension}"
            f"; need 1 or {shape[0]} along dimension 0"
        )
    if any(z != 0 for z in q.zero_point) or not all(math.isfinite(s) and s > 0 for s in q.scale):
        raise _Refused(f"{what} {t.name!r} must be symmetric (zero points 0) with finite scales > 0")


def _check_dense(
    model: Model, sg: SubGraph, i: int, inputs: tuple[int, ...], outputs: tuple[int, ...], options: object, x_index: int
) -> int:
    """Check FULLY_CONNECTED layer ``i`` whose input must be tensor ``x_index``; return its output index."""
    where = f"layer {i} (FULLY_CONNECTED)"
    if len(inputs) != 3 or len(outputs) != 1:
        raise _Refused(f"{where} has inputs {inputs} / outputs {outputs}; expected (x, weight, bias) / (y,)")
    if inputs[0] != x_index:
        raise _Refused(f"{where} reads tensor {inputs[0]}, expected the previous activation {x_index}")
    if (
        not isinstance(options, FullyConnectedOptions)
        or options.keep_num_dims
        or options.fused_activation_function not in (Activation.NONE, Activation.RELU)
    ):
        raise _Refused(f"{where} options {options!r}: need fused activation NONE or RELU, 2-D output")
    x, w, b, y = (sg.tensors[j] for j in (*inputs, outputs[0]))
    n_in = _activation(model, x, f"{where} input")
    n_out = _activation(model, y, f"{where} output")
    if n_in > MAX_FAN_IN:
        raise _Refused(f"{where} fan-in {n_in} exceeds {MAX_FAN_IN} (int32 accumulator overflow)")
    if w.type != TensorType.INT8:
        raise _Refused(f"{where} weight {w.name!r} is {_type_name(w)}, must be int8")
    _constant(model, w, f"{where} weight", (n_out, n_in), 1)
    if b.type != TensorType.INT32:
        raise _Refused(f"{where} bias {b.name!r} is {_type_name(b)}, must be int32")
    _constant(model, b, f"{where} bias", (n_out,), 4)
    _check_bias_scale(where, x, w, b, y)
    return outputs[0]


def _check_bias_scale(where: str, x: Tensor, w: Tensor, b: Tensor, y: Tensor) -> None:
    assert x.quantization and w.quantization and b.quantization and y.quantization
    s_in, s_out = x.quantization.scale[0], y.quantization.scale[0]
    s_w, s_b = w.quantization.scale, b.quantization.scale
    if len(s_b) != len(s_w):
        raise _Refused(f"{where} bias {b.name!r} has {len(s_b)} scales, the weight {len(s_w)}")
    worst = max(range(len(s_w)), key=lambda c: abs(s_b[c] - s_in * s_w[c]))
    err = abs(s_b[worst] - s_in * s_w[worst]) / s_out
    if err > BIAS_SCALE_TOLERANCE:
        raise _Refused(
            f"{where} bias {b.name!r} channel {worst}: scale {s_b[worst]:.6g}, but s_in*s_w = "
            f"{s_in * s_w[worst]:.6g}; |s_b - s_in*s_w| / s_out = {err:.3g} > "
            f"{BIAS_SCALE_TOLERANCE}"
        )


def _check_softmax(sg: SubGraph, op: object, x_index: int) -> None:
    inputs, outputs, options = op.inputs, op.outputs, op.options  # type: ignore[attr-defined]
    if tuple(inputs) != (x_index,) or len(outputs) != 1:
        raise _Refused(f"SOFTMAX has inputs {inputs} / outputs {outputs}; expected ({x_index},) / (probs,)")
    if not isinstance(options, SoftmaxOptions) or not (math.isfinite(options.beta) and options.beta > 0):
        raise _Refused(f"SOFTMAX options {options!r}: need a finite beta > 0")
    logits, probs = sg.tensors[x_index], sg.tensors[outputs[0]]
    if probs.type != TensorType.INT8 or tuple(probs.shape) != tuple(logits.shape):
        raise _Refused(
            f"SOFTMAX output {probs.name!r} is {_type_name(probs)} {probs.shape}; expected int8 {logits.shape}"
        )
    q = probs.quantization
    if (
        q is None
        or len(q.scale) != 1
        or q.zero_point[0] != SOFTMAX_ZERO_POINT
        or abs(q.scale[0] - SOFTMAX_SCALE) > 1e-6 * SOFTMAX_SCALE
    ):
        raise _Refused(f"SOFTMAX output {probs.name!r} must have scale 1/256 and zero point -128 (int8 spec), got {q}")
    if not sg.outputs or sg.outputs[0] != outputs[0]:
        raise _Refused(f"graph outputs {sg.outputs}: the first must be the SOFTMAX output {outputs[0]}")
