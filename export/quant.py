"""The int8 plan of a mean network, following the TFLite int8 quantisation spec.

Everything float-derived is computed once here ("prepare once", as TFLite Micro does); the int8 reference
and the TFLite writer only read the plan.

- weights: per output channel, symmetric, int8 in [-127, 127], zero point 0, scale ``max|W_c| / 127``,
  stored ``(out, in)``; quantized dimension 0.
- bias: int32, scale ``s_in * s_w[c]`` (float32 product), zero point 0.
- activations: asymmetric int8 in [-128, 127]; scale and zero point from the calibration min/max, the
  range first widened to include 0 (so real 0 is exact), zero point nudged to an integer.
- softmax output: scale 1/256, zero point -128 (fixed by the spec).

Scales are float32 (what the flatbuffer stores); multipliers are derived from those float32 values in
double precision exactly as TFLite's ``Prepare`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ActQuant",
    "DenseInt8",
    "Int8MLP",
    "quantize_mlp",
    "quantize_multiplier",
    "round_half_away",
    "choose_act_quant",
    "SOFTMAX_OUTPUT",
    "make_dense",
    "dense_from_int8",
    "float_layer_outputs",
]

INT8_MIN, INT8_MAX = -128, 127
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def round_half_away(x: np.ndarray | float) -> np.ndarray:
    """Round to nearest, ties away from zero (C's ``std::round``); numpy's ``round`` ties to even."""
    a = np.asarray(x, dtype=np.float64)
    return np.sign(a) * np.floor(np.abs(a) + 0.5)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplier``: ``real ≈ m · 2^(shift − 31)`` with ``m`` a Q0.31 int32 in [2^30, 2^31).

    ``real = 0`` gives ``(0, 0)``; a shift below −31 flushes to ``(0, 0)``; a shift above 30 saturates
    to ``(2^31 − 1, 30)`` (the single-rounding limit).
    """
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"multiplier must be finite and >= 0, got {real}")
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = int(round_half_away(q * (1 << 31)))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        return (1 << 31) - 1, 30
    return q_fixed, shift


@dataclass(frozen=True)
class ActQuant:
    """Asymmetric int8 activation format: ``real = scale · (q − zero_point)``, ``scale`` a float32 value."""

    scale: float
    zero_point: int

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Float → int8 (round half away from zero, saturate)."""
        q = round_half_away(np.asarray(x, dtype=np.float64) / self.scale) + self.zero_point
        return np.clip(q, INT8_MIN, INT8_MAX).astype(np.int8)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        return (np.asarray(q, dtype=np.float64) - self.zero_point) * self.scale


#: the softmax output format the TFLite spec demands for int8.
SOFTMAX_OUTPUT = ActQuant(scale=1.0 / 256.0, zero_point=-128)


def choose_act_quant(lo: float, hi: float) -> ActQuant:
    """Scale and zero point for the real range ``[lo, hi]`` widened to include 0 (TFLite's nudging)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-12:  # degenerate (e.g. a dead ReLU layer): any scale represents 0 exactly
        hi = lo + 1.0
    scale = float(np.float32((hi - lo) / (INT8_MAX - INT8_MIN)))
    zp_real = INT8_MIN - lo / scale
    zp = int(np.clip(round_half_away(zp_real), INT8_MIN, INT8_MAX))
    return ActQuant(scale=scale, zero_point=zp)


@dataclass(frozen=True)
class DenseInt8:
    """One int8 FULLY_CONNECTED layer: ``out = clamp(zp_out + M_c · (Σ W_q (x_q − zp_in) + b_q))``."""

    weight: np.ndarray  # int8 (out, in)
    weight_scale: np.ndarray  # float32 (out,)
    bias: np.ndarray  # int32 (out,)
    bias_scale: np.ndarray  # float32 (out,) = s_in · s_w
    input: ActQuant
    output: ActQuant
    relu: bool
    multiplier: np.ndarray  # int64 (out,) Q0.31
    shift: np.ndarray  # int64 (out,) power-of-two exponent (positive = left)

    @property
    def scale_f32(self) -> np.ndarray:
        """XNNPACK's float32 requantisation scale ``(s_in · s_w[c]) / s_out`` evaluated in float32."""
        prod = (np.float32(self.input.scale) * self.weight_scale.astype(np.float32)).astype(np.float32)
        return (prod / np.float32(self.output.scale)).astype(np.float32)

    @property
    def act_min(self) -> int:
        """Lower clamp: the fused ReLU's quantised 0, else −128 (``CalculateActivationRangeQuantized``)."""
        return max(INT8_MIN, self.output.zero_point) if self.relu else INT8_MIN

    @property
    def act_max(self) -> int:
        return INT8_MAX


@dataclass(frozen=True)
class Int8MLP:
    """The whole int8 network: dense layers, then an int8 softmax (beta 1) on the last layer's output."""

    layers: tuple[DenseInt8, ...]
    probs: ActQuant = SOFTMAX_OUTPUT
    beta: float = 1.0

    @property
    def input(self) -> ActQuant:
        return self.layers[0].input

    @property
    def logits(self) -> ActQuant:
        return self.layers[-1].output

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.layers[0].weight.shape[1],) + tuple(int(d.weight.shape[0]) for d in self.layers)

    def quantize_input(self, X: np.ndarray) -> np.ndarray:
        """Float inputs → the model's int8 input tensor."""
        return self.input.quantize(X)


def _weights_int8(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel symmetric int8 of ``W`` (fan_in, fan_out) → (int8 (out, in), float32 scales)."""
    Wt = W.T
    amax = np.max(np.abs(Wt), axis=1)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(round_half_away(Wt / scale.astype(np.float64)[:, None]), -127, 127).astype(np.int8)
    return q, scale


def dense_from_int8(
    wq: np.ndarray, ws: np.ndarray, bq: np.ndarray, inp: ActQuant, out: ActQuant, relu: bool
) -> DenseInt8:
    """A layer from its stored int8 weights / float32 scales / int32 bias: derive multipliers like TFLite.

    ``M_c = double(s_in) · double(s_w[c]) / double(s_out)`` → :func:`quantize_multiplier`.
    """
    ws = np.asarray(ws, dtype=np.float32)
    pairs = [quantize_multiplier(float(np.float64(inp.scale) * np.float64(s) / np.float64(out.scale))) for s in ws]
    return DenseInt8(
        weight=np.asarray(wq, dtype=np.int8),
        weight_scale=ws,
        bias=np.asarray(bq, dtype=np.int32),
        bias_scale=(np.float32(inp.scale) * ws).astype(np.float32),
        input=inp,
        output=out,
        relu=relu,
        multiplier=np.array([m for m, _ in pairs], dtype=np.int64),
        shift=np.array([s for _, s in pairs], dtype=np.int64),
    )


def make_dense(W: np.ndarray, b: np.ndarray, inp: ActQuant, out: ActQuant, relu: bool) -> DenseInt8:
    """Quantise one float layer ``W`` (fan_in, fan_out), ``b`` given its input and output formats."""
    wq, ws = _weights_int8(W)
    bias_scale = (np.float32(inp.scale) * ws).astype(np.float32)
    bq = round_half_away(b / bias_scale.astype(np.float64))
    if np.any(bq < INT32_MIN) or np.any(bq > INT32_MAX):
        raise ValueError("a bias does not fit in int32 at scale s_in·s_w; the layer cannot be quantised")
    return dense_from_int8(wq, ws, bq.astype(np.int32), inp, out, relu)


def float_layer_outputs(params: list[tuple[np.ndarray, np.ndarray]], X: np.ndarray) -> list[np.ndarray]:
    """Float64 output of every layer of the mean network: ReLU'd hidden layers, then the logits."""
    outs, a = [], np.asarray(X, dtype=np.float64)
    for i, (W, b) in enumerate(params):
        z = a @ W + b
        a = np.maximum(z, 0.0) if i < len(params) - 1 else z
        outs.append(a)
    return outs


def quantize_mlp(params: list[tuple[np.ndarray, np.ndarray]], calibration: np.ndarray) -> Int8MLP:
    """Build the int8 plan of a float mean network from a (validated) calibration set.

    Activation ranges are the min/max of the float network's layer outputs over ``calibration``.
    """
    X = np.asarray(calibration, dtype=np.float64)
    acts = [X] + float_layer_outputs(params, X)
    fmts = [choose_act_quant(a.min(), a.max()) for a in acts]
    last = len(params) - 1
    layers = tuple(make_dense(W, b, fmts[i], fmts[i + 1], relu=i < last) for i, (W, b) in enumerate(params))
    return Int8MLP(layers=layers)
