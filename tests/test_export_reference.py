"""The int8 reference's arithmetic, checked against exact rational arithmetic and hand-worked ties."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from export.fixedpoint import (
    RequantRounding,
    count_leading_zeros32,
    multiply_by_quantized_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)
from export.int8_reference import fully_connected, requantize, run_reference, softmax_int8_lut
from export.quant import (
    SOFTMAX_OUTPUT,
    ActQuant,
    choose_act_quant,
    dense_from_int8,
    quantize_mlp,
    quantize_multiplier,
)
from export.softmax_fixed import exp_on_negative_values, one_over_one_plus_x, softmax_int8_gemmlowp

INT32 = st.integers(-(2**31), 2**31 - 1)


def _round_half_up(q: Fraction) -> int:
    return math.floor(q + Fraction(1, 2))


def _round_half_away(q: Fraction) -> int:
    return int(math.copysign(math.floor(abs(q) + Fraction(1, 2)), q)) if q != 0 else 0


@settings(max_examples=300, deadline=None)
@given(INT32, INT32)
def test_srdhm_is_round_half_up_of_the_doubled_high_product(a: int, b: int) -> None:
    got = int(saturating_rounding_doubling_high_mul(a, b))
    if a == b == -(2**31):
        assert got == 2**31 - 1
    else:
        assert got == _round_half_up(Fraction(a * b, 2**31))


@settings(max_examples=300, deadline=None)
@given(INT32, st.integers(0, 31))
def test_rounding_divide_by_pot_rounds_half_away_from_zero(x: int, e: int) -> None:
    assert int(rounding_divide_by_pot(x, e)) == _round_half_away(Fraction(x, 2**e))


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**24), 2**24), st.integers(2**30, 2**31 - 1), st.integers(-20, 0))
def test_single_rounding_is_exact_round_half_up(x: int, m: int, shift: int) -> None:
    exact = Fraction(x * m, 2 ** (31 - shift))
    assert int(multiply_by_quantized_multiplier(x, m, shift, RequantRounding.SINGLE)) == _round_half_up(exact)
    for r in (RequantRounding.DOUBLE, RequantRounding.DOUBLE_UP):  # two roundings: never more than 1 off
        assert abs(int(multiply_by_quantized_multiplier(x, m, shift, r)) - exact) <= 1


@pytest.mark.parametrize(
    ("x", "m", "shift", "single", "double", "double_up"),
    [
        (-310, 2**30, -1, -77, -78, -77),  # exact tie -77.5 in the final shift: away from 0 vs up
        (310, 2**30, -1, 78, 78, 78),  # positive tie: all round up
        (24088, 1791558044, -8, 78, 79, 79),  # 78.4986: the first rounding lands on a tie (double rounding)
        (-23583, 1806672523, -8, -78, -78, -77),  # −77.5012: measured on LiteRT's ruy kernels (−77)
    ],
)
def test_rounding_variants_on_hand_worked_ties(
    x: int, m: int, shift: int, single: int, double: int, double_up: int
) -> None:
    assert int(multiply_by_quantized_multiplier(x, m, shift, "single")) == single
    assert int(multiply_by_quantized_multiplier(x, m, shift, "double")) == double
    assert int(multiply_by_quantized_multiplier(x, m, shift, "double_up")) == double_up


def test_fp32_requantisation_rounds_half_to_even() -> None:
    layer = dense_from_int8(
        np.ones((1, 1)), np.array([0.5]), np.zeros(1), ActQuant(1.0, 0), ActQuant(1.0, 0), relu=False
    )
    acc = np.array([[145], [147], [-145]])  # 72.5, 73.5, -72.5
    assert requantize(acc, layer, "fp32").ravel().tolist() == [72, 74, -72]
    assert requantize(acc, layer, "single").ravel().tolist() == [73, 74, -72]
    with pytest.raises(ValueError, match="FP32"):
        multiply_by_quantized_multiplier(acc, layer.multiplier, layer.shift, "fp32")


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-9, 100.0, allow_nan=False))
def test_quantize_multiplier_is_a_q31_mantissa_and_exponent(real: float) -> None:
    m, shift = quantize_multiplier(real)
    assert 2**30 <= m < 2**31
    assert abs(m * 2.0 ** (shift - 31) - real) <= real * 2.0**-31


def test_quantize_multiplier_edge_cases() -> None:
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(1e-12) == (0, 0)  # shift < −31 flushes to zero
    assert quantize_multiplier(1.0) == (2**30, 1)
    with pytest.raises(ValueError):
        quantize_multiplier(-1.0)


def test_activation_range_includes_zero_and_zero_is_exact() -> None:
    q = choose_act_quant(0.5, 3.0)  # widened to [0, 3]
    assert q.zero_point == -128 and q.quantize(np.array([0.0]))[0] == -128
    q = choose_act_quant(-2.0, 1.0)
    assert q.dequantize(q.quantize(np.array([0.0])))[0] == 0.0
    assert np.float32(q.scale) == q.scale


def test_count_leading_zeros() -> None:
    xs = [0, 1, 2, 3, 255, 256, 2**30, 2**31 - 1, 2**31, 2**32 - 1]
    assert count_leading_zeros32(np.array(xs)).tolist() == [32 - int(x).bit_length() for x in xs]


def test_fixed_point_exp_and_reciprocal_are_accurate() -> None:
    a = np.linspace(-31.9, 0.0, 2001)
    got = exp_on_negative_values(np.round(a * 2**26).astype(np.int64)) / 2**31
    assert np.max(np.abs(got - np.exp(np.round(a * 2**26) / 2**26))) < 3e-7  # 4th-order Taylor on [-1/4, 0]
    x = np.linspace(0.0, 0.999, 500)
    got = one_over_one_plus_x(np.round(x * 2**31).astype(np.int64)) / 2**31
    assert np.max(np.abs(got - 1.0 / (1.0 + np.round(x * 2**31) / 2**31))) < 1e-8


@pytest.mark.parametrize("impl", ["lut", "gemmlowp"])
def test_int8_softmax_within_one_lsb_of_float(impl: str) -> None:
    rng = np.random.default_rng(0)
    q = rng.integers(-128, 128, size=(500, 10)).astype(np.int8)
    logits = ActQuant(0.1, 3)
    if impl == "lut":
        got = softmax_int8_lut(q, logits, SOFTMAX_OUTPUT)
    else:
        got = softmax_int8_gemmlowp(q, logits.scale)
    z = logits.dequantize(q)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    ideal = np.clip(np.round(p * 256) - 128, -128, 127)
    assert got.dtype == np.int8
    assert np.max(np.abs(got.astype(int) - ideal)) <= 1


def test_fully_connected_matches_float_arithmetic_within_rounding() -> None:
    rng = np.random.default_rng(1)
    W, b = rng.normal(size=(6, 5)), rng.normal(size=5)
    X = rng.normal(size=(200, 6))
    plan = quantize_mlp([(W, b), (rng.normal(size=(5, 3)), np.zeros(3))], X)
    layer = plan.layers[0]
    x_q = plan.quantize_input(X)
    y_q, acc = fully_connected(x_q, layer)
    real = (x_q.astype(np.float64) - layer.input.zero_point) @ (
        layer.weight.T * layer.weight_scale
    ) * layer.input.scale + layer.bias * layer.bias_scale
    want = np.clip(np.round(np.maximum(real, 0) / layer.output.scale) + layer.output.zero_point, -128, 127)
    assert np.max(np.abs(y_q.astype(int) - want)) <= 1
    assert acc.dtype == np.int64


def test_run_reference_rejects_bad_inputs() -> None:
    rng = np.random.default_rng(2)
    plan = quantize_mlp(
        [(rng.normal(size=(4, 3)), np.zeros(3)), (rng.normal(size=(3, 2)), np.zeros(2))], rng.normal(size=(20, 4))
    )
    with pytest.raises(ValueError, match="int8"):
        run_reference(plan, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="shape"):
        run_reference(plan, np.zeros((2, 5), dtype=np.int8))
    with pytest.raises(ValueError):
        run_reference(plan, np.zeros((2, 4), dtype=np.int8), rounding="nearest")
