"""Structural validation of int8 TFLite artefacts: malformed files are refused, with the reason, before
any runtime (LiteRT or TFLite Micro) sees them. No runtime is needed for these tests."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import export
from export._testing import StubLearner
from export.runtime import RESOLVERS, run_tflite
from export.tflite_export import plan_to_model, read_metadata, with_metadata
from export.tflite_schema import Buffer, Metadata, Model, Quantization, TensorType
from export.validate import validate_tflite


@pytest.fixture(scope="module")
def model() -> Model:
    """A valid 6-5-3 export with biases (the exporter's own output)."""
    rng = np.random.default_rng(5)
    learner = StubLearner([rng.normal(size=(6, 5)), rng.normal(size=(5, 3))], [rng.normal(size=5), rng.normal(size=3)])
    return plan_to_model(export.quantize_mlp(learner.mean_params(), rng.normal(size=(40, 6))))


def mutate(model: Model, name: str, data: bytes | None = None, **changes: object) -> bytes:
    """The model with tensor ``name`` changed (``dataclasses.replace``) and optionally its buffer data."""
    sg = model.subgraphs[0]
    index = next(i for i, t in enumerate(sg.tensors) if t.name == name)
    tensor = dataclasses.replace(sg.tensors[index], **changes)
    tensors = sg.tensors[:index] + (tensor,) + sg.tensors[index + 1 :]
    buffers = list(model.buffers)
    if data is not None:
        buffers[tensor.buffer] = Buffer(data)
    return dataclasses.replace(
        model, subgraphs=(dataclasses.replace(sg, tensors=tensors),), buffers=tuple(buffers)
    ).build()


def tensor(model: Model, name: str):
    return next(t for t in model.subgraphs[0].tensors if t.name == name)


def zeroed_identifier(model: Model) -> bytes:
    data = bytearray(model.build())
    data[4:8] = bytes(4)
    return bytes(data)


def int8_bias(model: Model) -> bytes:
    return mutate(model, "dense0/bias", data=bytes(5), type=TensorType.INT8)


def narrow_weight(model: Model) -> bytes:
    """The first layer's weight matrix one column narrower than its 6-wide input."""
    w = np.frombuffer(model.buffers[tensor(model, "dense0/weight").buffer].data, np.int8).reshape(5, 6)
    return mutate(model, "dense0/weight", data=np.ascontiguousarray(w[:, :5]).tobytes(), shape=(5, 5))


def wrong_bias_scale(model: Model) -> bytes:
    """Bias scales off by 5 % of the output scale (the runtimes allow 2 %)."""
    q = tensor(model, "dense1/bias").quantization
    s_out = tensor(model, "logits").quantization.scale[0]
    return mutate(
        model, "dense1/bias", quantization=Quantization(tuple(s + 0.05 * s_out for s in q.scale), q.zero_point)
    )


MALFORMED = {  # name: (builder, what the message must say)
    "zeroed identifier": (zeroed_identifier, r"file identifier b'\\x00\\x00\\x00\\x00' is not b'TFL3'"),
    "int8 bias": (int8_bias, r"layer 0 .*bias 'dense0/bias' is int8, must be int32"),
    "narrow weight matrix": (
        narrow_weight,
        r"layer 0 .*weight 'dense0/weight' has shape \(5, 5\), "
        r"the layer needs \(5, 6\)",
    ),
    "wrong bias scale": (wrong_bias_scale, r"layer 1 .*\|s_b - s_in\*s_w\| / s_out = .* > 0.02"),
}


def test_the_exporters_output_is_valid(model: Model, tmp_path: Path) -> None:
    data = model.build()
    assert validate_tflite(data) == model
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    assert validate_tflite(path) == model and validate_tflite(str(path)) == model


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_are_refused_with_the_reason(model: Model, case: str) -> None:
    build, reason = MALFORMED[case]
    with pytest.raises(ValueError, match=r"malformed TFLite artefact <bytes>: " + reason):
        validate_tflite(build(model))


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("resolver", RESOLVERS)
def test_runs_refuse_malformed_files_before_any_runtime(
    monkeypatch: pytest.MonkeyPatch, model: Model, case: str, resolver: str, tmp_path: Path
) -> None:
    """Even with no runtime importable the answer is the structural ValueError, not a missing runtime."""
    for mod in (
        "ai_edge_litert",
        "ai_edge_litert.interpreter",
        "tflite_runtime",
        "tflite_runtime.interpreter",
        "tflite_micro",
        "tflite_micro.python.tflite_micro",
    ):
        monkeypatch.setitem(sys.modules, mod, None)
    path = tmp_path / "bad.tflite"
    path.write_bytes(MALFORMED[case][0](model))
    with pytest.raises(ValueError, match=f"malformed TFLite artefact {re.escape(str(path))}: "):
        run_tflite(path, np.zeros((2, 6), np.int8), resolver=resolver)


def _swap_ops(model: Model) -> bytes:
    sg = model.subgraphs[0]
    swapped = dataclasses.replace(sg, operators=sg.operators[::-1])
    return dataclasses.replace(model, subgraphs=(swapped,)).build()


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda m: m.build()[:6], "too short"),
        (lambda m: m.build()[:100], "cannot be parsed|refers to|identifier"),
        (_swap_ops, "expected FULLY_CONNECTED"),
        (lambda m: mutate(m, "dense0/weight", data=bytes(7)), "7 bytes of data"),
        (lambda m: mutate(m, "dense0/relu", shape=(1, 4)), r"shape \(5, 6\)|has shape"),
        (lambda m: mutate(m, "probs", quantization=Quantization((0.01,), (-128,))), "scale 1/256"),
        (lambda m: mutate(m, "dense1/weight", quantization=Quantization((0.1,) * 3, (1, 0, 0))), "symmetric"),
        (lambda m: mutate(m, "input", type=TensorType.FLOAT32), "input 'input' is float32, must be int8"),
        (lambda m: dataclasses.replace(m, version=2).build(), "schema version 2"),
    ],
)
def test_other_structural_faults(model: Model, build, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_tflite(build(model))


def test_metadata_round_trip(model: Model) -> None:
    once = with_metadata(model, "edge_mesu.test", b'{"a": 1}')
    twice = with_metadata(with_metadata(once, "other", b"x"), "edge_mesu.test", b'{"a": 2}')
    assert Model.read(twice.build()) == twice
    assert read_metadata(twice.build()) == {"other": b"x", "edge_mesu.test": b'{"a": 2}'}
    assert validate_tflite(twice.build()).subgraphs == model.subgraphs  # the graph is untouched
    assert read_metadata(model.build()) == {}
    with pytest.raises(ValueError, match="metadata 'bad' refers to buffer 99"):
        validate_tflite(dataclasses.replace(model, metadata=(Metadata("bad", 99),)).build())


def test_exporter_writes_only_valid_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    learner = StubLearner([rng.normal(size=(4, 3)), rng.normal(size=(3, 2))])
    rep = export.to_tflite_int8(learner, tmp_path / "m.tflite", calibration=rng.normal(size=(20, 4)), validate=False)
    validate_tflite(rep.path)
