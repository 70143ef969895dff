"""Permuted MNIST task construction on small synthetic arrays."""

from __future__ import annotations

import numpy as np
import pytest

from edge_mesu.data import PermutedMNIST


@pytest.fixture()
def arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X_tr = rng.normal(size=(20, 16)).astype(np.float32)
    y_tr = rng.integers(0, 10, size=20)
    X_te = rng.normal(size=(6, 16)).astype(np.float32)
    y_te = rng.integers(0, 10, size=6)
    return X_tr, y_tr, X_te, y_te


def test_permutations_seeded_and_valid(arrays) -> None:
    a = PermutedMNIST(*arrays, n_tasks=4, seed=3)
    b = PermutedMNIST(*arrays, n_tasks=4, seed=3)
    c = PermutedMNIST(*arrays, n_tasks=4, seed=4)
    np.testing.assert_array_equal(a.permutation(0), np.arange(16))
    for t in range(4):
        assert sorted(a.permutation(t).tolist()) == list(range(16))
        np.testing.assert_array_equal(a.permutation(t), b.permutation(t))
    assert any(not np.array_equal(a.permutation(t), c.permutation(t)) for t in range(1, 4))
    assert len({tuple(a.permutation(t)) for t in range(4)}) == 4


def test_first_identity_flag_only_changes_task0(arrays) -> None:
    a = PermutedMNIST(*arrays, n_tasks=3, seed=1)
    b = PermutedMNIST(*arrays, n_tasks=3, seed=1, first_identity=False)
    assert not np.array_equal(b.permutation(0), np.arange(16))
    for t in (1, 2):
        np.testing.assert_array_equal(a.permutation(t), b.permutation(t))


def test_train_stream_file_order(arrays) -> None:
    X_tr, y_tr, _, _ = arrays
    before = X_tr.copy()
    pm = PermutedMNIST(*arrays, n_tasks=3, seed=0)
    seen = []
    for t, X_t, y_t in pm.train_stream():
        seen.append(t)
        np.testing.assert_array_equal(X_t, X_tr[:, pm.permutation(t)])
        np.testing.assert_array_equal(y_t, y_tr)
    assert seen == [0, 1, 2]
    np.testing.assert_array_equal(X_tr, before)  # input not mutated


def test_test_set_and_permute(arrays) -> None:
    _, _, X_te, y_te = arrays
    pm = PermutedMNIST(*arrays, n_tasks=2, seed=0)
    X1, y1 = pm.test_set(1)
    np.testing.assert_array_equal(X1, X_te[:, pm.permutation(1)])
    np.testing.assert_array_equal(y1, y_te)
    np.testing.assert_array_equal(pm.permute(1, X_te), X1)
    # inverting the permutation recovers the original pixels
    np.testing.assert_array_equal(X1[:, np.argsort(pm.permutation(1))], X_te)


def test_samples_per_task_and_shuffle(arrays) -> None:
    X_tr, y_tr, _, _ = arrays
    pm = PermutedMNIST(*arrays, n_tasks=2, samples_per_task=5)
    assert pm.task_length == 5 and len(pm) == 10
    X0, y0 = pm.train_task(0)
    np.testing.assert_array_equal(X0, X_tr[:5])
    sh = PermutedMNIST(*arrays, n_tasks=2, shuffle=True, seed=7)
    sh2 = PermutedMNIST(*arrays, n_tasks=2, shuffle=True, seed=7)
    (_, Xa, ya), (_, Xb, yb) = list(sh.train_stream())
    assert not np.array_equal(Xa, X_tr)  # reordered
    assert sorted(ya.tolist()) == sorted(y_tr.tolist())
    np.testing.assert_array_equal(sh2.train_task(1)[0], Xb)
    # shuffling does not change the permutations
    np.testing.assert_array_equal(sh.permutation(1), PermutedMNIST(*arrays, n_tasks=2, seed=7).permutation(1))


def test_stream_arrays(arrays) -> None:
    pm = PermutedMNIST(*arrays, n_tasks=3, seed=0, samples_per_task=4)
    X, y, task = pm.stream_arrays()
    assert X.shape == (12, 16) and y.shape == (12,)
    assert task.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert pm.task_starts().tolist() == [0, 4, 8]
    for t, X_t, y_t in pm.train_stream():
        np.testing.assert_array_equal(X[task == t], X_t)
        np.testing.assert_array_equal(y[task == t], y_t)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_tasks": 0}, "n_tasks"),
        ({"n_tasks": 2, "samples_per_task": 0}, "samples_per_task"),
        ({"n_tasks": 2, "samples_per_task": 21}, "samples_per_task"),
    ],
)
def test_bad_arguments(arrays, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        PermutedMNIST(*arrays, **kwargs)


def test_bad_arrays_and_task_ids(arrays) -> None:
    X_tr, y_tr, X_te, y_te = arrays
    with pytest.raises(ValueError, match="y_train"):
        PermutedMNIST(X_tr, y_tr[:-1], X_te, y_te, 2)
    with pytest.raises(ValueError, match="features"):
        PermutedMNIST(X_tr, y_tr, X_te[:, :8], y_te, 2)
    with pytest.raises(ValueError, match="integer labels"):
        PermutedMNIST(X_tr, y_tr.astype(float), X_te, y_te, 2)
    pm = PermutedMNIST(*arrays, n_tasks=2)
    for bad in (-1, 2, 1.0):
        with pytest.raises(ValueError, match="task id"):
            pm.test_set(bad)
