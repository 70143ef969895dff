"""ONNX exports (float, int8 QDQ, Bayesian) run in real onnxruntime sessions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import export
from export._testing import StubLearner, gaussian_task, trained_learner
from export.runtime import run_onnx


@pytest.fixture(scope="module")
def learner() -> object:
    return trained_learner()


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return gaussian_task(500, seed=5)


@pytest.mark.parametrize("fc_op", ["matmul", "gemm"])
def test_float_onnx_matches_the_learner(tmp_path: Path, learner, data, fc_op: str) -> None:
    rep = export.to_onnx(learner, tmp_path / "m.onnx", fc_op=fc_op)
    model = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == export.DEFAULT_OPSET == rep.details["opset"]
    out = run_onnx(tmp_path / "m.onnx", data[0])
    assert np.allclose(out["probs"], learner.predict_proba(data[0]), atol=1e-5)
    assert out["logits"].shape == (500, 4)
    expected = {"matmul": ("MatMulx2", "Addx2", "Relu", "Softmax"), "gemm": ("Gemmx2", "Relu", "Softmax")}
    assert rep.ops == expected[fc_op]
    assert rep.size_bytes == (tmp_path / "m.onnx").stat().st_size


def test_no_bias_learner_has_no_add(tmp_path: Path) -> None:
    from edge_mesu import MESULearner

    m = MESULearner(layers=(6, 5, 3), bias=False, seed=0)
    rep = export.to_onnx(m, tmp_path / "m.onnx")
    assert rep.ops == ("MatMulx2", "Relu", "Softmax")
    X = np.random.default_rng(0).normal(size=(20, 6))
    assert np.allclose(run_onnx(tmp_path / "m.onnx", X)["probs"], m.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("opset", [12, 99, "17", True])
def test_bad_opset(tmp_path: Path, learner, opset) -> None:
    with pytest.raises(ValueError, match="opset"):
        export.to_onnx(learner, tmp_path / "m.onnx", opset=opset)
    assert not (tmp_path / "m.onnx").exists()


def test_int8_onnx_is_qdq_per_channel_and_agrees(tmp_path: Path, learner, data) -> None:
    Xc, _ = gaussian_task(300, seed=3)
    rep = export.to_onnx_int8(learner, tmp_path / "m8.onnx", calibration=Xc)
    model = onnx.load(str(tmp_path / "m8.onnx"))
    onnx.checker.check_model(model)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    assert inits["W0_quantized"].dtype == np.int8 and inits["W0_scale"].shape == (12,)  # per output channel
    assert inits["b0_quantized"].dtype == np.int32
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in model.graph.node}
    formats = {t.name: t for t in rep.tensors}
    assert formats["dense0/relu_QuantizeLinear_Output"].quant.endswith("zp=-128")
    out = run_onnx(tmp_path / "m8.onnx", data[0])
    agree = np.mean(out["probs"].argmax(1) == learner.predict_proba(data[0]).argmax(1))
    assert agree >= 0.99
    assert rep.details["quant_format"] == "QDQ" and rep.details["calibration_samples"] == 300


def test_int8_onnx_bad_calibration_writes_nothing(tmp_path: Path, learner) -> None:
    for bad in (np.ones((0, 16)), np.ones((4, 15)), np.full((4, 16), np.nan), [["a"] * 16]):
        with pytest.raises(ValueError):
            export.to_onnx_int8(learner, tmp_path / "m8.onnx", calibration=bad)
    assert list(tmp_path.iterdir()) == []


def test_bayesian_graph_with_zero_sigma_is_the_mean_network(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    stub = StubLearner([rng.normal(size=(5, 4)), rng.normal(size=(4, 3))], [rng.normal(size=4), np.zeros(3)])
    rep = export.to_onnx_bayesian(stub, tmp_path / "b.onnx", samples=7, seed=1.0)
    assert "RandomNormalLike" in "".join(rep.ops)
    X = rng.normal(size=(30, 5))
    out = run_onnx(tmp_path / "b.onnx", X)
    assert np.allclose(out["probs"], stub.predict_proba(X), atol=1e-5)
    assert np.max(np.abs(out["mutual_information"])) < 1e-4


def test_bayesian_graph_matches_the_learners_uncertainty(tmp_path: Path, learner, data) -> None:
    export.to_onnx_bayesian(learner, tmp_path / "b.onnx", samples=2000)
    X = data[0][:100]
    out = run_onnx(tmp_path / "b.onnx", X)
    assert np.allclose(out["probs"].sum(axis=1), 1.0, atol=1e-5)
    assert np.max(np.abs(out["probs"] - learner.predict_proba(X, samples=2000))) < 0.06
    u = learner.uncertainty(X, samples=2000)
    # two Monte Carlo estimates (2000 samples each, different generators): compare on average
    assert np.mean(np.abs(out["mutual_information"] - u.epistemic)) < 0.04
    assert np.mean(np.abs(out["predictive_entropy"] - u.predictive)) < 0.04
    assert np.min(out["mutual_information"]) > -1e-4


def test_bayesian_rejects_negative_sigma(tmp_path: Path) -> None:
    stub = StubLearner([np.ones((3, 2))], sigmas=[-np.ones((3, 2))])
    with pytest.raises(ValueError, match="negative sigma"):
        export.to_onnx_bayesian(stub, tmp_path / "b.onnx")
    with pytest.raises(ValueError, match="samples"):
        export.to_onnx_bayesian(StubLearner([np.ones((3, 2))]), tmp_path / "b.onnx", samples=0)
    assert list(tmp_path.iterdir()) == []
