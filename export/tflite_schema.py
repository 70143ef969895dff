"""A small TFLite flatbuffer model as dataclasses, written and read with ``flatbuffers`` + ``tflite``.

Modelled on TFLite Micro's ``model_editor.py``: plain records for model / subgraph / tensor / operator /
quantisation, ``Model.build() -> bytes`` and ``Model.read(bytes) -> Model`` as exact inverses
(``Model.read(m.build()) == m``). Only what an int8 MLP needs is covered: INT8 / INT32 / FLOAT32 tensors,
affine (per-tensor or per-channel) quantisation, FULLY_CONNECTED and SOFTMAX options, and named
``Model.metadata`` entries (each pointing at a buffer, as TFLite's schema defines). No TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edge_mesu.errors import MissingExtraError

try:
    import flatbuffers
    import tflite
except ImportError as exc:
    raise MissingExtraError("TFLite export and validation", "tflite", exc.name or "flatbuffers/tflite") from None

__all__ = [
    "Quantization",
    "Tensor",
    "FullyConnectedOptions",
    "SoftmaxOptions",
    "Operator",
    "OperatorCode",
    "Buffer",
    "SubGraph",
    "Metadata",
    "Model",
    "TensorType",
    "BuiltinOperator",
    "Activation",
    "FILE_IDENTIFIER",
    "tensor_array",
]

FILE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3
BUFFER_ALIGNMENT = 16
TensorType = tflite.TensorType
BuiltinOperator = tflite.BuiltinOperator
Activation = tflite.ActivationFunctionType
_DTYPES = {TensorType.INT8: np.int8, TensorType.INT32: np.int32, TensorType.FLOAT32: np.float32}


@dataclass(frozen=True)
class Quantization:
    """Affine quantisation: ``real = scale[c] · (q − zero_point[c])`` along ``quantized_dimension``."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    quantized_dimension: int = 0

    def __post_init__(self) -> None:
        scale = tuple(float(np.float32(s)) for s in self.scale)  # what the flatbuffer can hold
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "zero_point", tuple(int(z) for z in self.zero_point))
        if len(scale) != len(self.zero_point) or not scale:
            raise ValueError(
                f"quantisation needs as many scales as zero points (>= 1), got {len(scale)} / {len(self.zero_point)}"
            )


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    type: int
    buffer: int = 0
    quantization: Quantization | None = None
    shape_signature: tuple[int, ...] | None = None


@dataclass(frozen=True)
class FullyConnectedOptions:
    fused_activation_function: int = Activation.NONE
    keep_num_dims: bool = False


@dataclass(frozen=True)
class SoftmaxOptions:
    beta: float = 1.0


@dataclass(frozen=True)
class Operator:
    opcode_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: FullyConnectedOptions | SoftmaxOptions | None = None


@dataclass(frozen=True)
class OperatorCode:
    builtin_code: int
    version: int = 1


@dataclass(frozen=True)
class Buffer:
    data: bytes = b""


@dataclass(frozen=True)
class SubGraph:
    tensors: tuple[Tensor, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    operators: tuple[Operator, ...]
    name: str = "main"


@dataclass(frozen=True)
class Metadata:
    """A named ``Model.metadata`` entry: its bytes live in ``Model.buffers[buffer]`` (runtimes ignore it)."""

    name: str
    buffer: int


@dataclass(frozen=True)
class Model:
    operator_codes: tuple[OperatorCode, ...]
    subgraphs: tuple[SubGraph, ...]
    buffers: tuple[Buffer, ...] = field(default=(Buffer(),))
    description: str = ""
    version: int = SCHEMA_VERSION
    metadata: tuple[Metadata, ...] = ()

    def build(self) -> bytes:
        """Serialise to a TFLite flatbuffer (file identifier ``TFL3``)."""
        b = flatbuffers.Builder(1024 + sum(len(buf.data) for buf in self.buffers))
        codes = _vector(b, [_build_opcode(b, c) for c in self.operator_codes])
        subgraphs = _vector(b, [_build_subgraph(b, s) for s in self.subgraphs])
        buffers = _vector(b, [_build_buffer(b, buf) for buf in self.buffers])
        metadata = _vector(b, [_build_metadata(b, m) for m in self.metadata]) if self.metadata else None
        desc = b.CreateString(self.description)
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, self.version)
        tflite.ModelAddOperatorCodes(b, codes)
        tflite.ModelAddSubgraphs(b, subgraphs)
        tflite.ModelAddDescription(b, desc)
        tflite.ModelAddBuffers(b, buffers)
        if metadata is not None:
            tflite.ModelAddMetadata(b, metadata)
        b.Finish(tflite.ModelEnd(b), file_identifier=FILE_IDENTIFIER)
        return bytes(b.Output())

    @classmethod
    def read(cls, data: bytes) -> Model:
        """Parse a flatbuffer written by :meth:`build` (or any model using only the covered features)."""
        data = bytes(data)
        if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
            raise ValueError(f"not a TFLite flatbuffer (identifier {data[4:8]!r}, expected {FILE_IDENTIFIER!r})")
        m = tflite.Model.GetRootAs(data, 0)
        codes = tuple(_read_opcode(m.OperatorCodes(i)) for i in range(m.OperatorCodesLength()))
        return cls(
            operator_codes=codes,
            subgraphs=tuple(_read_subgraph(m.Subgraphs(i)) for i in range(m.SubgraphsLength())),
            buffers=tuple(_read_buffer(m.Buffers(i)) for i in range(m.BuffersLength())),
            description=(m.Description() or b"").decode("utf-8"),
            version=m.Version(),
            metadata=tuple(_read_metadata(m.Metadata(i)) for i in range(m.MetadataLength())),
        )


# -- writing -----------------------------------------------------------------------------------------------
def _vector(b: flatbuffers.Builder, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _scalars(b: flatbuffers.Builder, values: tuple, kind: str) -> int:
    kinds = {"i32": (4, b.PrependInt32), "i64": (8, b.PrependInt64), "f32": (4, b.PrependFloat32)}
    size, prepend = kinds[kind]
    b.StartVector(size, len(values), size)
    for v in reversed(values):
        prepend(v)
    return b.EndVector()


def _build_buffer(b: flatbuffers.Builder, buf: Buffer) -> int:
    data = None
    if buf.data:
        n = len(buf.data)
        b.StartVector(1, n, BUFFER_ALIGNMENT)
        b.head = b.head - n
        b.Bytes[b.head : b.head + n] = buf.data
        data = b.EndVector()
    tflite.BufferStart(b)
    if data is not None:
        tflite.BufferAddData(b, data)
    return tflite.BufferEnd(b)


def _build_metadata(b: flatbuffers.Builder, meta: Metadata) -> int:
    name = b.CreateString(meta.name)
    tflite.MetadataStart(b)
    tflite.MetadataAddName(b, name)
    tflite.MetadataAddBuffer(b, meta.buffer)
    return tflite.MetadataEnd(b)


def _build_opcode(b: flatbuffers.Builder, code: OperatorCode) -> int:
    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code.builtin_code, 127))
    tflite.OperatorCodeAddBuiltinCode(b, code.builtin_code)
    tflite.OperatorCodeAddVersion(b, code.version)
    return tflite.OperatorCodeEnd(b)


def _build_quant(b: flatbuffers.Builder, q: Quantization) -> int:
    scale = _scalars(b, q.scale, "f32")
    zp = _scalars(b, q.zero_point, "i64")
    tflite.QuantizationParametersStart(b)
    tflite.QuantizationParametersAddScale(b, scale)
    tflite.QuantizationParametersAddZeroPoint(b, zp)
    tflite.QuantizationParametersAddQuantizedDimension(b, q.quantized_dimension)
    return tflite.QuantizationParametersEnd(b)


def _build_tensor(b: flatbuffers.Builder, t: Tensor) -> int:
    name = b.CreateString(t.name)
    shape = _scalars(b, t.shape, "i32")
    sig = _scalars(b, t.shape_signature, "i32") if t.shape_signature is not None else None
    quant = _build_quant(b, t.quantization) if t.quantization is not None else None
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, shape)
    tflite.TensorAddType(b, t.type)
    tflite.TensorAddBuffer(b, t.buffer)
    tflite.TensorAddName(b, name)
    if quant is not None:
        tflite.TensorAddQuantization(b, quant)
    if sig is not None:
        tflite.TensorAddShapeSignature(b, sig)
    return tflite.TensorEnd(b)


def _build_options(b: flatbuffers.Builder, opts: FullyConnectedOptions | SoftmaxOptions) -> tuple[int, int]:
    if isinstance(opts, FullyConnectedOptions):
        tflite.FullyConnectedOptionsStart(b)
        tflite.FullyConnectedOptionsAddFusedActivationFunction(b, opts.fused_activation_function)
        tflite.FullyConnectedOptionsAddKeepNumDims(b, opts.keep_num_dims)
        return tflite.BuiltinOptions.FullyConnectedOptions, tflite.FullyConnectedOptionsEnd(b)
    tflite.SoftmaxOptionsStart(b)
    tflite.SoftmaxOptionsAddBeta(b, opts.beta)
    return tflite.BuiltinOptions.SoftmaxOptions, tflite.SoftmaxOptionsEnd(b)


def _build_operator(b: flatbuffers.Builder, op: Operator) -> int:
    inputs = _scalars(b, op.inputs, "i32")
    outputs = _scalars(b, op.outputs, "i32")
    opts = _build_options(b, op.options) if op.options is not None else None
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, op.opcode_index)
    tflite.OperatorAddInputs(b, inputs)
    tflite.OperatorAddOutputs(b, outputs)
    if opts is not None:
        tflite.OperatorAddBuiltinOptionsType(b, opts[0])
        tflite.OperatorAddBuiltinOptions(b, opts[1])
    return tflite.OperatorEnd(b)


def _build_subgraph(b: flatbuffers.Builder, s: SubGraph) -> int:
    tensors = _vector(b, [_build_tensor(b, t) for t in s.tensors])
    operators = _vector(b, [_build_operator(b, op) for op in s.operators])
    inputs = _scalars(b, s.inputs, "i32")
    outputs = _scalars(b, s.outputs, "i32")
    name = b.CreateString(s.name)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors)
    tflite.SubGraphAddInputs(b, inputs)
    tflite.SubGraphAddOutputs(b, outputs)
    tflite.SubGraphAddOperators(b, operators)
    tflite.SubGraphAddName(b, name)
    return tflite.SubGraphEnd(b)


# -- reading -----------------------------------------------------------------------------------------------
def _ints(obj: object, getter: str) -> tuple[int, ...]:
    n = getattr(obj, getter + "Length")()
    return tuple(int(v) for v in getattr(obj, getter + "AsNumpy")()) if n else ()


def _read_buffer(buf: tflite.Buffer) -> Buffer:
    return Buffer(data=buf.DataAsNumpy().tobytes() if buf.DataLength() else b"")


def _read_metadata(meta: tflite.Metadata) -> Metadata:
    return Metadata(name=(meta.Name() or b"").decode("utf-8"), buffer=int(meta.Buffer()))


def _read_opcode(code: tflite.OperatorCode) -> OperatorCode:
    return OperatorCode(builtin_code=max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), version=code.Version())


def _read_tensor(t: tflite.Tensor) -> Tensor:
    q = t.Quantization()
    quant = None
    if q is not None and q.ScaleLength():
        quant = Quantization(
            scale=tuple(float(s) for s in q.ScaleAsNumpy()),
            zero_point=_ints(q, "ZeroPoint"),
            quantized_dimension=q.QuantizedDimension(),
        )
    sig = _ints(t, "ShapeSignature") if t.ShapeSignatureLength() else None
    return Tensor(
        name=t.Name().decode("utf-8"),
        shape=_ints(t, "Shape"),
        type=t.Type(),
        buffer=t.Buffer(),
        quantization=quant,
        shape_signature=sig,
    )


def _read_options(op: tflite.Operator) -> FullyConnectedOptions | SoftmaxOptions | None:
    kind, table = op.BuiltinOptionsType(), op.BuiltinOptions()
    if kind == tflite.BuiltinOptions.NONE or table is None:
        return None
    if kind == tflite.BuiltinOptions.FullyConnectedOptions:
        o = tflite.FullyConnectedOptions()
        o.Init(table.Bytes, table.Pos)
        return FullyConnectedOptions(
            fused_activation_function=o.FusedActivationFunction(), keep_num_dims=bool(o.KeepNumDims())
        )
    if kind == tflite.BuiltinOptions.SoftmaxOptions:
        o = tflite.SoftmaxOptions()
        o.Init(table.Bytes, table.Pos)
        return SoftmaxOptions(beta=float(o.Beta()))
    raise ValueError(f"unsupported builtin options type {kind}")


def _read_operator(op: tflite.Operator) -> Operator:
    return Operator(
        opcode_index=op.OpcodeIndex(),
        inputs=_ints(op, "Inputs"),
        outputs=_ints(op, "Outputs"),
        options=_read_options(op),
    )


def _read_subgraph(s: tflite.SubGraph) -> SubGraph:
    return SubGraph(
        tensors=tuple(_read_tensor(s.Tensors(i)) for i in range(s.TensorsLength())),
        inputs=_ints(s, "Inputs"),
        outputs=_ints(s, "Outputs"),
        operators=tuple(_read_operator(s.Operators(i)) for i in range(s.OperatorsLength())),
        name=(s.Name() or b"").decode("utf-8"),
    )


def tensor_array(model: Model, tensor: Tensor) -> np.ndarray:
    """The constant data of ``tensor`` as a numpy array of its shape (empty buffer → ValueError)."""
    data = model.buffers[tensor.buffer].data
    if not data:
        raise ValueError(f"tensor {tensor.name!r} has no constant data")
    return np.frombuffer(data, dtype=np.dtype(_DTYPES[tensor.type]).newbyteorder("<")).reshape(tensor.shape)
