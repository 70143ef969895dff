"""Boundary checks shared by every learner: they run before any state changes."""

from __future__ import annotations

import numpy as np

__all__ = ["check_X", "check_X_q", "check_x", "check_y", "check_positive_int"]


def _as_float_array(X: object, name: str) -> np.ndarray:
    arr = np.asarray(X)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool
    ):
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    return arr


def check_X(X: object, n_features: int, name: str = "X") -> np.ndarray:
    """Return ``X`` as a 2-D float64 array of shape ``(n, n_features)`` or raise ``ValueError``."""
    arr = _as_float_array(X, name)
    if arr.ndim != 2 or arr.shape[1] != n_features:
        raise ValueError(f"{name} must have shape (n, {n_features}), got {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or Inf)")
    return arr


def check_X_q(X: object, n_features: int, lo: int, hi: int, name: str = "X_q") -> np.ndarray:
    """Return already-quantised inputs as int64 ``(n, n_features)`` (a 1-D ``x`` becomes one row), every
    value an integer in ``[lo, hi]``, or raise ``ValueError``."""
    arr = np.asarray(X)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integers of the input format, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n_features or arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n >= 1, {n_features}), got {np.asarray(X).shape}")
    if arr.min() < lo or arr.max() > hi:
        bad = arr[(arr < lo) | (arr > hi)][0]
        raise ValueError(f"{name} holds {int(bad)}, outside the input format's range [{lo}, {hi}]")
    return arr.astype(np.int64)


def check_x(x: object, n_features: int, name: str = "x") -> np.ndarray:
    """Return one sample as a float64 array of shape ``(1, n_features)`` or raise ``ValueError``."""
    arr = _as_float_array(x, name)
    if arr.ndim != 1 or arr.shape[0] != n_features:
        raise ValueError(f"{name} must have shape ({n_features},), got {arr.shape}")
    return check_X(arr[None, :], n_features, name)


def check_y(y: object, n_classes: int, n: int, name: str = "y") -> np.ndarray:
    """Return labels as an int64 array of length ``n`` with values in ``[0, n_classes)``."""
    arr = np.asarray(y)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integer class labels, got non-integer values")
    elif not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = (arr < 0) | (arr >= n_classes)
    if np.any(bad):
        raise ValueError(f"{name} has label {int(arr[bad][0])} out of range [0, {n_classes})")
    return arr


def check_positive_int(value: object, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int ``>= minimum`` or raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
