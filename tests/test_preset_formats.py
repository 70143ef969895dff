"""Presets carry the fixed-point learner's format overrides: the device preset's σ code has 48 codes per octave."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from edge_mesu import FixedMESULearner
from edge_mesu.fixed.formats import FORMAT_KEYS, FixedFormats
from edge_mesu.presets import DEFAULT_PRESET, PRESETS


def _data(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return rng.normal(size=(n, 5)), rng.integers(0, 3, n)


def test_every_preset_names_only_format_fields() -> None:
    for name, p in PRESETS.items():
        assert set(dict(p.formats)) <= set(FORMAT_KEYS), name
        FixedFormats(**dict(p.formats))  # and the values make a valid record
        assert pickle.loads(pickle.dumps(p)) == p and hash(p) == hash(pickle.loads(pickle.dumps(p)))


@pytest.mark.parametrize(("preset", "k"), [("device", 48), ("sensor", 64), ("tabular", 64), ("paper", 64)])
def test_the_preset_sets_the_codes_per_octave(preset: str, k: int) -> None:
    m = FixedMESULearner(layers=(5, 4, 3), preset=preset)
    assert m.plan.sigma_per_octave == k
    # one byte of σ code: the window spans 255/k octaves below each layer's top
    lo, hi = m.plan.sigma_of_code(np.array([255])), m.plan.sigma_of_code(np.array([0]))
    assert np.log2(hi / lo)[0] == pytest.approx(255 / k)


def test_explicit_formats_override_the_preset() -> None:
    k = dict(PRESETS[DEFAULT_PRESET].formats)["sigma_per_octave"]
    assert FixedMESULearner(layers=(5, 4, 3)).plan.sigma_per_octave == k
    assert FixedMESULearner(layers=(5, 4, 3), sigma_per_octave=64).plan.sigma_per_octave == 64
    assert FixedMESULearner(layers=(5, 4, 3), formats=FixedFormats()).plan.sigma_per_octave == 64  # a whole record
    m = FixedMESULearner(layers=(5, 4, 3), formats=FixedFormats(sigma_per_octave=32), sigma_per_octave=16)
    assert m.plan.sigma_per_octave == 16  # single fields over the record


def test_a_file_saved_with_64_codes_per_octave_loads_and_continues_as_it_was() -> None:
    """State files spell the formats out, so a file from before the device preset moved to 48 stays 64."""
    X, y = _data()
    old = FixedMESULearner(layers=(5, 4, 3), seed=2, sigma_per_octave=64)
    old.learn_many(X[:20], y[:20])
    back = FixedMESULearner.from_bytes(old.to_bytes())
    assert back.plan.sigma_per_octave == 64 and back.to_bytes() == old.to_bytes()
    old.learn_many(X[20:], y[20:])
    back.learn_many(X[20:], y[20:])
    assert back.to_bytes() == old.to_bytes()
    new = FixedMESULearner(layers=(5, 4, 3), seed=2)
    new.learn_many(X, y)
    assert new.to_bytes() != old.to_bytes()


def test_the_sweep_defaults_agree_with_the_default_preset() -> None:
    from edge_mesu_app.sweep.spec import DEFAULTS

    assert DEFAULTS["sigma_per_octave"] == FixedMESULearner(layers=(5, 4, 3)).plan.sigma_per_octave
