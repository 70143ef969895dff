"""Presets are data: 'paper' is the learners' constructor defaults (pMNIST unchanged), overrides win."""

from __future__ import annotations

import inspect

import pytest

from edge_mesu import FixedMESULearner, MESULearner
from edge_mesu.presets import PRESETS, learner_args, make_learner


@pytest.mark.parametrize("cls, kind", [(MESULearner, "float"), (FixedMESULearner, "fixed")])
def test_paper_preset_is_the_constructor_default(cls, kind):
    sig = inspect.signature(cls.__init__).parameters
    for key, value in PRESETS["paper"][kind].items():
        assert sig[key].default == value, key


def test_sensor_preset_and_overrides():
    f = make_learner("fixed", (8, 6, 3), preset="sensor", seed=1, N=1e4)
    assert f.config.N == 1e4 and f.config.ratio_max == 0.3 and f.config.lr_mu == 2.0
    assert f.params()["w0"][1].max() <= 0.25 + 1e-12  # σ window top
    m = make_learner("float", (8, 6, 3), preset="sensor")
    assert m.config.sigma_max == 0.25 and m.sigma_init == 0.2
    assert learner_args("paper", "float", sigma_init="paper")["sigma_init"] == "paper"
    with pytest.raises(ValueError, match="unknown preset"):
        learner_args("nope", "float")
    with pytest.raises(ValueError, match="kind"):
        learner_args("sensor", "int")
