"""Continual-learning metrics: the accuracy matrix, average accuracy, backward transfer, forgetting, and the
prequential (test-then-train) accuracy curve of a stream.

Convention: ``acc[i, j]`` is the test accuracy (a fraction in [0, 1]) on task ``j`` measured right after
training on task ``i``. Matrices are square ``(T, T)`` float arrays with NaN where nothing was measured
(usually ``j > i``: tasks not seen yet). Every function accepts an :class:`AccuracyMatrix`, a square array
or a list of rows of growing length (``[[a00], [a10, a11], ...]``), which is padded with NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "AccuracyMatrix",
    "accuracy_matrix",
    "auroc",
    "average_accuracy",
    "backward_transfer",
    "forgetting",
    "prequential_accuracy",
]


def accuracy_matrix(rows: AccuracyMatrix | np.ndarray | Sequence[Sequence[float | None]]) -> np.ndarray:
    """Square float64 ``(T, T)`` array from rows of any length <= ``T``; missing entries and ``None`` -> NaN.

    ``T`` is the number of rows (one per training task).

    >>> accuracy_matrix([[0.9], [0.8, 0.95]]).tolist()
    [[0.9, nan], [0.8, 0.95]]
    """
    if isinstance(rows, AccuracyMatrix):
        return rows.array
    n = len(rows)
    if n == 0:
        raise ValueError("accuracy matrix has no rows")
    out = np.full((n, n), np.nan)
    for i, row in enumerate(rows):
        values = [np.nan if v is None else float(v) for v in row]
        if len(values) > n:
            raise ValueError(f"row {i} has {len(values)} entries, more than the {n} rows (tasks)")
        out[i, : len(values)] = values
    return out


def _seen(acc: np.ndarray, i: int, what: str) -> np.ndarray:
    """Entries ``acc[i, :i+1]``, which must all have been measured."""
    row = acc[i, : i + 1]
    if np.any(np.isnan(row)):
        j = int(np.flatnonzero(np.isnan(row))[0])
        raise ValueError(f"{what} needs acc[{i}][{j}] (task {j} after training task {i}), which is missing")
    return row


def average_accuracy(
    acc: AccuracyMatrix | np.ndarray | Sequence[Sequence[float | None]], i: int | None = None
) -> float:
    """Mean test accuracy over tasks ``0..i`` after training task ``i`` (default: the last row).

    >>> average_accuracy([[0.9], [0.7, 0.95]])
    0.825
    """
    a = accuracy_matrix(acc)
    n = a.shape[0]
    i = n - 1 if i is None else i
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < n:
        raise ValueError(f"i must be an integer in [0, {n}), got {i!r}")
    return float(np.mean(_seen(a, int(i), "average_accuracy")))


def backward_transfer(acc: AccuracyMatrix | np.ndarray | Sequence[Sequence[float | None]]) -> float:
    """Backward transfer (Lopez-Paz & Ranzato, 2017): ``mean_{j < T-1} acc[T-1][j] - acc[j][j]``.

    Negative values measure forgetting; ``T`` is the number of rows. Needs at least two tasks.

    >>> round(backward_transfer([[0.9], [0.7, 0.95], [0.6, 0.9, 0.97]]), 4)
    -0.175
    """
    a = accuracy_matrix(acc)
    T = a.shape[0]
    if T < 2:
        raise ValueError(f"backward_transfer needs at least 2 tasks, got {T}")
    last = _seen(a, T - 1, "backward_transfer")
    diag = np.diag(a)[: T - 1]
    if np.any(np.isnan(diag)):
        j = int(np.flatnonzero(np.isnan(diag))[0])
        raise ValueError(f"backward_transfer needs acc[{j}][{j}], which is missing")
    return float(np.mean(last[: T - 1] - diag))


def forgetting(acc: AccuracyMatrix | np.ndarray | Sequence[Sequence[float | None]]) -> float:
    """Average forgetting (Chaudhry et al., 2018): ``mean_{j < T-1} max_{l < T-1} acc[l][j] - acc[T-1][j]``.

    The maximum runs over the rows ``j <= l < T-1`` that measured task ``j`` (missing entries are ignored).
    Non-negative when the best earlier accuracy is at least the final one. Needs at least two tasks.

    >>> round(forgetting([[0.9], [0.7, 0.95], [0.6, 0.9, 0.97]]), 4)
    0.175
    """
    a = accuracy_matrix(acc)
    T = a.shape[0]
    if T < 2:
        raise ValueError(f"forgetting needs at least 2 tasks, got {T}")
    last = _seen(a, T - 1, "forgetting")
    drops = []
    for j in range(T - 1):
        earlier = a[j : T - 1, j]
        if np.all(np.isnan(earlier)):
            raise ValueError(f"forgetting needs acc[l][{j}] for some {j} <= l < {T - 1}; all are missing")
        drops.append(np.nanmax(earlier) - last[j])
    return float(np.mean(drops))


def prequential_accuracy(
    y_true: np.ndarray | Sequence[int], y_pred: np.ndarray | Sequence[int], window: int | None = None
) -> np.ndarray:
    """Running accuracy of test-then-train predictions: ``curve[k]`` covers predictions ``0..k``.

    With ``window`` set, ``curve[k]`` is the accuracy over the last ``window`` predictions
    (``max(0, k - window + 1)..k``; fewer at the start of the stream).

    Parameters
    ----------
    y_true, y_pred : 1-D label arrays of equal length, ``y_pred[k]`` made before learning sample ``k``.
    window : sliding window length, or ``None`` for the cumulative accuracy.

    Returns
    -------
    float64 array of the same length.

    >>> prequential_accuracy([0, 1, 1, 0], [0, 0, 1, 0]).tolist()
    [1.0, 0.5, 0.6666666666666666, 0.75]
    >>> prequential_accuracy([0, 1, 1, 0], [0, 0, 1, 0], window=2).tolist()
    [1.0, 0.5, 0.5, 1.0]
    """
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    if yt.ndim != 1 or yp.shape != yt.shape:
        raise ValueError(f"y_true and y_pred must be 1-D of equal length, got shapes {yt.shape}, {yp.shape}")
    if window is not None and (isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1):
        raise ValueError(f"window must be None or an integer >= 1, got {window!r}")
    hits = np.concatenate([[0], np.cumsum(yt == yp, dtype=np.int64)])
    k = np.arange(1, yt.shape[0] + 1)
    if window is None:
        return hits[1:] / k
    start = np.maximum(k - int(window), 0)
    return (hits[1:] - hits[start]) / (k - start)


class AccuracyMatrix:
    """Accuracy matrix filled during a continual-learning run; ``acc[i, j]`` as in the module docstring.

    Parameters
    ----------
    n_tasks : number of tasks ``T``; the matrix starts all NaN.

    Examples
    --------
    >>> m = AccuracyMatrix(2)
    >>> m.set_row(0, [0.9])
    >>> m.set_row(1, [0.8, 0.95])
    >>> m[1, 0], m.average_accuracy(), round(m.backward_transfer(), 4)
    (0.8, 0.875, -0.1)
    >>> m.to_list()
    [[0.9, None], [0.8, 0.95]]
    """

    def __init__(self, n_tasks: int) -> None:
        if isinstance(n_tasks, bool) or not isinstance(n_tasks, (int, np.integer)) or n_tasks < 1:
            raise ValueError(f"n_tasks must be an integer >= 1, got {n_tasks!r}")
        self.n_tasks = int(n_tasks)
        self._acc = np.full((self.n_tasks, self.n_tasks), np.nan)

    @classmethod
    def from_list(cls, rows: Sequence[Sequence[float | None]]) -> AccuracyMatrix:
        """Inverse of :meth:`to_list` (also accepts rows of growing length)."""
        a = accuracy_matrix(rows)
        m = cls(a.shape[0])
        for i, j in zip(*np.nonzero(~np.isnan(a))):
            m.set(int(i), int(j), float(a[i, j]))
        return m

    def _check_index(self, i: int, name: str) -> int:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < self.n_tasks:
            raise ValueError(f"{name} must be an integer in [0, {self.n_tasks}), got {i!r}")
        return int(i)

    def set(self, i: int, j: int, value: float) -> None:
        """Record the accuracy on task ``j`` after training task ``i`` (a fraction in [0, 1])."""
        i, j = self._check_index(i, "i"), self._check_index(j, "j")
        v = float(value)
        if not (math.isfinite(v) and 0.0 <= v <= 1.0):
            raise ValueError(f"accuracy must be a fraction in [0, 1], got {value!r} for acc[{i}][{j}]")
        self._acc[i, j] = v

    def set_row(self, i: int, values: Sequence[float]) -> None:
        """Record ``acc[i][0..len(values)-1]`` at once (values are checked before anything is stored)."""
        i = self._check_index(i, "i")
        if len(values) > self.n_tasks:
            raise ValueError(f"row {i} has {len(values)} values, more than n_tasks={self.n_tasks}")
        row = AccuracyMatrix(self.n_tasks)
        for j, v in enumerate(values):
            row.set(i, j, v)
        self._acc[i, : len(values)] = row._acc[i, : len(values)]

    def __getitem__(self, index: tuple[int, int]) -> float:
        i, j = index
        return float(self._acc[self._check_index(i, "i"), self._check_index(j, "j")])

    @property
    def array(self) -> np.ndarray:
        """A copy of the ``(T, T)`` float64 matrix (NaN = not measured)."""
        return self._acc.copy()

    def rows_done(self) -> int:
        """Number of leading rows with at least one measurement (tasks trained so far)."""
        measured = ~np.all(np.isnan(self._acc), axis=1)
        return int(np.argmin(measured)) if not measured.all() else self.n_tasks

    def _done(self) -> np.ndarray:
        n = self.rows_done()
        if n == 0:
            raise ValueError("no accuracy recorded yet")
        return self._acc[:n, :n]

    def average_accuracy(self, i: int | None = None) -> float:
        """:func:`average_accuracy` after task ``i`` (default: the last task recorded so far)."""
        return average_accuracy(self._done(), i)

    def backward_transfer(self) -> float:
        """:func:`backward_transfer` over the tasks recorded so far."""
        return backward_transfer(self._done())

    def forgetting(self) -> float:
        """:func:`forgetting` over the tasks recorded so far."""
        return forgetting(self._done())

    def to_list(self) -> list[list[float | None]]:
        """JSON-friendly nested lists (``T`` rows of ``T`` entries), ``None`` where not measured."""
        return [[None if math.isnan(v) else float(v) for v in row] for row in self._acc]

    def __repr__(self) -> str:
        return f"AccuracyMatrix(n_tasks={self.n_tasks}, rows_done={self.rows_done()})"


def auroc(scores_in: object, scores_out: object) -> float:
    """Area under the ROC curve for telling ``scores_out`` (positives) from ``scores_in`` by score.

    The probability that a random positive scores above a random negative, ties counting one half
    (Mann-Whitney U with average ranks).

    >>> auroc([0.1, 0.2, 0.3], [0.25, 0.4, 0.5])
    0.8888888888888888
    """
    a = np.asarray(scores_in, dtype=np.float64).ravel()
    b = np.asarray(scores_out, dtype=np.float64).ravel()
    if a.size == 0 or b.size == 0 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("auroc needs two non-empty arrays of finite scores")
    s = np.concatenate([a, b])
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    avg_rank = first + (counts + 1) / 2.0  # 1-based average rank of each distinct value
    ranks = avg_rank[inverse]
    return float((ranks[a.size :].sum() - b.size * (b.size + 1) / 2) / (a.size * b.size))
