"""The vectorised fleet is bit-identical to each device's own FixedMESULearner."""

from __future__ import annotations

import numpy as np
import pytest

from edge_mesu.fixed import FixedMESULearner
from edge_mesu.fleet import Fleet, solo_learner
from edge_mesu_app.fleet import device_seed, device_stream, device_variant


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"train_samples": 2, "bias": False, "rounding": "nearest"},
        {"sigma_bits": 5, "sigma_per_octave": 2, "N": 500.0},
    ],
)
def test_fleet_step_matches_solo_learners_byte_for_byte(kwargs):
    D, S = 5, 60
    template = FixedMESULearner((96, 6, 5), seed=7, **kwargs)
    seeds = [device_seed(7, d) for d in range(D)]
    fleet = Fleet(template, seeds)
    solos = [solo_learner(template, s) for s in seeds]
    data = [device_stream(device_variant(7, d), S) for d in range(D)]
    rng = np.random.default_rng(0)
    for k in range(S):
        X = np.stack([x[k] for x, _, _ in data])
        y = np.array([t[k] for _, t, _ in data])
        active = rng.random(D) < 0.7  # devices that drop a window do not step
        pred = fleet.predict(X)
        assert pred.tolist() == [s.predict_one(X[d]) for d, s in enumerate(solos)]
        if k % 20 == 0:
            mi = fleet.mutual_info(X, np.arange(D), samples=3)
            assert mi.tolist() == [s.uncertainty(X[d : d + 1], samples=3).epistemic[0] for d, s in enumerate(solos)]
        fleet.learn(X, y, active)
        for d in np.flatnonzero(active):
            solos[d].learn_one(X[d], y[d])
    for d, solo in enumerate(solos):
        mine = fleet.device_learner(d)
        assert mine.step == solo.step
        for (m1, c1), (m2, c2) in zip(mine.int_params().values(), solo.int_params().values()):
            assert m1.tobytes() == m2.tobytes() and c1.tobytes() == c2.tobytes()
        solo.counters = mine.counters  # counters are fleet-wide: compare them as sums below
        assert mine.to_bytes() == solo.to_bytes()  # the whole state file, byte for byte


def test_counters_are_the_sum_of_the_devices_counters():
    template = FixedMESULearner((96, 4, 5), seed=1)
    seeds = [11, 12, 13]
    fleet = Fleet(template, seeds)
    solos = [solo_learner(template, s) for s in seeds]
    data = [device_stream(device_variant(1, d), 40) for d in range(3)]
    for k in range(40):
        X = np.stack([x[k] for x, _, _ in data])
        y = np.array([t[k] for _, t, _ in data])
        fleet.learn(X, y)
        for d, s in enumerate(solos):
            s.learn_one(X[d], y[d])
    total: dict[str, int] = {}
    for s in solos:
        for name, n in s.counters.as_dict().items():
            total[name] = total.get(name, 0) + n
    assert fleet.counters.as_dict() == dict(sorted(total.items()))


def test_device_streams_are_deterministic_and_different():
    a = device_stream(device_variant(3, 0), 100)
    b = device_stream(device_variant(3, 0), 100)
    c = device_stream(device_variant(3, 1), 100)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    assert not np.array_equal(a[0], c[0])
    v = device_variant(3, 0)
    assert v.missing_class not in a[1].tolist() and v.class_weights[v.missing_class] == 0.0


def test_bad_fleet_input_is_refused():
    fleet = Fleet(FixedMESULearner((4, 3, 2), seed=0), [1, 2])
    with pytest.raises(ValueError, match="labels"):
        fleet.learn(np.zeros((2, 4)), np.array([0, 5]))
    with pytest.raises(ValueError, match="shape"):
        fleet.learn(np.zeros((2, 5)), np.array([0, 1]))
    with pytest.raises(ValueError, match="seeds"):
        Fleet(FixedMESULearner((4, 3, 2), seed=0), [])
