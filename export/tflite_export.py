"""Int8 TFLite export of a learner's mean network, written with flatbuffers alone (no TensorFlow).

Graph: ``input`` (int8) → FULLY_CONNECTED (+ fused ReLU) … → FULLY_CONNECTED → ``logits`` (int8) → SOFTMAX
→ ``probs`` (int8, scale 1/256, zero point −128). Outputs: ``probs`` then ``logits``. The batch dimension
is dynamic (shape signature −1); the interpreter resizes it. The written bytes pass
:func:`export.validate_tflite` before they reach the disk. Named ``Model.metadata`` entries (e.g. the
measured TFLM arena, :mod:`export.tflm`) are set with :func:`with_metadata` and read with
:func:`read_metadata`.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

import numpy as np

from edge_mesu.interface import Describable, NetworkDescription
from edge_mesu.statefile import atomic_write_bytes

from ._checks import check_calibration, check_output_path, mean_network
from .disagreement import Disagreement
from .int8_reference import RUNTIME_VARIANTS, run_reference
from .quant import ActQuant, DenseInt8, Int8MLP, dense_from_int8, quantize_mlp
from .report import ExportReport, TensorFormat, summarise_quant
from .runtime import RuntimeUnavailableError, run_tflite
from .tflite_schema import (
    Activation,
    Buffer,
    BuiltinOperator,
    FullyConnectedOptions,
    Metadata,
    Model,
    Operator,
    OperatorCode,
    Quantization,
    SoftmaxOptions,
    SubGraph,
    Tensor,
    TensorType,
    tensor_array,
)
from .validate import read_model_bytes, validate_tflite

__all__ = ["to_tflite_int8", "plan_to_model", "model_to_plan", "read_metadata", "with_metadata"]

FC_VERSION = 4  # int8 FULLY_CONNECTED (op_version.cc)
SOFTMAX_VERSION = 2  # int8 SOFTMAX
_TYPE_NAMES = {TensorType.INT8: "int8", TensorType.INT32: "int32", TensorType.FLOAT32: "float32"}


def _act_tensor(name: str, width: int, q: ActQuant) -> Tensor:
    return Tensor(
        name=name,
        shape=(1, width),
        type=TensorType.INT8,
        quantization=Quantization((q.scale,), (q.zero_point,)),
        shape_signature=(-1, width),
    )


def plan_to_model(plan: Int8MLP, description: str = "edge-mesu int8 MLP") -> Model:
    """The TFLite model (dataclasses) of an int8 plan."""
    tensors = [_act_tensor("input", plan.sizes[0], plan.input)]
    buffers, operators = [Buffer()], []
    last = len(plan.layers) - 1
    for i, d in enumerate(plan.layers):
        n_out = d.weight.shape[0]
        zeros = (0,) * n_out
        buffers.append(Buffer(np.ascontiguousarray(d.weight, dtype="<i1").tobytes()))
        tensors.append(
            Tensor(
                f"dense{i}/weight",
                d.weight.shape,
                TensorType.INT8,
                len(buffers) - 1,
                Quantization(tuple(d.weight_scale), zeros, 0),
            )
        )
        buffers.append(Buffer(np.ascontiguousarray(d.bias, dtype="<i4").tobytes()))
        tensors.append(
            Tensor(
                f"dense{i}/bias",
                (n_out,),
                TensorType.INT32,
                len(buffers) - 1,
                Quantization(tuple(d.bias_scale), zeros, 0),
            )
        )
        tensors.append(_act_tensor("logits" if i == last else f"dense{i}/relu", n_out, d.output))
        fused = Activation.RELU if d.relu else Activation.NONE
        x_index = 0 if i == 0 else len(tensors) - 4
        operators.append(
            Operator(
                0,
                (x_index, len(tensors) - 3, len(tensors) - 2),
                (len(tensors) - 1,),
                FullyConnectedOptions(fused_activation_function=fused),
            )
        )
    logits_index = len(tensors) - 1
    tensors.append(_act_tensor("probs", plan.sizes[-1], plan.probs))
    operators.append(Operator(1, (logits_index,), (len(tensors) - 1,), SoftmaxOptions(beta=plan.beta)))
    subgraph = SubGraph(
        tensors=tuple(tensors), inputs=(0,), outputs=(len(tensors) - 1, logits_index), operators=tuple(operators)
    )
    codes = (
        OperatorCode(BuiltinOperator.FULLY_CONNECTED, FC_VERSION),
        OperatorCode(BuiltinOperator.SOFTMAX, SOFTMAX_VERSION),
    )
    return Model(operator_codes=codes, subgraphs=(subgraph,), buffers=tuple(buffers), description=description)


def _act_of(t: Tensor) -> ActQuant:
    if t.quantization is None or len(t.quantization.scale) != 1:
        raise ValueError(f"tensor {t.name!r} is not per-tensor quantised")
    return ActQuant(t.quantization.scale[0], t.quantization.zero_point[0])


def model_to_plan(model: Model) -> Int8MLP:
    """Rebuild the int8 plan from a model written by :func:`plan_to_model` (multipliers re-derived)."""
    (sg,) = model.subgraphs
    layers: list[DenseInt8] = []
    for op in sg.operators:
        code = model.operator_codes[op.opcode_index].builtin_code
        if code == BuiltinOperator.SOFTMAX:
            continue
        if code != BuiltinOperator.FULLY_CONNECTED or not isinstance(op.options, FullyConnectedOptions):
            raise ValueError(f"unsupported operator code {code}")
        x, w, b = (sg.tensors[i] for i in op.inputs)
        if w.quantization is None:
            raise ValueError(f"weight tensor {w.name!r} is not quantised")
        relu = op.options.fused_activation_function == Activation.RELU
        out = _act_of(sg.tensors[op.outputs[0]])
        layers.append(
            dense_from_int8(
                tensor_array(model, w), np.asarray(w.quantization.scale), tensor_array(model, b), _act_of(x), out, relu
            )
        )
    return Int8MLP(layers=tuple(layers), probs=_act_of(sg.tensors[sg.outputs[0]]))


def read_metadata(source: bytes | str | os.PathLike | Model) -> dict[str, bytes]:
    """``{name: bytes}`` of the model's ``Model.metadata`` entries (a path, bytes or a parsed model)."""
    model = source if isinstance(source, Model) else Model.read(read_model_bytes(source)[0])
    return {m.name: model.buffers[m.buffer].data for m in model.metadata}


def with_metadata(model: Model, name: str, payload: bytes) -> Model:
    """A copy of ``model`` whose metadata entry ``name`` holds ``payload`` (its buffer replaced if present,
    else a new buffer at the end, so no tensor's buffer index moves). Runtimes ignore metadata: the graph
    and its arena are unchanged.
    """
    if not name or not payload:
        raise ValueError("metadata needs a non-empty name and payload")
    buffers = list(model.buffers)
    entry = next((m for m in model.metadata if m.name == name), None)
    if entry is not None and any(t.buffer == entry.buffer for sg in model.subgraphs for t in sg.tensors):
        raise ValueError(f"metadata {name!r} shares buffer {entry.buffer} with a tensor")
    if entry is None:
        buffers.append(Buffer(b""))
        entry = Metadata(name, len(buffers) - 1)
        model = replace(model, metadata=model.metadata + (entry,))
    buffers[entry.buffer] = Buffer(bytes(payload))
    return replace(model, buffers=tuple(buffers))


def tensor_formats(model: Model) -> tuple[TensorFormat, ...]:
    (sg,) = model.subgraphs
    out = []
    for t in sg.tensors:
        shape = t.shape_signature if t.shape_signature is not None else t.shape
        q = t.quantization
        axis = q.quantized_dimension if q is not None and len(q.scale) > 1 else None
        quant = "float" if q is None else summarise_quant(q.scale, q.zero_point, axis)
        out.append(TensorFormat(t.name, _TYPE_NAMES.get(t.type, str(t.type)), tuple(shape), quant))
    return tuple(out)


def _validate(plan: Int8MLP, data: bytes, X: np.ndarray) -> dict[str, object]:
    """Run the written model in each runtime (LiteRT resolvers, TFLM); count rows bit-exact with the
    reference under the matching variant, and TFLM's differences from each LiteRT resolver."""
    x_q = plan.quantize_input(X)
    checks: dict[str, str] = {}
    outputs: dict[str, dict[str, np.ndarray]] = {}
    for resolver, (rounding, softmax) in RUNTIME_VARIANTS.items():
        try:
            got = outputs[resolver] = run_tflite(data, x_q, resolver=resolver)
        except RuntimeUnavailableError as exc:
            if resolver != "tflm":
                return {"reference_check": f"not run ({exc})"}
            checks[resolver] = f"not run ({exc})"
            continue
        ref = run_reference(plan, x_q, rounding, softmax)
        same = np.all(got["logits"] == ref.logits, axis=1) & np.all(got["probs"] == ref.probs, axis=1)
        checks[resolver] = f"{int(same.sum())}/{len(same)} rows bit-exact ({rounding.value}/{softmax.value})"
    details: dict[str, object] = {"reference_check": checks}
    if "tflm" in outputs:
        details["tflm_vs_litert"] = {
            r: Disagreement.between(r, outputs["tflm"], got).summary() for r, got in outputs.items() if r != "tflm"
        }
    return details


def to_tflite_int8(
    learner: Describable | NetworkDescription, path: str | os.PathLike, *, calibration: object, validate: bool = True
) -> ExportReport:
    """Write the learner's mean network as a full-integer int8 TFLite model.

    Parameters
    ----------
    learner : any object with the ``MESULearner`` interface (``layers``, ``mean_params()``).
    path : output ``.tflite`` file, written atomically (temporary file, fsync, rename).
    calibration : float array ``(n, n_in)``; activation ranges are its min/max through the float network.
    validate : run the written file in the TFLite interpreter (each op resolver) and in TFLite Micro
        (when ``tflite-micro`` is installed) on the calibration set and record in
        ``details["reference_check"]`` how many rows are bit-exact with :func:`export.run_reference`
        under the matching variant (``RUNTIME_VARIANTS``), and in ``details["tflm_vs_litert"]`` how many
        rows TFLM's outputs differ from each LiteRT resolver's, and by how many LSB.

    Returns
    -------
    ExportReport with ``details["input_quant"]`` (how to quantise float inputs) and the plan's formats;
    ``export_seconds`` covers validation of the inputs, quantisation, serialisation and the atomic write,
    not the optional interpreter check.

    Raises
    ------
    ValueError : unsupported architecture, non-finite parameters, bad calibration set or output path;
        nothing is written then.
    """
    t0 = time.perf_counter()
    params = mean_network(learner)
    X = check_calibration(calibration, params[0][0].shape[0])
    target = check_output_path(path)
    plan = quantize_mlp(params, X)
    model = plan_to_model(plan)
    data = model.build()
    validate_tflite(data)  # never write a file our own reader refuses
    atomic_write_bytes(target, data)
    seconds = time.perf_counter() - t0
    details: dict[str, object] = {
        "input_quant": summarise_quant(plan.input.scale, plan.input.zero_point),
        "calibration_samples": int(X.shape[0]),
    }
    if validate:
        details.update(_validate(plan, data, X))
    ops = tuple("FULLY_CONNECTED+RELU" if d.relu else "FULLY_CONNECTED" for d in plan.layers) + ("SOFTMAX",)
    return ExportReport(
        format="tflite-int8",
        path=str(target),
        size_bytes=len(data),
        ops=ops,
        tensors=tensor_formats(model),
        export_seconds=seconds,
        details=details,
    )
