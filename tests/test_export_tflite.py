"""Int8 TFLite export: flatbuffer round trip, the TFLite int8 spec, and bit-exactness with LiteRT."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import tflite

import export
from export._testing import StubLearner, gaussian_task, trained_learner
from export.int8_reference import RUNTIME_VARIANTS, run_reference
from export.runtime import RuntimeUnavailableError, run_tflite
from export.tflite_export import model_to_plan
from export.tflite_schema import Model

N_CHECK = 2000  # inputs compared bit for bit (≥ 1,000 asked)
try:
    from tflite_micro.python.tflite_micro import runtime as _tflm_runtime  # noqa: F401

    HAVE_TFLM = True
except ImportError:
    HAVE_TFLM = False
#: every runtime variant; "tflm" (TensorFlow Lite Micro, optional) skips without tflite-micro
RUNTIMES = [
    pytest.param(
        r,
        marks=pytest.mark.skipif(
            r == "tflm" and not HAVE_TFLM, reason="tflite-micro is not installed: pip install 'edge-mesu[tflm]'"
        ),
    )
    for r in sorted(RUNTIME_VARIANTS)
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict:
    learner = trained_learner()
    Xc, _ = gaussian_task(300, seed=3)
    path = tmp_path_factory.mktemp("tflite") / "model.tflite"
    report = export.to_tflite_int8(learner, path, calibration=Xc)
    data = path.read_bytes()
    plan = model_to_plan(Model.read(data))
    rng = np.random.default_rng(11)
    X_eval, _ = gaussian_task(N_CHECK // 2, seed=4)
    x_q = np.concatenate(
        [
            plan.quantize_input(X_eval),  # in-distribution, plus adversarial raw int8 inputs
            rng.integers(-128, 128, size=(N_CHECK // 2, 16)).astype(np.int8),
        ]
    )
    return {"learner": learner, "path": path, "data": data, "report": report, "plan": plan, "x_q": x_q}


def test_build_and_read_are_inverses(exported: dict) -> None:
    model = Model.read(exported["data"])
    assert model.build() == exported["data"]
    assert Model.read(model.build()) == model
    assert exported["data"][4:8] == b"TFL3"


def test_plan_survives_the_file(exported: dict) -> None:
    learner = exported["learner"]
    plan = export.quantize_mlp(learner.mean_params(), gaussian_task(300, seed=3)[0])
    for a, b in zip(plan.layers, exported["plan"].layers, strict=True):
        assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
        assert np.array_equal(a.multiplier, b.multiplier) and np.array_equal(a.shift, b.shift)
        assert a.input == b.input and a.output == b.output and a.relu == b.relu


def test_file_follows_the_int8_spec(exported: dict) -> None:
    """Checked with the tflite package's own reader, independently of our dataclasses."""
    m = tflite.Model.GetRootAs(exported["data"], 0)
    sg = m.Subgraphs(0)
    tensors = {sg.Tensors(i).Name().decode(): sg.Tensors(i) for i in range(sg.TensorsLength())}
    w = tensors["dense0/weight"]
    assert w.Type() == tflite.TensorType.INT8 and w.ShapeAsNumpy().tolist() == [12, 16]  # (out, in)
    q = w.Quantization()
    assert q.QuantizedDimension() == 0 and q.ScaleLength() == 12 and not q.ZeroPointAsNumpy().any()
    b = tensors["dense0/bias"]
    x = tensors["input"].Quantization()
    assert b.Type() == tflite.TensorType.INT32
    assert np.allclose(b.Quantization().ScaleAsNumpy(), x.ScaleAsNumpy()[0] * q.ScaleAsNumpy(), rtol=1e-6)
    assert tensors["dense0/relu"].Quantization().ZeroPointAsNumpy()[0] == -128  # ReLU output: real 0 is qmin
    p = tensors["probs"].Quantization()
    assert p.ScaleAsNumpy()[0] == 1 / 256 and p.ZeroPointAsNumpy()[0] == -128
    ops = [m.OperatorCodes(sg.Operators(i).OpcodeIndex()).BuiltinCode() for i in range(sg.OperatorsLength())]
    assert ops == [tflite.BuiltinOperator.FULLY_CONNECTED] * 2 + [tflite.BuiltinOperator.SOFTMAX]
    fused = tflite.FullyConnectedOptions()
    table = sg.Operators(0).BuiltinOptions()
    fused.Init(table.Bytes, table.Pos)
    assert fused.FusedActivationFunction() == tflite.ActivationFunctionType.RELU


def test_export_report(exported: dict) -> None:
    rep = exported["report"]
    assert rep.format == "tflite-int8" and rep.size_bytes == exported["path"].stat().st_size
    assert rep.ops == ("FULLY_CONNECTED+RELU", "FULLY_CONNECTED", "SOFTMAX")
    formats = {t.name: t for t in rep.tensors}
    assert formats["input"].shape == (-1, 16) and formats["probs"].dtype == "int8"
    assert "per-channel(12, axis 0)" in formats["dense0/weight"].quant
    assert rep.export_seconds > 0 and "FULLY_CONNECTED" in rep.format_text()
    as_json = json.loads(json.dumps(rep.to_dict(), allow_nan=False))
    assert as_json["tensors"][0] == {
        "name": "input",
        "dtype": "int8",
        "shape": [-1, 16],
        "quant": formats["input"].quant,
    }
    for resolver in RUNTIME_VARIANTS:  # validation ran on the 300 calibration rows
        if resolver == "tflm" and not HAVE_TFLM:
            assert rep.details["reference_check"][resolver].startswith("not run")
            continue
        assert rep.details["reference_check"][resolver].startswith("300/300 rows bit-exact")
    assert [p.name for p in exported["path"].parent.iterdir()] == ["model.tflite"]  # no temp file left


@pytest.mark.parametrize("resolver", RUNTIMES)
def test_litert_is_bit_exact_with_the_reference(exported: dict, resolver: str) -> None:
    x_q = exported["x_q"]
    got = run_tflite(exported["data"], x_q, resolver=resolver)
    ref = run_reference(exported["plan"], x_q, *RUNTIME_VARIANTS[resolver])
    assert x_q.shape[0] >= 1000
    assert np.array_equal(got["logits"], ref.logits), f"{np.sum(np.any(got['logits'] != ref.logits, 1))} rows"
    assert np.array_equal(got["probs"], ref.probs)


def test_hidden_layers_are_bit_exact_too(exported: dict) -> None:
    interpreter_cls, resolvers = export.runtime.tflite_interpreter_class()
    for resolver, kind in (("builtin", "BUILTIN_WITHOUT_DEFAULT_DELEGATES"), ("reference", "BUILTIN_REF")):
        interp = interpreter_cls(
            model_content=exported["data"],
            experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=getattr(resolvers, kind),
        )
        x_q = exported["x_q"]
        interp.resize_tensor_input(0, list(x_q.shape))
        interp.allocate_tensors()
        interp.set_tensor(0, x_q)
        interp.invoke()
        hidden = next(d["index"] for d in interp.get_tensor_details() if d["name"] == "dense0/relu")
        ref = run_reference(exported["plan"], x_q, *RUNTIME_VARIANTS[resolver])
        assert np.array_equal(interp.get_tensor(hidden), ref.layers[0])


def test_rounding_variants_are_distinguishable(exported: dict) -> None:
    """The measurement discriminates: other integer roundings disagree with each resolver somewhere."""
    x_q = exported["x_q"]
    for resolver, wrong in (
        ("builtin", "single"),
        ("builtin", "double"),
        ("reference", "double_up"),
        ("reference", "double"),
    ):
        got = run_tflite(exported["data"], x_q, resolver=resolver)["logits"]
        assert not np.array_equal(got, run_reference(exported["plan"], x_q, wrong, "lut").logits)


def _sentinel(path: Path) -> None:
    path.write_bytes(b"old")


@pytest.mark.parametrize(
    ("make", "calibration", "match"),
    [
        (lambda: StubLearner([np.full((4, 3), np.nan), np.ones((3, 2))]), np.ones((5, 4)), "non-finite"),
        (lambda: StubLearner([np.ones((4, 1))]), np.ones((5, 4)), ">= 2 classes"),
        (lambda: StubLearner([np.ones((4, 3)), np.ones((3, 2))]), np.ones((0, 4)), "empty"),
        (lambda: StubLearner([np.ones((4, 3)), np.ones((3, 2))]), np.ones((5, 3)), "shape"),
        (lambda: StubLearner([np.ones((4, 3)), np.ones((3, 2))]), np.full((5, 4), np.inf), "non-finite"),
        (lambda: StubLearner([np.ones((4, 3)), np.ones((3, 2))]), None, "required"),
    ],
)
def test_bad_input_raises_and_writes_nothing(tmp_path: Path, make, calibration, match: str) -> None:
    target = tmp_path / "m.tflite"
    _sentinel(target)
    with pytest.raises(ValueError, match=match):
        export.to_tflite_int8(make(), target, calibration=calibration)
    assert target.read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1


def test_missing_output_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        export.to_tflite_int8(trained_learner(), tmp_path / "nope" / "m.tflite", calibration=np.ones((3, 16)))


def test_not_a_learner() -> None:
    with pytest.raises(TypeError, match="edge-mesu learner"):
        export.to_tflite_int8(object(), "x.tflite", calibration=np.ones((3, 16)))


def test_one_clear_error_without_an_interpreter(
    monkeypatch: pytest.MonkeyPatch, exported: dict, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", None)
    with pytest.raises(RuntimeUnavailableError, match="ai-edge-litert"):
        run_tflite(exported["data"], exported["x_q"])
    rep = export.to_tflite_int8(exported["learner"], tmp_path / "m.tflite", calibration=np.ones((3, 16)))
    assert rep.details["reference_check"].startswith("not run")


def test_any_number_of_hidden_layers(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for sizes in [(5, 3), (5, 7, 6, 4, 3)]:
        ws = [rng.normal(size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        learner = StubLearner(ws, [rng.normal(size=b) for b in sizes[1:]])
        rep = export.to_tflite_int8(learner, tmp_path / "m.tflite", calibration=rng.normal(size=(50, 5)))
        assert len(rep.ops) == len(sizes)
        assert all(v.startswith("50/50") for v in rep.details["reference_check"].values())


def test_paper_size_network_exports(tmp_path: Path) -> None:
    from edge_mesu import MESULearner

    rep = export.to_tflite_int8(
        MESULearner(layers=(784, 50, 10), bias=False, seed=0),
        tmp_path / "m.tflite",
        calibration=np.random.default_rng(0).normal(size=(100, 784)),
        validate=False,
    )
    assert 784 * 50 + 50 * 10 < rep.size_bytes < 784 * 50 + 50 * 10 + 4096
