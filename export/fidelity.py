"""Quantisation fidelity: float mean weights vs ONNX float vs ONNX int8 vs TFLite int8 (vs fixed point).

For each model on the same inputs: accuracy, argmax agreement with the learner's mean-weight prediction,
the largest absolute logit error against the float64 mean network, and per-layer SQNR in dB
(``10·log10(Σ f² / Σ (f − q)²)`` of each layer's dequantised output q against the float output f; hidden
layers after ReLU, the last layer's logits).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.interface import StreamingLearner

from ._checks import check_calibration, mean_network
from .int8_reference import RUNTIME_VARIANTS, run_reference
from .quant import float_layer_outputs
from .report import ExportReport
from .runtime import run_onnx, run_tflite
from .tflite_export import model_to_plan
from .tflite_schema import Model

__all__ = ["FidelityRow", "FidelityReport", "fidelity_report", "sqnr_db"]

Artefact = str | os.PathLike | ExportReport  # a path, or the report of the export that wrote it


def sqnr_db(reference: np.ndarray, test: np.ndarray) -> float:
    """``10·log10(Σ ref² / Σ (ref − test)²)`` in dB: +inf when equal, nan when the reference is all 0."""
    ref = np.asarray(reference, dtype=np.float64)
    noise = float(np.sum((ref - np.asarray(test, dtype=np.float64)) ** 2))
    signal = float(np.sum(ref**2))
    if noise == 0.0:
        return math.inf
    return 10.0 * math.log10(signal / noise) if signal > 0 else math.nan


@dataclass(frozen=True)
class FidelityRow:
    """One model's fidelity numbers; ``layer_sqnr_db`` per layer (hidden..., logits), empty if unknown."""

    name: str
    accuracy: float
    agreement: float
    max_abs_logit_error: float | None
    layer_sqnr_db: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        def num(v: float | None) -> float | None:
            return None if v is None or not math.isfinite(v) else float(v)

        return {
            "name": self.name,
            "accuracy": self.accuracy,
            "agreement": self.agreement,
            "max_abs_logit_error": num(self.max_abs_logit_error),
            "layer_sqnr_db": [num(v) for v in self.layer_sqnr_db],
        }


@dataclass(frozen=True)
class FidelityReport:
    """Fidelity of every artefact on ``n_samples`` inputs; ``notes`` say how each row was obtained."""

    n_samples: int
    layers: tuple[int, ...]
    rows: tuple[FidelityRow, ...]
    notes: tuple[str, ...] = field(default=())

    def row(self, name: str) -> FidelityRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no row {name!r}; rows: {[r.name for r in self.rows]}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite numbers become ``None``)."""
        return {
            "n_samples": self.n_samples,
            "layers": list(self.layers),
            "rows": [r.to_dict() for r in self.rows],
            "notes": list(self.notes),
        }

    def format_table(self) -> str:
        """Fixed-width table for printing, one line per model, then the notes."""
        n_sq = len(self.layers) - 1
        head = f"{'model':<14} {'accuracy':>9} {'agreement':>10} {'max|dlogit|':>12} " + " ".join(
            f"{'SQNR L' + str(i) + ' dB':>12}" for i in range(n_sq)
        )
        lines = [f"fidelity on {self.n_samples} samples, layers {self.layers}", head, "-" * len(head)]
        for r in self.rows:
            err = "-" if r.max_abs_logit_error is None else f"{r.max_abs_logit_error:.4g}"
            sq = [f"{v:>12.1f}" if math.isfinite(v) else f"{'inf' if v > 0 else '-':>12}" for v in r.layer_sqnr_db]
            sq += [f"{'-':>12}"] * (n_sq - len(sq))
            lines.append(f"{r.name:<14} {100 * r.accuracy:>8.2f}% {100 * r.agreement:>9.2f}% {err:>12} " + " ".join(sq))
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def _path(artefact: Artefact) -> Path:
    return Path(artefact.path) if isinstance(artefact, ExportReport) else Path(artefact)


def _row(
    name: str,
    logits: np.ndarray,
    y: np.ndarray,
    ref_pred: np.ndarray,
    float_outs: list[np.ndarray],
    layer_outs: list[np.ndarray] | None,
) -> FidelityRow:
    pred = np.asarray(logits).argmax(axis=1)
    sq = tuple(sqnr_db(f, q) for f, q in zip(float_outs, layer_outs, strict=True)) if layer_outs else ()
    return FidelityRow(
        name,
        float(np.mean(pred == y)),
        float(np.mean(pred == ref_pred)),
        float(np.max(np.abs(np.asarray(logits, dtype=np.float64) - float_outs[-1]))),
        sq,
    )


def _onnx_layer_outputs(path: Path, X: np.ndarray, n_layers: int) -> list[np.ndarray]:
    """Dequantised layer outputs of a QDQ model: the DequantizeLinear output after each layer's Quantize."""
    from .onnx_export import layer_output_names, onnx

    model = onnx.load(str(path))
    q_out = {n.input[0]: n.output[0] for n in model.graph.node if n.op_type == "QuantizeLinear"}
    dq_out = {n.input[0]: n.output[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    names = []
    for name in layer_output_names(n_layers):
        src = name if name in q_out else f"{name}_QuantizeLinear_Input"
        names.append(dq_out.get(q_out.get(src, ""), name))
    known = {o.name for o in model.graph.output}
    for n in names:
        if n not in known:
            model.graph.output.append(onnx.helper.make_empty_tensor_value_info(n))
    outs = run_onnx(model.SerializeToString(), X, outputs=names)
    return [outs[n] for n in names]


def _tflite_row(
    path: Path, X: np.ndarray, y: np.ndarray, ref_pred: np.ndarray, float_outs: list[np.ndarray], resolver: str
) -> tuple[FidelityRow, str]:
    data = path.read_bytes()
    plan = model_to_plan(Model.read(data))
    x_q = plan.quantize_input(X)
    got = run_tflite(data, x_q, resolver=resolver)
    ref = run_reference(plan, x_q, *RUNTIME_VARIANTS[resolver])
    exact = int(np.sum(np.all(got["logits"] == ref.logits, axis=1)))
    layers = [d.output.dequantize(q) for d, q in zip(plan.layers, ref.layers, strict=True)]
    layers[-1] = plan.logits.dequantize(got["logits"])
    note = (
        f"tflite-int8: interpreter resolver {resolver!r}; per-layer SQNR from the int8 reference "
        f"({RUNTIME_VARIANTS[resolver][0].value} rounding), whose logits equal the interpreter's on "
        f"{exact}/{len(X)} rows"
    )
    return _row("tflite-int8", layers[-1], y, ref_pred, float_outs, layers), note


def fidelity_report(
    learner: StreamingLearner,
    X: object,
    y: object,
    *,
    onnx: Artefact | None = None,
    onnx_int8: Artefact | None = None,
    tflite: Artefact | None = None,
    fixed_learner: StreamingLearner | None = None,
    tflite_resolver: str = "auto",
) -> FidelityReport:
    """Compare the learner's float mean network with its exported artefacts on ``(X, y)``.

    Parameters
    ----------
    learner : the float learner (``MESULearner`` interface); its ``predict_proba(X)`` argmax is the
        reference prediction for "agreement".
    X, y : inputs ``(n, n_in)`` and integer labels ``(n,)``.
    onnx, onnx_int8, tflite : paths (or export reports) of the artefacts to include; ``None`` skips.
    fixed_learner : a fixed-point learner with the same interface, included as row ``"fixed"``.
    tflite_resolver : LiteRT op resolver for the TFLite row (``"auto"``, ``"builtin"``, ``"reference"``).
    """
    params = mean_network(learner)
    Xa = check_calibration(X, params[0][0].shape[0], name="X")
    ya = np.asarray(y).astype(np.int64).reshape(-1)
    if ya.shape[0] != Xa.shape[0]:
        raise ValueError(f"y has {ya.shape[0]} labels for {Xa.shape[0]} inputs")
    float_outs = float_layer_outputs(params, Xa)
    ref_pred = np.asarray(learner.predict_proba(Xa, samples=0)).argmax(axis=1)
    rows = [_row("float-mean", float_outs[-1], ya, ref_pred, float_outs, float_outs)]
    notes = ["float-mean: float64 forward pass of learner.mean_params()"]
    if onnx is not None:
        layers = _onnx_layer_outputs(_path(onnx), Xa, len(params))
        rows.append(_row("onnx-float", layers[-1], ya, ref_pred, float_outs, layers))
    if onnx_int8 is not None:
        out = run_onnx(_path(onnx_int8), Xa)
        layers = _onnx_layer_outputs(_path(onnx_int8), Xa, len(params))
        rows.append(_row("onnx-int8", out["logits"], ya, ref_pred, float_outs, layers))
        notes.append(
            "onnx-int8: onnxruntime CPU; per-layer SQNR from the DequantizeLinear outputs (read by "
            "adding them as graph outputs)"
        )
    if tflite is not None:
        row, note = _tflite_row(_path(tflite), Xa, ya, ref_pred, float_outs, tflite_resolver)
        rows.append(row)
        notes.append(note)
    if fixed_learner is not None:
        rows.append(_fixed_row(fixed_learner, Xa, ya, ref_pred, float_outs))
        notes.append(
            "fixed: accuracy/agreement from its predict_proba; logit error and SQNR from the float "
            "forward pass of its mean_params() (its dequantised mean weights)"
        )
    return FidelityReport(int(Xa.shape[0]), tuple(int(s) for s in learner.layers), tuple(rows), tuple(notes))


def _fixed_row(
    fixed: StreamingLearner, X: np.ndarray, y: np.ndarray, ref_pred: np.ndarray, float_outs: list[np.ndarray]
) -> FidelityRow:
    pred = np.asarray(fixed.predict_proba(X, samples=0)).argmax(axis=1)
    outs = float_layer_outputs(mean_network(fixed), X)
    base = _row("fixed", outs[-1], y, ref_pred, float_outs, outs)
    return FidelityRow(
        "fixed",
        float(np.mean(pred == y)),
        float(np.mean(pred == ref_pred)),
        base.max_abs_logit_error,
        base.layer_sqnr_db,
    )
