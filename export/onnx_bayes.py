"""A "Bayesian" ONNX graph: K weight samples drawn inside the graph with RandomNormalLike.

For every parameter ``w = μ + σ·ε``, ``ε ~ N(0, 1)`` of shape ``[K, ...]`` (``K`` fixed at export). The
network runs on all K samples at once (batched MatMul, ``[K, batch, width]``), then:

- ``probs`` [batch, C]: mean over samples of softmax(logits_k);
- ``mutual_information`` [batch]: H(mean_k p_k) − mean_k H(p_k), in bits — the epistemic (OOD) score of
  :meth:`edge_mesu.MESULearner.uncertainty`;
- ``predictive_entropy`` [batch]: H(mean_k p_k) in bits.

In onnxruntime, consecutive runs of one session draw fresh ε, and every new session repeats the same
sequence of draws (``seed`` selects another sequence).
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np

from edge_mesu.errors import MissingExtraError

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:
    raise MissingExtraError("Bayesian ONNX export", "onnx", "onnx") from None

from edge_mesu.interface import Describable, NetworkDescription
from edge_mesu.statefile import atomic_write_bytes

from ._checks import check_output_path, posterior_network
from .onnx_export import DEFAULT_OPSET, _ops, check_opset, tensor_formats
from .report import ExportReport

__all__ = ["to_onnx_bayesian", "build_bayesian_model"]

_TINY = 1e-30  # p·log(max(p, tiny)) = 0 for p = 0


class _Graph:
    """Tiny node/initializer accumulator with unique names."""

    def __init__(self, opset: int) -> None:
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], out: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def reduce(self, op_type: str, x: str, axis: int, out: str) -> str:
        """ReduceSum/ReduceMean over one axis without keepdims (axes as input from opset 13/18)."""
        new_api = self.opset >= (13 if op_type == "ReduceSum" else 18)
        if new_api:
            axes = self.const(f"{out}/axes", np.array([axis], dtype=np.int64))
            return self.op(op_type, [x, axes], out, keepdims=0)
        return self.op(op_type, [x], out, axes=[axis], keepdims=0)

    def entropy_bits(self, p: str, out: str) -> str:
        """−Σ p·log2 p over the last axis."""
        tiny = self.const(f"{out}/tiny", np.array(_TINY, dtype=np.float32))
        logp = self.op("Log", [self.op("Max", [p, tiny], f"{out}/clamped")], f"{out}/log")
        s = self.reduce("ReduceSum", self.op("Mul", [p, logp], f"{out}/plogp"), -1, f"{out}/sum")
        scale = self.const(f"{out}/neg_inv_ln2", np.array(-1.0 / math.log(2.0), dtype=np.float32))
        return self.op("Mul", [s, scale], out)


def _sample(g: _Graph, name: str, mu: np.ndarray, sigma: np.ndarray, shape: tuple[int, ...], seed: float | None) -> str:
    """``μ + σ·ε`` broadcast to ``shape`` with ``ε = RandomNormalLike``."""
    mu_k = g.op(
        "Expand",
        [g.const(f"mu_{name}", mu.astype(np.float32)), g.const(f"{name}/shape", np.array(shape, dtype=np.int64))],
        f"{name}/mu_k",
    )
    attrs = {"mean": 0.0, "scale": 1.0} | ({} if seed is None else {"seed": float(seed)})
    eps = g.op("RandomNormalLike", [mu_k], f"{name}/eps", **attrs)
    noise = g.op("Mul", [g.const(f"sigma_{name}", sigma.astype(np.float32)), eps], f"{name}/noise")
    return g.op("Add", [mu_k, noise], f"{name}/sample")


def build_bayesian_model(
    layers: list, samples: int, opset: int = DEFAULT_OPSET, seed: float | None = None
) -> onnx.ModelProto:
    """ONNX model of the sampled network from ``[((μ_W, σ_W), (μ_b, σ_b)), ...]`` (see module doc)."""
    g = _Graph(opset)
    a = "x"
    for i, ((mu_w, sig_w), (mu_b, sig_b)) in enumerate(layers):
        w = _sample(g, f"w{i}", mu_w, sig_w, (samples,) + mu_w.shape, seed)
        b = _sample(g, f"b{i}", mu_b.reshape(1, -1), sig_b.reshape(1, -1), (samples, 1, mu_b.size), seed)
        z = g.op("Add", [g.op("MatMul", [a, w], f"dense{i}/matmul"), b], f"dense{i}/preact")
        a = g.op("Relu", [z], f"dense{i}/relu") if i < len(layers) - 1 else z
    p = g.op("Softmax", [a], "sample_probs", axis=-1)
    probs = g.reduce("ReduceMean", p, 0, "probs")
    h = g.entropy_bits(probs, "predictive_entropy")
    aleatoric = g.reduce("ReduceMean", g.entropy_bits(p, "sample_entropy"), 0, "aleatoric_entropy")
    g.op("Sub", [h, aleatoric], "mutual_information")
    n_in, n_out = layers[0][0][0].shape[0], layers[-1][0][0].shape[1]
    graph = helper.make_graph(
        g.nodes,
        "edge_mesu_bayesian_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_in])],
        [
            helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", n_out]),
            helper.make_tensor_value_info("mutual_information", TensorProto.FLOAT, ["batch"]),
            helper.make_tensor_value_info("predictive_entropy", TensorProto.FLOAT, ["batch"]),
        ],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="edge-mesu")
    model.ir_version = helper.find_min_ir_version_for([helper.make_opsetid("", opset)])
    onnx.checker.check_model(model, full_check=True)
    return model


def to_onnx_bayesian(
    learner: Describable | NetworkDescription,
    path: str | os.PathLike,
    *,
    samples: int = 10,
    opset: int = DEFAULT_OPSET,
    seed: float | None = None,
) -> ExportReport:
    """Write the posterior network (μ, σ of every parameter) as an ONNX graph sampling ``samples`` weights.

    Outputs ``probs`` (mean over samples), ``mutual_information`` and ``predictive_entropy`` (bits).
    Raises ``ValueError`` (nothing written) for a bad learner (non-finite μ/σ, negative σ), sample
    count, opset or output path.
    """
    t0 = time.perf_counter()
    layers = posterior_network(learner)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
    opset = check_opset(opset)
    target = check_output_path(path)
    model = build_bayesian_model(layers, samples, opset, seed)
    data = model.SerializeToString()
    atomic_write_bytes(target, data)
    return ExportReport(
        "onnx-bayesian",
        str(target),
        len(data),
        _ops(model),
        tensor_formats(model),
        time.perf_counter() - t0,
        {"opset": opset, "samples": samples, "seed": seed},
    )
