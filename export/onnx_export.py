"""ONNX export of a learner's mean network: float (onnx.helper) and int8 (onnxruntime static QDQ).

Float graph (opset :data:`DEFAULT_OPSET` = 17 unless asked; 13 is the minimum, for Softmax's axis):
``x`` [batch, n_in] → one fully connected layer per weight matrix, ReLU on hidden layers → ``logits`` →
Softmax(axis −1) → ``probs``. Outputs ``probs`` then ``logits``. A fully connected layer is written as
``fc_op="matmul"`` (MatMul + Add; Add omitted without biases) or ``fc_op="gemm"`` (one Gemm). The int8
export quantises the Gemm form: onnxruntime then stores each bias as int32 at scale ``s_in·s_w[c]`` (the
TFLite int8 spec), whereas a separate Add would get an int8 bias and an extra requantisation.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from edge_mesu.errors import MissingExtraError

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:
    raise MissingExtraError("ONNX export", "onnx", "onnx") from None

from edge_mesu.interface import Describable, NetworkDescription, describe
from edge_mesu.statefile import atomic_write_bytes

from ._checks import check_calibration, check_output_path, mean_network
from .report import ExportReport, TensorFormat, summarise_quant

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "to_onnx", "to_onnx_int8", "build_float_model", "layer_output_names"]

DEFAULT_OPSET = 17
MIN_OPSET = 13
_DTYPE_NAMES = {
    TensorProto.FLOAT: "float32",
    TensorProto.INT8: "int8",
    TensorProto.UINT8: "uint8",
    TensorProto.INT32: "int32",
    TensorProto.INT64: "int64",
}


def check_opset(opset: object) -> int:
    """Validate an opset number: an int in [MIN_OPSET, the installed onnx's newest]."""
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be an integer in [{MIN_OPSET}, {newest}], got {opset!r}")
    return opset


def layer_output_names(n_layers: int) -> list[str]:
    """Tensor names of each layer's output in the float graph: ``dense{i}/relu`` ..., ``logits``."""
    return [f"dense{i}/relu" for i in range(n_layers - 1)] + ["logits"]


def _dense_nodes(i: int, a: str, out: str, last: bool, fc_op: str, bias: bool) -> list[onnx.NodeProto]:
    """Nodes of layer ``i`` from tensor ``a`` to tensor ``out`` (ReLU'd unless ``last``)."""
    pre = out if last else f"dense{i}/preact"
    if fc_op == "gemm":
        nodes = [helper.make_node("Gemm", [a, f"W{i}", f"b{i}"], [pre], name=f"dense{i}/Gemm")]
    elif bias:
        nodes = [
            helper.make_node("MatMul", [a, f"W{i}"], [f"dense{i}/matmul"], name=f"dense{i}/MatMul"),
            helper.make_node("Add", [f"dense{i}/matmul", f"b{i}"], [pre], name=f"dense{i}/Add"),
        ]
    else:
        nodes = [helper.make_node("MatMul", [a, f"W{i}"], [pre], name=f"dense{i}/MatMul")]
    if not last:
        nodes.append(helper.make_node("Relu", [pre], [out], name=f"dense{i}/Relu"))
    return nodes


def build_float_model(
    params: list[tuple[np.ndarray, np.ndarray]],
    opset: int = DEFAULT_OPSET,
    bias: bool = True,
    fc_op: str = "matmul",
    name: str = "edge_mesu_mean_mlp",
) -> onnx.ModelProto:
    """The float32 mean network as an ONNX model (checked with ``onnx.checker``)."""
    if fc_op not in ("matmul", "gemm"):
        raise ValueError(f"fc_op must be 'matmul' or 'gemm', got {fc_op!r}")
    n_in, n_out = params[0][0].shape[0], params[-1][0].shape[1]
    nodes, inits, a = [], [], "x"
    outs = layer_output_names(len(params))
    for i, (W, b) in enumerate(params):
        inits.append(numpy_helper.from_array(W.astype(np.float32), f"W{i}"))
        if bias or fc_op == "gemm":
            inits.append(numpy_helper.from_array(b.astype(np.float32), f"b{i}"))
        nodes += _dense_nodes(i, a, outs[i], i == len(params) - 1, fc_op, bias)
        a = outs[i]
    nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], axis=-1, name="softmax"))
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_in])],
        [
            helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", n_out]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", n_out]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="edge-mesu")
    model.ir_version = helper.find_min_ir_version_for([helper.make_opsetid("", opset)])  # oldest readers
    onnx.checker.check_model(model, full_check=True)
    return model


def _ops(model: onnx.ModelProto) -> tuple[str, ...]:
    counts = Counter(n.op_type for n in model.graph.node)
    order = list(dict.fromkeys(n.op_type for n in model.graph.node))
    return tuple(op if counts[op] == 1 else f"{op}x{counts[op]}" for op in order)


def _shape(vi: onnx.ValueInfoProto) -> tuple[int, ...]:
    return tuple(d.dim_value if d.HasField("dim_value") else -1 for d in vi.type.tensor_type.shape.dim)


def _known_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    g = onnx.shape_inference.infer_shapes(model).graph
    return {vi.name: _shape(vi) for vi in list(g.value_info) + list(g.input) + list(g.output)}


def tensor_formats(model: onnx.ModelProto) -> tuple[TensorFormat, ...]:
    """Graph inputs/outputs, initializers (weights) and every QDQ-quantised tensor with its scale/zp."""
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    shapes = _known_shapes(model)
    out: list[TensorFormat] = []
    for vi in list(g.input) + list(g.output):
        out.append(TensorFormat(vi.name, _DTYPE_NAMES.get(vi.type.tensor_type.elem_type, "?"), _shape(vi)))
    quantised = set()
    for node in g.node:
        if node.op_type != "DequantizeLinear" or node.input[0] in quantised:
            continue
        quantised.add(node.input[0])
        scale, zp = inits.get(node.input[1]), inits.get(node.input[2]) if len(node.input) > 2 else None
        axis = next((a.i for a in node.attribute if a.name == "axis"), None)
        data = inits.get(node.input[0])
        dtype = data.dtype.name if data is not None else (zp.dtype.name if zp is not None else "int8")
        shape = tuple(data.shape) if data is not None else shapes.get(node.input[0], ())
        if scale is None:
            raise ValueError(f"DequantizeLinear {node.name!r} has no scale initializer")
        quant = summarise_quant(scale, zp if zp is not None else 0, axis if np.size(scale) > 1 else None)
        out.append(TensorFormat(node.input[0], dtype, shape, quant))
    for name, arr in inits.items():
        if (
            arr.dtype == np.float32
            and arr.ndim >= 1
            and name not in quantised
            and not any(name in n.input[1:] for n in g.node if n.op_type in ("QuantizeLinear", "DequantizeLinear"))
        ):
            out.append(TensorFormat(name, "float32", tuple(arr.shape)))
    return tuple(out)


def _write(model: onnx.ModelProto, target: Path) -> int:
    data = model.SerializeToString()
    atomic_write_bytes(target, data)
    return len(data)


def to_onnx(
    learner: Describable | NetworkDescription,
    path: str | os.PathLike,
    *,
    opset: int = DEFAULT_OPSET,
    fc_op: str = "matmul",
) -> ExportReport:
    """Write the learner's mean network as a float32 ONNX model (default opset 17, minimum 13).

    ``fc_op`` = ``"matmul"`` (MatMul + Add + Relu) or ``"gemm"`` (Gemm + Relu).

    Raises ``ValueError`` (nothing written) for an unsupported architecture, non-finite parameters,
    a bad opset or output path.
    """
    t0 = time.perf_counter()
    params = mean_network(learner)
    opset = check_opset(opset)
    target = check_output_path(path)
    model = build_float_model(params, opset, bias=describe(learner).bias, fc_op=fc_op)
    size = _write(model, target)
    return ExportReport(
        "onnx",
        str(target),
        size,
        _ops(model),
        tensor_formats(model),
        time.perf_counter() - t0,
        {"opset": opset, "ir_version": model.ir_version, "fc_op": fc_op},
    )


class _DropHint(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing" not in record.getMessage()


@contextlib.contextmanager
def _quiet_preprocess_hint() -> Iterator[None]:
    """Silence onnxruntime's root-logger hint to run its shape pre-processing (an MLP needs none)."""
    hint = _DropHint()
    logging.getLogger().addFilter(hint)
    try:
        yield
    finally:
        logging.getLogger().removeFilter(hint)


def _quantize_qdq(float_model: onnx.ModelProto, X: np.ndarray, batch: int = 64) -> onnx.ModelProto:
    """onnxruntime ``quantize_static``: QDQ, per-channel int8 weights, int8 activations, MinMax over ``X``."""
    try:
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    except ImportError:
        raise MissingExtraError("int8 ONNX export", "onnx", "onnxruntime") from None

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter([{"x": X[i : i + batch].astype(np.float32)} for i in range(0, len(X), batch)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._batches, None)

    with tempfile.TemporaryDirectory(prefix="edge_mesu_qdq_") as tmp, _quiet_preprocess_hint():
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        onnx.save(float_model, src)
        quantize_static(
            str(src),
            str(dst),
            _Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
        model = onnx.load(str(dst))
    onnx.checker.check_model(model)
    return model


def to_onnx_int8(
    learner: Describable | NetworkDescription,
    path: str | os.PathLike,
    *,
    calibration: object,
    opset: int = DEFAULT_OPSET,
) -> ExportReport:
    """Write an int8 QDQ ONNX model of the mean network, calibrated on ``calibration`` (n, n_in).

    Uses ``onnxruntime.quantization.quantize_static`` on the Gemm form of the graph (QDQ format,
    per-channel symmetric int8 weights, int32 biases, asymmetric int8 activations, MinMax calibration
    through a ``CalibrationDataReader`` over the rows). onnxruntime folds each hidden ReLU into the
    following QuantizeLinear (zero point −128), as TFLite fuses it into FULLY_CONNECTED.
    Raises ``ValueError`` (nothing written) for a bad learner, calibration set, opset or path.
    """
    t0 = time.perf_counter()
    params = mean_network(learner)
    X = check_calibration(calibration, params[0][0].shape[0])
    opset = check_opset(opset)
    target = check_output_path(path)
    model = _quantize_qdq(build_float_model(params, opset, fc_op="gemm"), X)
    size = _write(model, target)
    return ExportReport(
        "onnx-int8",
        str(target),
        size,
        _ops(model),
        tensor_formats(model),
        time.perf_counter() - t0,
        {
            "opset": opset,
            "quant_format": "QDQ",
            "per_channel": True,
            "activations": "int8",
            "weights": "int8",
            "calibration_samples": int(X.shape[0]),
        },
    )
