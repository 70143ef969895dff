"""Boundary checks for every exporter: they run before anything is written.

Supported architecture: a dense MLP ``layers = (n_in, h_1, ..., h_k, n_classes)`` with ``k >= 0`` hidden
ReLU layers, a softmax output over ``n_classes >= 2`` classes, every size >= 1 and every fan-in at most
:data:`MAX_FAN_IN` (so an int8 x int8 dot product plus bias cannot overflow the int32 accumulator).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edge_mesu.interface import Describable, NetworkDescription, describe
from edge_mesu.mesu import check_layers

__all__ = ["MAX_FAN_IN", "check_calibration", "check_output_path", "mean_network", "posterior_network"]

#: largest fan-in whose worst-case int8 accumulator ``fan_in * 127 * 255`` plus bias fits in int32.
MAX_FAN_IN = 65_536

Layer = tuple[np.ndarray, np.ndarray]


def _layers_of(desc: NetworkDescription) -> tuple[int, ...]:
    try:
        sizes = check_layers(desc.layers)
    except ValueError as exc:
        raise ValueError(f"unsupported architecture: {exc}") from None
    if max(sizes[:-1]) > MAX_FAN_IN:
        raise ValueError(
            f"unsupported architecture {sizes}: fan-in {max(sizes[:-1])} exceeds {MAX_FAN_IN} "
            "(the int32 accumulator could overflow)"
        )
    return sizes


def mean_network(learner: Describable | NetworkDescription) -> list[Layer]:
    """The mean network of a learner (or pipeline, or description) as float64 ``[(W (fan_in, fan_out),
    b (fan_out,)), ...]``, validated (every edge-mesu network has ReLU hidden layers and a softmax output).

    Raises ``TypeError`` for an object that is not an edge-mesu network and ``ValueError`` for an
    unsupported architecture, shapes that do not chain, or non-finite parameters.
    """
    desc = describe(learner)
    sizes = _layers_of(desc)
    params = list(desc.mean_params)
    if len(params) != len(sizes) - 1:
        raise ValueError(f"the description has {len(params)} layers, layers={sizes} needs {len(sizes) - 1}")
    out: list[Layer] = []
    for i, (W, b) in enumerate(params):
        W = np.asarray(W, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        want = (sizes[i], sizes[i + 1])
        if W.shape != want or b.shape != (want[1],):
            raise ValueError(f"layer {i}: weight {W.shape} / bias {b.shape}, architecture needs {want} / ({want[1]},)")
        for name, arr in (("weight", W), ("bias", b)):
            if not np.all(np.isfinite(arr)):
                bad = int(np.count_nonzero(~np.isfinite(arr)))
                raise ValueError(f"layer {i} {name} holds {bad} non-finite value(s); cannot export")
        out.append((W, b))
    return out


def posterior_network(learner: Describable | NetworkDescription) -> list[tuple[Layer, Layer]]:
    """Per layer ``((mu_W, sigma_W), (mu_b, sigma_b))`` of the posterior (σ_b = 0 without biases)."""
    desc = describe(learner)
    mean = mean_network(desc)
    params = {name: (mu, sigma) for name, mu, sigma in desc.posterior}
    out = []
    for i, (W, b) in enumerate(mean):
        if f"w{i}" not in params:
            raise ValueError(f"the posterior lacks 'w{i}'")
        mu_w, sig_w = (np.asarray(a, dtype=np.float64) for a in params[f"w{i}"])
        if f"b{i}" in params:
            mu_b, sig_b = (np.asarray(a, dtype=np.float64) for a in params[f"b{i}"])
        else:
            mu_b, sig_b = b, np.zeros_like(b)
        for name, arr, ref in (("w", mu_w, W), ("w sigma", sig_w, W), ("b", mu_b, b), ("b sigma", sig_b, b)):
            if arr.shape != ref.shape:
                raise ValueError(f"posterior {name}{i} has shape {arr.shape}, expected {ref.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"posterior {name}{i} holds non-finite values; cannot export")
        if np.any(sig_w < 0) or np.any(sig_b < 0):
            raise ValueError(f"posterior layer {i} has a negative sigma")
        out.append(((mu_w, sig_w), (mu_b, sig_b)))
    return out


def check_calibration(X: object, n_features: int, name: str = "calibration") -> np.ndarray:
    """``X`` as float64 ``(n, n_features)`` with ``n >= 1`` finite rows, else ``ValueError``."""
    if X is None:
        raise ValueError(f"{name} set is required (an array of shape (n, {n_features}))")
    arr = np.asarray(X)
    numeric = np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    if arr.dtype == object or not numeric:
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != n_features:
        raise ValueError(f"{name} must have shape (n, {n_features}), got {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} set is empty (shape {arr.shape})")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or Inf)")
    return arr


def check_output_path(path: str | os.PathLike) -> Path:
    """Return ``path`` as a ``Path`` whose directory exists and which is not a directory itself."""
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"output path {target} is a directory")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"output directory {parent} does not exist")
    return target
