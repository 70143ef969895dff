"""Sweep specifications: a small TOML file of fixed values, a grid and optional random samples.

Layout::

    [sweep]                      # name, seeds (each configuration runs once per seed)
    name = "quant-small"
    seeds = [0]
    [fixed]                      # one value per parameter
    stream = "sensor"
    [grid]                       # lists: the Cartesian product; "a+b" = [[a1, b1], ...] varies a and b together
    hidden = [8, 32]
    "sigma_bits+sigma_per_octave" = [[8, 64], [6, 16]]
    [random]                     # n more runs drawn with sample_seed from {choice = [...]}, {uniform = [lo, hi]},
    n = 4                        # {log_uniform = [lo, hi]} or {int_uniform = [lo, hi]} per parameter;
                                 # parameters a sample does not draw take their [fixed] or default value
    sample_seed = 0
    N = {log_uniform = [1e3, 1e6]}

Every parameter is checked (name and value) before anything runs; errors name the key.

Examples
--------
>>> spec = parse_spec({"grid": {"hidden": [8, 16], "rounding": ["stochastic", "nearest"]}})
>>> len(spec.configs()), spec.configs()[0]["hidden"]
(4, 8)
>>> parse_spec({"grid": {"hiden": [8]}})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: grid: unknown parameter 'hiden'; known: data, device, hidden, ...
"""

from __future__ import annotations

import itertools
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.fixed.formats import FixedFormats
from edge_mesu.presets import DEFAULT_PRESET, PRESETS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["PARAMS", "DEFAULTS", "SweepSpec", "parse_spec", "load_spec"]


def _int_in(low: int, high: int | None = None) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, int) or v < low or (high is not None and v > high):
            raise ValueError(f"must be an integer in [{low}, {high if high is not None else '∞'}], got {v!r}")
        return v

    return check


def _pos_float(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
        raise ValueError(f"must be a finite number > 0, got {v!r}")
    return float(v)


def _one_of(*choices: str) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if v not in choices:
            raise ValueError(f"must be one of {', '.join(map(repr, choices))}, got {v!r}")
        return v

    return check


def _mu_frac(v: Any) -> Any:
    if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 15):
        return v
    raise ValueError(f"must be 'auto' or an integer in [0, 15], got {v!r}")


def _device(v: Any) -> Any:
    from firmware_sim import list_devices

    if not isinstance(v, str) or (v not in list_devices() and not Path(v).is_file()):
        raise ValueError(f"must be a shipped device profile ({', '.join(list_devices())}) or a TOML path, got {v!r}")
    return v


def _optional_rate(v: Any) -> Any:
    return v if v == "auto" else _pos_float(v)


def _data(v: Any) -> Any:
    if not isinstance(v, str):
        raise ValueError(f"must be a directory path, got {v!r}")
    return v


#: parameter -> validator; every row of a sweep carries every parameter.
PARAMS: dict[str, Callable[[Any], Any]] = {
    "stream": _one_of("sensor", "pmnist"),
    "windows": _int_in(50),
    "n_classes": _int_in(2, 6),
    "tasks": _int_in(1),
    "samples_per_task": _int_in(10),
    "test_samples": _int_in(10),
    "data": _data,
    "hidden": _int_in(1, 4096),
    "mu_frac": _mu_frac,
    "mu_frac_offset": _int_in(-8, 8),
    "sigma_bits": _int_in(2, 8),
    "sigma_per_octave": _int_in(1, 128),
    "rounding": _one_of("stochastic", "nearest"),
    "N": _pos_float,
    "sigma_prior": _pos_float,
    "train_samples": _int_in(1, 64),
    "device": _device,
    "rate": _optional_rate,
    "queue": _int_in(0),
}
PARAMS = dict(sorted(PARAMS.items(), key=lambda kv: kv[0].lower()))
_PRESET = PRESETS[DEFAULT_PRESET]
_RULE, _OPTIONS, _FORMATS = _PRESET.rule, _PRESET.options, FixedFormats(**dict(_PRESET.formats))
#: every learner default is the learner's own (edge_mesu.presets, FixedFormats); the rest is the sweep's
DEFAULTS: dict[str, Any] = {
    "stream": "sensor",
    "windows": 1500,
    "n_classes": 5,
    "tasks": 3,
    "samples_per_task": 1000,
    "test_samples": 1000,
    "data": None,
    "hidden": 32,
    "mu_frac": "auto",
    "mu_frac_offset": 0,
    "sigma_bits": _FORMATS.sigma_bits,
    "sigma_per_octave": _FORMATS.sigma_per_octave,
    "rounding": _FORMATS.rounding,
    "N": _RULE.N,
    "sigma_prior": _RULE.sigma_prior,
    "train_samples": _OPTIONS.train_samples,
    "device": "stm32l4",
    "rate": "auto",
    "queue": 4,
}
_SECTIONS = ("sweep", "fixed", "grid", "random")
_SWEEP_KEYS = ("name", "seeds")
_DISTRIBUTIONS = ("choice", "uniform", "log_uniform", "int_uniform")


def _check_param(section: str, key: str, value: Any) -> Any:
    if key not in PARAMS:
        raise ValueError(f"{section}: unknown parameter {key!r}; known: {', '.join(PARAMS)}")
    try:
        return PARAMS[key](value)
    except ValueError as exc:
        raise ValueError(f"{section}.{key}: {exc}") from None


def _grid_axis(key: str, values: Any) -> list[dict[str, Any]]:
    """One grid axis as a list of assignments; ``a+b`` zips several parameters."""
    names = key.split("+")
    if not isinstance(values, list) or not values:
        raise ValueError(f"grid.{key}: needs a non-empty list of values, got {values!r}")
    axis = []
    for v in values:
        row = v if len(names) > 1 else [v]
        if not isinstance(row, list) or len(row) != len(names):
            raise ValueError(f"grid.{key}: each value must be a list of {len(names)} ({', '.join(names)}), got {v!r}")
        axis.append({n: _check_param("grid", n, x) for n, x in zip(names, row)})
    return axis


def _distribution(key: str, spec: Any) -> tuple[str, list[Any]]:
    if not (isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in _DISTRIBUTIONS):
        raise ValueError(f"random.{key}: needs one of {{{', '.join(_DISTRIBUTIONS)} = [...]}}, got {spec!r}")
    kind, args = next(iter(spec.items()))
    if not isinstance(args, list) or not args or (kind != "choice" and len(args) != 2):
        raise ValueError(f"random.{key}: {kind} needs {'a non-empty list' if kind == 'choice' else '[low, high]'}")
    if kind == "choice":
        for a in args:
            _check_param("random", key, a)
    elif kind == "log_uniform" and not all(isinstance(a, (int, float)) and a > 0 for a in args):
        raise ValueError(f"random.{key}: log_uniform bounds must be > 0, got {args!r}")
    return kind, args


def _draw(rng: np.random.Generator, kind: str, args: list[Any]) -> Any:
    if kind == "choice":
        return args[int(rng.integers(len(args)))]
    if kind == "uniform":
        return float(rng.uniform(args[0], args[1]))
    if kind == "log_uniform":
        return float(math.exp(rng.uniform(math.log(args[0]), math.log(args[1]))))
    return int(rng.integers(int(args[0]), int(args[1]) + 1))


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: name, seeds, fixed values, grid axes and random-sample distributions."""

    name: str
    seeds: tuple[int, ...]
    fixed: dict[str, Any]
    grid: tuple[tuple[dict[str, Any], ...], ...]
    random: dict[str, tuple[str, list[Any]]]
    n_random: int
    sample_seed: int

    def configs(self) -> list[dict[str, Any]]:
        """Every run's full configuration (parameters + seed), in a fixed order: grid runs, then samples."""
        base = {**DEFAULTS, **self.fixed}
        points = (
            [dict(itertools.chain.from_iterable(a.items() for a in combo)) for combo in itertools.product(*self.grid)]
            if self.grid
            else ([{}] if not self.n_random else [])
        )
        rng = np.random.default_rng(self.sample_seed)
        for _ in range(self.n_random):
            points.append(
                {k: _check_param("random", k, _draw(rng, kind, args)) for k, (kind, args) in self.random.items()}
            )
        return [{**base, **p, "seed": s} for p in points for s in self.seeds]


def _sweep_section(sweep: Any) -> tuple[str, tuple[int, ...]]:
    if not isinstance(sweep, dict):
        raise ValueError("[sweep] must be a table")
    for key in sweep:
        if key not in _SWEEP_KEYS:
            raise ValueError(f"sweep: unknown key {key!r}; known: {', '.join(_SWEEP_KEYS)}")
    seeds = sweep.get("seeds", [0])
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
    ):
        raise ValueError(f"sweep.seeds: needs a non-empty list of integers >= 0, got {seeds!r}")
    return str(sweep.get("name", "sweep")), tuple(seeds)


def _random_section(rand: Any) -> tuple[dict[str, tuple[str, list[Any]]], int, int]:
    if not isinstance(rand, dict):
        raise ValueError("[random] must be a table")
    n, seed = rand.get("n", 0), rand.get("sample_seed", 0)
    for key, v in (("n", n), ("sample_seed", seed)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"random.{key}: must be an integer >= 0, got {v!r}")
    dists = {k: _distribution(k, v) for k, v in rand.items() if k not in ("n", "sample_seed")}
    for k in dists:
        if k not in PARAMS:
            raise ValueError(f"random: unknown parameter {k!r}; known: {', '.join(PARAMS)}")
    if n and not dists:
        raise ValueError("random: n > 0 but no parameter distribution given")
    return dists, n, seed


def parse_spec(doc: dict[str, Any]) -> SweepSpec:
    """Validate a parsed TOML document; raise ValueError naming the first bad key."""
    for section in doc:
        if section not in _SECTIONS:
            raise ValueError(f"unknown section [{section}]; known: {', '.join(_SECTIONS)}")
    name, seeds = _sweep_section(doc.get("sweep", {}))
    fixed_doc = doc.get("fixed", {})
    if not isinstance(fixed_doc, dict):
        raise ValueError("[fixed] must be a table")
    fixed = {k: _check_param("fixed", k, v) for k, v in fixed_doc.items()}
    grid_doc = doc.get("grid", {})
    if not isinstance(grid_doc, dict):
        raise ValueError("[grid] must be a table")
    grid = tuple(tuple(_grid_axis(k, v)) for k, v in grid_doc.items())
    random, n_random, sample_seed = _random_section(doc.get("random", {}))
    gridded = [n for k in grid_doc for n in k.split("+")]
    dup = sorted({n for n in gridded if gridded.count(n) > 1} | (set(fixed) & (set(gridded) | set(random))))
    if dup:
        raise ValueError(f"parameter {dup[0]!r} is set twice (in [fixed] and [grid]/[random], or on two grid axes)")
    if not grid and not n_random and not fixed:
        raise ValueError("the sweep is empty: give [grid] values, [random] samples or [fixed] values")
    return SweepSpec(name, seeds, fixed, grid, random, n_random, sample_seed)


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read and validate a sweep TOML file."""
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read sweep spec ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    try:
        return parse_spec(doc)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
