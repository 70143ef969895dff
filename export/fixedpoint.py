"""Integer helpers of TFLite/gemmlowp requantisation, in numpy int64: the module a C port must match.

Each helper names its rounding rule in its docstring. Inputs are int32-range values held in int64 (so
products of two int32 never overflow); outputs are int32-range int64.
"""

from __future__ import annotations

import enum

import numpy as np

__all__ = [
    "RequantRounding",
    "INT32_MIN",
    "INT32_MAX",
    "saturating_rounding_doubling_high_mul",
    "rounding_divide_by_pot",
    "saturating_left_shift",
    "multiply_by_quantized_multiplier",
    "multiply_by_quantized_multiplier_gt_one",
    "rounding_half_sum",
    "count_leading_zeros32",
]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class RequantRounding(str, enum.Enum):
    """Requantisation rounding of ``MultiplyByQuantizedMultiplier`` (``x·m·2^(shift−31)``, shift <= 0).

    - ``SINGLE``: one rounding, ties toward +inf — TFLite built with ``TFLITE_SINGLE_ROUNDING`` (LiteRT's
      reference kernels, measured) and ruy's reference ``ApplyMultiplier``.
    - ``DOUBLE``: gemmlowp — ``SRDHM`` (ties toward +inf) then ``RoundingDivideByPOT`` (ties away from 0);
      TFLite without ``TFLITE_SINGLE_ROUNDING``: TensorFlow Lite Micro (measured bit-exact,
      ``tests/test_tflm.py``).
    - ``DOUBLE_UP``: ``SRDHM`` then a rounding right shift with ties toward +inf — LiteRT's optimised
      (ruy) x86 kernels when no delegate is applied.
    - ``FP32``: not a multiplier at all — XNNPACK's ``fp32`` requantisation: ``float32(acc)`` times the
      float32 scale ``s_in·s_w/s_out``, rounded half to even. The default LiteRT interpreter (XNNPACK
      delegate) runs this; it is the one variant that uses floating point.
    """

    SINGLE = "single"
    DOUBLE = "double"
    DOUBLE_UP = "double_up"
    FP32 = "fp32"


def _i64(x: object) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def saturating_rounding_doubling_high_mul(a: object, b: object) -> np.ndarray:
    """gemmlowp ``SRDHM``: ``round(a·b / 2^31)``, ties toward +inf; ``INT32_MIN·INT32_MIN`` saturates.

    Written as gemmlowp does — nudge ``2^30`` (``1 − 2^30`` for negative products), then division
    truncating toward 0 — which equals ``(a·b + 2^30) >> 31``.
    """
    a, b = _i64(a), _i64(b)
    ab = a * b
    s = ab + np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    high = np.where(s >= 0, s >> 31, -((-s) >> 31))  # C integer division truncates toward zero
    return np.where((a == INT32_MIN) & (b == INT32_MIN), np.int64(INT32_MAX), high)


def rounding_divide_by_pot(x: object, exponent: object) -> np.ndarray:
    """gemmlowp ``RoundingDivideByPOT``: ``x / 2^exponent`` to nearest, ties away from 0 (exponent 0..31)."""
    x, e = _i64(x), _i64(exponent)
    mask = (np.int64(1) << e) - 1
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + ((x & mask) > threshold)


def saturating_left_shift(x: object, exponent: int) -> np.ndarray:
    """gemmlowp ``SaturatingRoundingMultiplyByPOT<exponent>`` for exponent > 0: ``x·2^e`` clamped to int32."""
    x = _i64(x)
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, x << exponent))


def multiply_by_quantized_multiplier(
    x: object, multiplier: object, shift: object, rounding: RequantRounding | str = RequantRounding.SINGLE
) -> np.ndarray:
    """TFLite ``MultiplyByQuantizedMultiplier``: ``x · m · 2^(shift − 31)`` with ``m`` a Q0.31 multiplier.

    ``SINGLE``: ``(x·m + 2^(30 − shift)) >> (31 − shift)`` — one rounding, ties toward +inf.
    ``DOUBLE``: ``RoundingDivideByPOT(SRDHM(x·2^max(shift,0), m), max(−shift,0))``.
    ``DOUBLE_UP``: ``(h + 2^(k−1)) >> k`` with ``h = SRDHM(x·2^max(shift,0), m)``, ``k = max(−shift,0)``.
    (TFLite forms ``x·2^left`` in int32; our plans only use shift <= 0, so nothing wraps.)
    """
    rounding = RequantRounding(rounding)
    if rounding is RequantRounding.FP32:
        raise ValueError("RequantRounding.FP32 is a float requantisation; use export.int8_reference.requantize")
    x, m, s = _i64(x), _i64(multiplier), _i64(shift)
    if rounding is RequantRounding.SINGLE:
        total = 31 - s
        return (x * m + (np.int64(1) << (total - 1))) >> total
    high = saturating_rounding_doubling_high_mul(x << np.maximum(s, 0), m)
    right = np.maximum(-s, 0)
    if rounding is RequantRounding.DOUBLE:
        return rounding_divide_by_pot(high, right)
    return (high + ((np.int64(1) << right) >> 1)) >> right


def multiply_by_quantized_multiplier_gt_one(
    x: object, multiplier: int, left_shift: int, rounding: RequantRounding | str = RequantRounding.SINGLE
) -> np.ndarray:
    """TFLite ``MultiplyByQuantizedMultiplierGreaterThanOne`` (left_shift >= 0).

    ``SINGLE``: same as :func:`multiply_by_quantized_multiplier`; otherwise ``SRDHM(x·2^left_shift, m)``.
    """
    if RequantRounding(rounding) is RequantRounding.SINGLE:
        return multiply_by_quantized_multiplier(x, multiplier, left_shift, RequantRounding.SINGLE)
    return saturating_rounding_doubling_high_mul(_i64(x) << left_shift, multiplier)


def rounding_half_sum(a: object, b: object) -> np.ndarray:
    """gemmlowp ``RoundingHalfSum``: ``(a + b ± 1) / 2`` truncated toward 0 (ties away from 0)."""
    s = _i64(a) + _i64(b)
    t = s + np.where(s >= 0, 1, -1)
    return np.where(t >= 0, t >> 1, -((-t) >> 1))


def count_leading_zeros32(x: object) -> np.ndarray:
    """Leading zero bits of ``x`` taken as a uint32 (32 for 0), by binary search on the bit length."""
    v = _i64(x) & 0xFFFFFFFF
    zero = v == 0
    top = np.zeros(v.shape, dtype=np.int64)  # index of the highest set bit
    for step in (16, 8, 4, 2, 1):
        big = v >= (np.int64(1) << step)
        top = top + np.where(big, step, 0)
        v = np.where(big, v >> step, v)
    return np.where(zero, 32, 31 - top)
