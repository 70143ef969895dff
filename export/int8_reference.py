"""Our own int8 reference of the exported network: explicit TFLite integer arithmetic in numpy int64.

Two choices are named variants because runtimes differ, and each runtime matches exactly one pair
(measured bit-exact in ``tests/test_export_tflite.py`` and ``tests/test_tflm.py``; ai-edge-litert 2.3 and
tflite-micro 0.dev20261023182759, x86-64 with AVX-512):

=================  ======================================  =================================
runtime            requantisation (``RequantRounding``)    softmax (``Softmax``)
=================  ======================================  =================================
``"auto"``         ``FP32`` (XNNPACK delegate)             ``LUT`` (optimised kernel)
``"builtin"``      ``DOUBLE_UP`` (ruy x86 kernels)         ``LUT``
``"reference"``    ``SINGLE`` (TFLITE_SINGLE_ROUNDING)     ``GEMMLOWP`` (fixed-point exp)
``"tflm"``         ``DOUBLE`` (gemmlowp SRDHM + RDBPOT)    ``GEMMLOWP``
=================  ======================================  =================================

The first three are LiteRT op resolvers (:mod:`export.runtime`); ``"tflm"`` is TensorFlow Lite Micro
(:mod:`export.tflm`), whose kernels are built without ``TFLITE_SINGLE_ROUNDING`` and so round twice. On
the networks measured, 0.3-6 % of rows then differ from each LiteRT resolver: logits by 1 LSB, and
through the softmax probabilities by up to several LSB. The figures are measured and reported for each
artefact (:func:`export.tflm.compare_runtimes`, the export report's ``tflm_vs_litert``), never assumed.
The default of :func:`run_reference` is the integer-only reference-kernel pair ``(SINGLE, GEMMLOWP)``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from .fixedpoint import INT32_MAX, INT32_MIN, RequantRounding, multiply_by_quantized_multiplier
from .quant import INT8_MAX, INT8_MIN, ActQuant, DenseInt8, Int8MLP
from .softmax_fixed import softmax_int8_gemmlowp

__all__ = [
    "RequantRounding",
    "Softmax",
    "ReferenceOutputs",
    "RUNTIME_VARIANTS",
    "fully_connected",
    "requantize",
    "softmax_lut_table",
    "softmax_int8_lut",
    "run_reference",
]


class Softmax(str, enum.Enum):
    """Int8 softmax implementation."""

    LUT = "lut"  # LiteRT optimised kernel: float32 exp table, float32 normalisation, std::round
    GEMMLOWP = "gemmlowp"  # LiteRT reference kernel / TFLite Micro: gemmlowp fixed-point exp and reciprocal


#: the (rounding, softmax) pair each runtime matches bit for bit: LiteRT's op resolvers (see
#: :mod:`export.runtime`) and TensorFlow Lite Micro (``"tflm"``, see :mod:`export.tflm`).
RUNTIME_VARIANTS: dict[str, tuple[RequantRounding, Softmax]] = {
    "auto": (RequantRounding.FP32, Softmax.LUT),
    "builtin": (RequantRounding.DOUBLE_UP, Softmax.LUT),
    "reference": (RequantRounding.SINGLE, Softmax.GEMMLOWP),
    "tflm": (RequantRounding.DOUBLE, Softmax.GEMMLOWP),
}


def fully_connected(
    x_q: np.ndarray, layer: DenseInt8, rounding: RequantRounding | str = RequantRounding.SINGLE
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel int8 FULLY_CONNECTED; returns ``(int8 output, int32 accumulator before requantising)``.

    ``acc_c = Σ_d W_q[c, d]·(x_q[d] − zp_in) + b_q[c]``;
    ``out_c = clamp(MultiplyByQuantizedMultiplier(acc_c, m_c, shift_c) + zp_out, act_min, act_max)``.
    """
    x = np.asarray(x_q, dtype=np.int64) - layer.input.zero_point
    acc = x @ layer.weight.astype(np.int64).T + layer.bias.astype(np.int64)
    if np.any(acc < INT32_MIN) or np.any(acc > INT32_MAX):
        raise OverflowError("int32 accumulator overflow in fully_connected")  # excluded by MAX_FAN_IN
    y = requantize(acc, layer, rounding)
    y = np.clip(y + layer.output.zero_point, layer.act_min, layer.act_max)
    return y.astype(np.int8), acc


def requantize(
    acc: np.ndarray, layer: DenseInt8, rounding: RequantRounding | str = RequantRounding.SINGLE
) -> np.ndarray:
    """int32 accumulators → output units (before the zero point), per channel, as ``rounding`` says.

    Integer variants call :func:`export.fixedpoint.multiply_by_quantized_multiplier`; ``FP32`` is
    XNNPACK's ``rint(float32(acc) · scale_f32[c])`` (round half to even).
    """
    rounding = RequantRounding(rounding)
    if rounding is RequantRounding.FP32:
        scaled = (np.asarray(acc, dtype=np.int64).astype(np.float32) * layer.scale_f32).astype(np.float32)
        return np.rint(scaled).astype(np.int64)
    return multiply_by_quantized_multiplier(acc, layer.multiplier, layer.shift, rounding)


def softmax_lut_table(input_scale: float, beta: float = 1.0) -> np.ndarray:
    """LiteRT ``PopulateSoftmaxLookupTable``: ``table[255 − k] = expf(−input_scale·beta·k)`` in float32.

    ``expf`` is evaluated in double and rounded to float32, i.e. correctly rounded; glibc's ``expf`` is
    correctly rounded in practice, and the tests compare the whole pipeline bit for bit.
    """
    scale = np.float32(-np.float32(input_scale) * np.float32(beta))
    k = np.arange(256, dtype=np.float32)
    arg = (scale * k).astype(np.float32)
    table = np.empty(256, dtype=np.float32)
    table[255 - np.arange(256)] = np.exp(arg.astype(np.float64)).astype(np.float32)
    return table


def softmax_int8_lut(logits_q: np.ndarray, logits: ActQuant, out: ActQuant, beta: float = 1.0) -> np.ndarray:
    """LiteRT's optimised int8 softmax over rows, reproduced operation by operation in float32."""
    q = np.asarray(logits_q, dtype=np.int64)
    table = softmax_lut_table(logits.scale, beta)
    vals = table[255 - q.max(axis=1, keepdims=True) + q]  # table_offset[x] = table[255 - max + x]
    total = np.zeros(q.shape[0], dtype=np.float32)
    for j in range(q.shape[1]):  # sequential float32 accumulation, as the C loop
        total = (total + vals[:, j]).astype(np.float32)
    inv = (np.float32(1.0) / (total * np.float32(out.scale))).astype(np.float32)
    prob = (vals * inv[:, None]).astype(np.float32)
    rounded = np.floor(prob.astype(np.float64) + 0.5)  # std::round of a non-negative float
    return np.clip(rounded + out.zero_point, INT8_MIN, INT8_MAX).astype(np.int8)


@dataclass(frozen=True)
class ReferenceOutputs:
    """int8 outputs of every layer (the last is the logits), the int8 probabilities and the accumulators."""

    layers: tuple[np.ndarray, ...]
    probs: np.ndarray
    accumulators: tuple[np.ndarray, ...]

    @property
    def logits(self) -> np.ndarray:
        return self.layers[-1]


def run_reference(
    plan: Int8MLP,
    x_q: np.ndarray,
    rounding: RequantRounding | str = RequantRounding.SINGLE,
    softmax: Softmax | str = Softmax.GEMMLOWP,
) -> ReferenceOutputs:
    """Run the int8 network on int8 inputs ``x_q`` (n, n_in) with TFLite's arithmetic.

    ``RUNTIME_VARIANTS[resolver]`` gives the pair that reproduces a LiteRT op resolver bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> from export.quant import quantize_mlp
    >>> rng = np.random.default_rng(0)
    >>> params = [(rng.normal(size=(4, 3)), np.zeros(3)), (rng.normal(size=(3, 2)), np.zeros(2))]
    >>> X = rng.normal(size=(50, 4))
    >>> plan = quantize_mlp(params, X)
    >>> out = run_reference(plan, plan.quantize_input(X))
    >>> out.probs.dtype, out.probs.shape, out.logits.shape
    (dtype('int8'), (50, 2), (50, 2))
    """
    rounding, softmax = RequantRounding(rounding), Softmax(softmax)
    a = np.asarray(x_q)
    if a.dtype != np.int8 or a.ndim != 2 or a.shape[1] != plan.sizes[0]:
        raise ValueError(f"x_q must be int8 of shape (n, {plan.sizes[0]}), got {a.dtype} {a.shape}")
    outs, accs = [], []
    for layer in plan.layers:
        a, acc = fully_connected(a, layer, rounding)
        outs.append(a)
        accs.append(acc)
    if softmax is Softmax.LUT:
        probs = softmax_int8_lut(a, plan.logits, plan.probs, plan.beta)
    else:
        probs = softmax_int8_gemmlowp(a, plan.logits.scale, plan.beta, rounding)
    return ReferenceOutputs(layers=tuple(outs), probs=probs, accumulators=tuple(accs))
