"""TFLite's reference int8 softmax: gemmlowp fixed-point exp and reciprocal, in numpy int64.

This is ``reference_ops::Softmax`` for int8 input and output (what LiteRT's ``BUILTIN_REF`` resolver and
TFLite Micro run). Fixed-point formats, as gemmlowp's ``FixedPoint<int32, I>``: raw int32 with ``31 − I``
fractional bits. The input differences are rescaled to Q5.26, exp is evaluated on [−1/4, 0) by a Taylor
polynomial around −1/8 and a barrel shifter over the remaining bits, the sum is kept in Q12.19 and its
reciprocal found with three Newton–Raphson steps.
"""

from __future__ import annotations

import math

import numpy as np

from .fixedpoint import (
    INT32_MAX,
    RequantRounding,
    count_leading_zeros32,
    multiply_by_quantized_multiplier_gt_one,
    rounding_divide_by_pot,
    rounding_half_sum,
    saturating_left_shift,
)
from .fixedpoint import saturating_rounding_doubling_high_mul as srdhm
from .quant import INT8_MAX, INT8_MIN, quantize_multiplier

__all__ = ["softmax_params", "exp_on_negative_values", "one_over_one_plus_x", "softmax_int8_gemmlowp"]

SCALED_DIFF_INTEGER_BITS = 5  # Q5.26 input of exp()
ACCUM_INTEGER_BITS = 12  # Q12.19 sum of exps
_EXP_BARREL = (
    (-2, 1672461947),
    (-1, 1302514674),
    (0, 790015084),
    (1, 290630308),
    (2, 39332535),
    (3, 720401),
    (4, 242),
)  # (k, exp(-2^k) in Q0.31)


def softmax_params(
    input_scale: float, beta: float = 1.0, rounding: RequantRounding | str = RequantRounding.SINGLE
) -> tuple[int, int, int]:
    """``PreprocessSoftmaxScaling`` and ``CalculateInputRadius``: ``(multiplier, left_shift, diff_min)``."""
    cap = (1 << 30) - 1.0 if RequantRounding(rounding) is RequantRounding.SINGLE else (1 << 31) - 1.0
    real = min(float(beta) * float(input_scale) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), cap)
    if real <= 1.0:
        raise ValueError(f"softmax input scale {input_scale} too small for the reference kernel")
    multiplier, left_shift = quantize_multiplier(real)
    bits = SCALED_DIFF_INTEGER_BITS
    radius = ((1 << bits) - 1) * (1 << (31 - bits)) / (1 << left_shift)
    return multiplier, left_shift, -int(math.floor(radius))


def _exp_on_quarter_interval(a: np.ndarray) -> np.ndarray:
    """exp(a) for a in [−1/4, 0), Q0.31 in and out: Taylor expansion around −1/8."""
    constant_term, one_third = 1895147668, 715827883  # exp(-1/8), 1/3 in Q0.31
    x = a + (1 << 28)  # a + 1/8
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(srdhm(x4_over_4 + x3, one_third) + x2, 1)
    return constant_term + srdhm(constant_term, x + poly)


def exp_on_negative_values(a: np.ndarray) -> np.ndarray:
    """gemmlowp ``exp_on_negative_values``: Q5.26 input <= 0 → Q0.31 output (1.0 saturates to INT32_MAX)."""
    a = np.asarray(a, dtype=np.int64)
    frac_bits = 31 - SCALED_DIFF_INTEGER_BITS
    quarter = 1 << (frac_bits - 2)
    a_mod = (a & (quarter - 1)) - quarter
    result = _exp_on_quarter_interval(saturating_left_shift(a_mod, SCALED_DIFF_INTEGER_BITS))
    remainder = a_mod - a
    for k, mult in _EXP_BARREL:
        hit = (remainder & (np.int64(1) << (frac_bits + k))) != 0
        result = np.where(hit, srdhm(result, mult), result)
    return np.where(a == 0, INT32_MAX, result)


def one_over_one_plus_x(a: np.ndarray) -> np.ndarray:
    """gemmlowp ``one_over_one_plus_x_for_x_in_0_1``: Q0.31 ``a`` in [0, 1) → 1/(1+a) in Q0.31."""
    half_den = rounding_half_sum(a, INT32_MAX)  # Q0.31
    one_q2 = 1 << 29
    x = 1515870810 + srdhm(half_den, -1010580540)  # 48/17 − 32/17·d, Q2.29
    for _ in range(3):
        t = one_q2 - srdhm(half_den, x)
        x = x + saturating_left_shift(srdhm(x, t), 2)  # Q4.27 product rescaled to Q2.29
    return saturating_left_shift(x, 1)  # (x / 2) as Q1.30, rescaled to Q0.31


def _reciprocal(sum_of_exps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TFLite ``GetReciprocal`` of a Q12.19 sum: ``(Q0.31 scale, num_bits_over_unit)``."""
    headroom_plus_one = count_leading_zeros32(sum_of_exps)
    bits_over_unit = ACCUM_INTEGER_BITS - headroom_plus_one
    shifted = ((sum_of_exps << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31)
    return one_over_one_plus_x(shifted), bits_over_unit


def softmax_int8_gemmlowp(
    logits_q: np.ndarray,
    input_scale: float,
    beta: float = 1.0,
    rounding: RequantRounding | str = RequantRounding.SINGLE,
) -> np.ndarray:
    """Reference int8 softmax over rows of ``logits_q``; output scale 1/256, zero point −128."""
    multiplier, left_shift, diff_min = softmax_params(input_scale, beta, rounding)
    q = np.asarray(logits_q, dtype=np.int64)
    diff = q - q.max(axis=1, keepdims=True)
    live = diff >= diff_min
    scaled = multiply_by_quantized_multiplier_gt_one(np.where(live, diff, 0), multiplier, left_shift, rounding)
    exps = np.where(live, exp_on_negative_values(scaled), 0)
    sum_of_exps = rounding_divide_by_pot(exps, ACCUM_INTEGER_BITS).sum(axis=1)  # Q0.31 → Q12.19 terms
    scale, bits_over_unit = _reciprocal(sum_of_exps)
    exponent = bits_over_unit + 31 - 8
    out = rounding_divide_by_pot(srdhm(scale[:, None], exps), exponent[:, None]) + INT8_MIN
    return np.where(live, np.clip(out, INT8_MIN, INT8_MAX), INT8_MIN).astype(np.int8)
