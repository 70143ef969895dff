"""Continual-learning metrics on hand-computed accuracy matrices."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from edge_mesu.metrics import (
    AccuracyMatrix,
    accuracy_matrix,
    average_accuracy,
    backward_transfer,
    forgetting,
    prequential_accuracy,
)

# acc[i][j]: accuracy on task j after training task i
ROWS = [[0.90], [0.80, 0.95], [0.70, 0.85, 0.96]]


def test_accuracy_matrix_pads_with_nan() -> None:
    a = accuracy_matrix(ROWS)
    assert a.shape == (3, 3)
    assert np.isnan(a[0, 1]) and np.isnan(a[0, 2]) and np.isnan(a[1, 2])
    assert a[2, 1] == 0.85
    assert np.isnan(accuracy_matrix([[0.5, None], [0.4, 0.6]])[0, 1])
    np.testing.assert_array_equal(accuracy_matrix(a), a)
    with pytest.raises(ValueError, match="no rows"):
        accuracy_matrix([])
    with pytest.raises(ValueError, match="row 0 has 3 entries"):
        accuracy_matrix([[0.1, 0.2, 0.3], [0.1, 0.2]])


def test_average_accuracy() -> None:
    assert average_accuracy(ROWS, 0) == pytest.approx(0.90)
    assert average_accuracy(ROWS, 1) == pytest.approx((0.80 + 0.95) / 2)
    assert average_accuracy(ROWS) == pytest.approx((0.70 + 0.85 + 0.96) / 3)
    with pytest.raises(ValueError, match="i must be"):
        average_accuracy(ROWS, 3)
    with pytest.raises(ValueError, match=r"acc\[1\]\[0\]"):
        average_accuracy([[0.9], [None, 0.8]], 1)


def test_backward_transfer_lopez_paz() -> None:
    # mean over j < 2 of acc[2][j] - acc[j][j] = ((0.70 - 0.90) + (0.85 - 0.95)) / 2
    assert backward_transfer(ROWS) == pytest.approx(-0.15)
    assert backward_transfer([[0.5], [0.6, 0.7]]) == pytest.approx(0.1)  # positive transfer
    with pytest.raises(ValueError, match="at least 2 tasks"):
        backward_transfer([[0.9]])


def test_forgetting_uses_best_earlier_accuracy() -> None:
    # task 0: best earlier 0.90 (row 0) -> 0.20; task 1: 0.95 -> 0.10
    assert forgetting(ROWS) == pytest.approx(0.15)
    rows = [[0.6], [0.9, 0.8], [0.7, 0.85, 0.9]]
    # task 0 peaked after task 1 (0.9): forgetting uses it, BWT does not
    assert forgetting(rows) == pytest.approx(((0.9 - 0.7) + (0.8 - 0.85)) / 2)
    assert backward_transfer(rows) == pytest.approx(((0.7 - 0.6) + (0.85 - 0.8)) / 2)


def test_full_matrix_with_forward_entries() -> None:
    # a run that also evaluated unseen tasks: the upper triangle is ignored
    full = np.array([[0.9, 0.1, 0.1], [0.8, 0.95, 0.1], [0.7, 0.85, 0.96]])
    assert backward_transfer(full) == pytest.approx(-0.15)
    assert average_accuracy(full, 1) == pytest.approx(0.875)


def test_accuracy_matrix_class_roundtrip() -> None:
    m = AccuracyMatrix(4)
    assert m.rows_done() == 0
    with pytest.raises(ValueError, match="no accuracy"):
        m.average_accuracy()
    for i, row in enumerate(ROWS):
        m.set_row(i, row)
    assert m.rows_done() == 3
    assert m[2, 1] == 0.85
    assert m.average_accuracy() == pytest.approx((0.70 + 0.85 + 0.96) / 3)
    assert m.backward_transfer() == pytest.approx(-0.15)
    assert m.forgetting() == pytest.approx(0.15)
    as_list = m.to_list()
    assert as_list[0] == [0.9, None, None, None] and as_list[3] == [None] * 4
    back = AccuracyMatrix.from_list(json.loads(json.dumps(as_list)))
    np.testing.assert_array_equal(back.array, m.array)


def test_accuracy_matrix_class_checks() -> None:
    m = AccuracyMatrix(2)
    with pytest.raises(ValueError, match="n_tasks"):
        AccuracyMatrix(0)
    with pytest.raises(ValueError, match="fraction"):
        m.set(0, 0, 1.5)
    with pytest.raises(ValueError, match="fraction"):
        m.set(0, 0, math.nan)
    with pytest.raises(ValueError, match="j must be"):
        m.set(0, 2, 0.5)
    with pytest.raises(ValueError, match="fraction"):
        m.set_row(1, [0.5, 2.0])
    assert np.all(np.isnan(m.array))  # the bad row stored nothing
    arr = m.array
    arr[0, 0] = 0.3
    assert math.isnan(m[0, 0])  # array is a copy


def test_prequential_cumulative_and_windowed() -> None:
    y_true = np.array([0, 1, 1, 0, 2, 2])
    y_pred = np.array([0, 0, 1, 0, 1, 2])
    # hits: 1 0 1 1 0 1
    np.testing.assert_allclose(prequential_accuracy(y_true, y_pred), [1, 1 / 2, 2 / 3, 3 / 4, 3 / 5, 4 / 6])
    np.testing.assert_allclose(prequential_accuracy(y_true, y_pred, window=3), [1, 1 / 2, 2 / 3, 2 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(prequential_accuracy(y_true, y_pred, window=1), [1, 0, 1, 1, 0, 1])
    assert prequential_accuracy([], []).shape == (0,)


def test_prequential_checks() -> None:
    with pytest.raises(ValueError, match="equal length"):
        prequential_accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="window"):
        prequential_accuracy([0, 1], [0, 1], window=0)
