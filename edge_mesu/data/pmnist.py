"""Permuted MNIST: each task is MNIST with one fixed random permutation of the pixels.

The benchmark of the MESU paper: tasks are presented one after another, one pass each, and the learner is
never told where a task starts (the stream is just their concatenation). Test accuracy on every task seen
so far is measured after each task.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from .mnist import load_mnist, standardize_mnist

__all__ = ["PermutedMNIST"]


def _check_split(X: object, y: object, name: str) -> tuple[np.ndarray, np.ndarray]:
    Xa, ya = np.asarray(X), np.asarray(y)
    if Xa.ndim != 2 or Xa.shape[0] == 0:
        raise ValueError(f"X_{name} must be a non-empty 2-D array (n, n_features), got shape {Xa.shape}")
    if ya.shape != (Xa.shape[0],):
        raise ValueError(f"y_{name} must have shape ({Xa.shape[0]},) to match X_{name}, got {ya.shape}")
    if not np.issubdtype(ya.dtype, np.integer):
        raise ValueError(f"y_{name} must hold integer labels, got dtype {ya.dtype}")
    return Xa, ya


class PermutedMNIST:
    """A sequence of permuted-MNIST tasks built from flattened train and test arrays.

    Parameters
    ----------
    X_train, y_train, X_test, y_test : flattened inputs ``(n, d)`` (e.g. from
        :func:`edge_mesu.data.standardize_mnist`) and integer labels. They are not copied or modified.
    n_tasks : number of tasks (permutations).
    seed : seeds ``numpy.random.default_rng``; the same seed gives the same permutations and order.
    first_identity : task 0 is the unpermuted data (the usual convention). The permutations of tasks
        1, 2, ... do not depend on this flag: task 0's random permutation is drawn and then discarded.
    samples_per_task : use only the first ``samples_per_task`` training samples of each task (all when
        ``None``).
    shuffle : present each task's samples in a seeded random order (a new order per task) instead of
        file order. Off by default; the subset of ``samples_per_task`` is taken after shuffling.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(12, dtype=np.float32).reshape(3, 4); y = np.array([0, 1, 0])
    >>> pm = PermutedMNIST(X, y, X[:2], y[:2], n_tasks=3, seed=0)
    >>> pm.permutation(0).tolist()
    [0, 1, 2, 3]
    >>> [(t, Xt.shape) for t, Xt, yt in pm.train_stream()]
    [(0, (3, 4)), (1, (3, 4)), (2, (3, 4))]
    >>> Xs, ys, task = pm.stream_arrays()
    >>> Xs.shape, task.tolist()
    ((9, 4), [0, 0, 0, 1, 1, 1, 2, 2, 2])
    """

    def __init__(
        self,
        X_train: np.ndarray,
        y_train: np.ndarray,
        X_test: np.ndarray,
        y_test: np.ndarray,
        n_tasks: int,
        *,
        seed: int = 0,
        first_identity: bool = True,
        samples_per_task: int | None = None,
        shuffle: bool = False,
    ) -> None:
        self._X_train, self._y_train = _check_split(X_train, y_train, "train")
        self._X_test, self._y_test = _check_split(X_test, y_test, "test")
        if self._X_test.shape[1] != self._X_train.shape[1]:
            raise ValueError(f"X_test has {self._X_test.shape[1]} features, X_train {self._X_train.shape[1]}")
        if isinstance(n_tasks, bool) or not isinstance(n_tasks, (int, np.integer)) or n_tasks < 1:
            raise ValueError(f"n_tasks must be an integer >= 1, got {n_tasks!r}")
        n_train = self._X_train.shape[0]
        if samples_per_task is not None and not (
            isinstance(samples_per_task, (int, np.integer)) and 1 <= samples_per_task <= n_train
        ):
            raise ValueError(f"samples_per_task must be None or an integer in [1, {n_train}], got {samples_per_task!r}")
        self.n_tasks = int(n_tasks)
        self.seed = seed
        self.first_identity = bool(first_identity)
        self.samples_per_task = None if samples_per_task is None else int(samples_per_task)
        self.shuffle = bool(shuffle)
        perm_rng, order_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        d = self.n_features
        perms = [perm_rng.permutation(d) for _ in range(self.n_tasks)]
        if self.first_identity:
            perms[0] = np.arange(d)
        self._perms = perms
        self._orders = [self._task_order(order_rng, n_train) for _ in range(self.n_tasks)]

    def _task_order(self, rng: np.random.Generator, n_train: int) -> np.ndarray:
        order = rng.permutation(n_train) if self.shuffle else np.arange(n_train)
        return order[: self.samples_per_task] if self.samples_per_task is not None else order

    @classmethod
    def from_idx(
        cls,
        path: str | os.PathLike[str] | None = None,
        n_tasks: int = 10,
        *,
        seed: int = 0,
        first_identity: bool = True,
        samples_per_task: int | None = None,
        shuffle: bool = False,
    ) -> PermutedMNIST:
        """Load MNIST with :func:`load_mnist` (``path`` or ``EDGE_MESU_MNIST``), standardise, build tasks."""
        X_tr, y_tr = load_mnist(path, split="train")
        X_te, y_te = load_mnist(path, split="test")
        return cls(
            standardize_mnist(X_tr),
            y_tr.astype(np.int64),
            standardize_mnist(X_te),
            y_te.astype(np.int64),
            n_tasks,
            seed=seed,
            first_identity=first_identity,
            samples_per_task=samples_per_task,
            shuffle=shuffle,
        )

    @property
    def n_features(self) -> int:
        """Input dimension ``d`` (784 for MNIST)."""
        return int(self._X_train.shape[1])

    @property
    def task_length(self) -> int:
        """Training samples per task."""
        return int(self._orders[0].shape[0])

    def __len__(self) -> int:
        """Length of the whole training stream (all tasks)."""
        return self.n_tasks * self.task_length

    def __repr__(self) -> str:
        return (
            f"PermutedMNIST(n_tasks={self.n_tasks}, n_features={self.n_features}, "
            f"task_length={self.task_length}, n_test={self._X_test.shape[0]}, seed={self.seed!r})"
        )

    def _check_task(self, t: int) -> int:
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 0 <= t < self.n_tasks:
            raise ValueError(f"task id must be an integer in [0, {self.n_tasks}), got {t!r}")
        return int(t)

    def permutation(self, t: int) -> np.ndarray:
        """Pixel permutation of task ``t`` (a copy): task input is ``X[:, permutation(t)]``."""
        return self._perms[self._check_task(t)].copy()

    def permute(self, t: int, X: np.ndarray) -> np.ndarray:
        """Apply task ``t``'s permutation to any ``(n, d)`` array (returns a new array)."""
        Xa = np.asarray(X)
        if Xa.ndim != 2 or Xa.shape[1] != self.n_features:
            raise ValueError(f"X must have shape (n, {self.n_features}), got {Xa.shape}")
        return Xa[:, self._perms[self._check_task(t)]]

    def train_task(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Training inputs and labels of task ``t``, in stream order."""
        t = self._check_task(t)
        order = self._orders[t]
        return self._X_train[order][:, self._perms[t]], self._y_train[order]

    def train_stream(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Yield ``(task_id, X_task, y_task)`` for tasks 0, 1, ... in order (one task in memory at a time)."""
        for t in range(self.n_tasks):
            X_t, y_t = self.train_task(t)
            yield t, X_t, y_t

    def test_set(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Test inputs and labels of task ``t`` (the whole test split, permuted)."""
        t = self._check_task(t)
        return self._X_test[:, self._perms[t]], self._y_test

    def task_starts(self) -> np.ndarray:
        """Index in the concatenated stream where each task starts (for evaluation only)."""
        return np.arange(self.n_tasks, dtype=np.int64) * self.task_length

    def stream_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The whole training stream as arrays ``(X, y, task_id)``: tasks concatenated in order.

        Memory is ``len(self) * n_features`` values: 10 full MNIST tasks in float32 take about 1.9 GB;
        prefer :meth:`train_stream` or ``samples_per_task`` for large runs.
        """
        Xs, ys = zip(*(self.train_task(t) for t in range(self.n_tasks)))
        task = np.repeat(np.arange(self.n_tasks, dtype=np.int64), self.task_length)
        return np.concatenate(Xs), np.concatenate(ys), task
