"""simulate(): budgets, violation messages, the queue, argument checks and the report."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import firmware_sim as fs
from edge_mesu import BudgetExceededError, MESULearner


def _stream(n_in: int, n_classes: int, n: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = 0.5 * rng.standard_normal((n, n_in))
    return X, (X[:, 0] > 0).astype(int) % n_classes


def test_small_model_fits_and_keeps_up():
    learner = MESULearner((8, 4, 2), seed=0)
    report = fs.simulate(
        learner, "stm32l4", _stream(8, 2), rate_hz=20.0, queue=2, description=fs.assume_fixed_point(learner)
    )
    assert report.ok and report.violations == []
    assert report.processed == report.samples == 30
    assert report.deadline_misses == 0 and report.dropped == 0
    assert 0 < report.utilisation < 1 and report.accuracy is not None
    assert learner.step == 30  # the real learner learned every processed sample
    d = report.to_dict()
    for key in (
        "device",
        "mode",
        "flash_bytes",
        "ram_bytes",
        "ram",
        "cycles_per_step",
        "us_per_step",
        "utilisation",
        "deadline_misses",
        "dropped",
        "accuracy",
        "ok",
        "violations",
        "memory_plan",
    ):
        assert key in d
    json.dumps(d)  # JSON-ready
    assert d["ram_bytes"] == sum(d["ram"].values())
    assert "OK, every budget holds" in report.format_table()


def test_too_large_model_fails_ram_naming_the_state():
    learner = MESULearner((784, 50, 10), seed=0)  # float32 mu and sigma: 318,080 B of state
    report = fs.simulate(learner, "stm32l4", _stream(784, 10, n=2), rate_hz=1.0)
    assert not report.ok
    ram = [v for v in report.violations if v.startswith("RAM budget exceeded")]
    assert len(ram) == 1
    assert "stm32l4" in ram[0] and "131,072 B" in ram[0] and "largest consumer: state, 318,080 B" in ram[0]
    with pytest.raises(BudgetExceededError, match="RAM budget exceeded"):
        report.raise_for_budget()


def test_fixed_point_784_50_10_fits_stm32l4_ram_but_not_50_hz():
    learner = MESULearner((784, 50, 10), seed=0)
    report = fs.simulate(
        learner, "stm32l4", _stream(784, 10, n=10), rate_hz=50.0, queue=1, description=fs.assume_fixed_point(learner)
    )
    assert report.ram["state"] == 3 * 39_760 and report.ram_bytes <= report.ram_budget
    assert len(report.violations) == 1 and report.violations[0].startswith("latency budget exceeded")
    assert "largest consumer: learn:" in report.violations[0]
    assert report.deadline_misses > 0 and report.dropped > 0
    assert report.processed + report.dropped == report.samples


def test_infer_mode_keeps_weights_in_flash_and_does_not_learn():
    learner = MESULearner((8, 4, 2), seed=0)
    report = fs.simulate(learner, "rp2040", _stream(8, 2), rate_hz=100.0, mode="infer")
    assert "state" not in report.ram and report.flash["weights"] == 8 * 4 + 4 * 2 + 4 * (4 + 2)
    assert learner.step == 0 and report.ok


@pytest.mark.parametrize("rate", [0, -1.0, math.nan, math.inf, "10", True, None])
def test_bad_rate_is_a_value_error(rate):
    with pytest.raises(ValueError, match="rate_hz"):
        fs.simulate(MESULearner((4, 3, 2)), "stm32l4", _stream(4, 3), rate_hz=rate)


@pytest.mark.parametrize("queue", [-1, 1.5, True, "2"])
def test_bad_queue_is_a_value_error(queue):
    with pytest.raises(ValueError, match="queue"):
        fs.simulate(MESULearner((4, 3, 2)), "stm32l4", _stream(4, 3), rate_hz=1.0, queue=queue)


def test_bad_mode_and_unknown_device():
    with pytest.raises(ValueError, match="mode"):
        fs.simulate(MESULearner((4, 3, 2)), "stm32l4", _stream(4, 3), rate_hz=1.0, mode="train")
    with pytest.raises(ValueError, match="known devices"):
        fs.simulate(MESULearner((4, 3, 2)), "nope", _stream(4, 3), rate_hz=1.0)


def test_stream_of_pairs_and_max_samples():
    X, y = _stream(4, 2, n=12)
    pairs = list(zip(X, y, strict=True))
    report = fs.simulate(MESULearner((4, 3, 2)), "stm32h7", pairs, rate_hz=5.0, max_samples=7)
    assert report.samples == 7


def test_queue_counts():
    # service 1.5 periods, one waiting place: the line fills and every other late arrival is dropped
    r = fs.replay_queue(range(10), service_s=0.15, rate_hz=10.0, queue=1)
    assert (r.processed, r.dropped, r.deadline_misses) == (8, 2, 8)
    # no waiting place at all
    r = fs.replay_queue(range(10), service_s=0.15, rate_hz=10.0, queue=0)
    assert (r.processed, r.dropped) == (5, 5)
    # under capacity: nothing missed, nothing dropped
    r = fs.replay_queue(range(100), service_s=0.099, rate_hz=10.0, queue=0)
    assert (r.processed, r.dropped, r.deadline_misses) == (100, 0, 0)


def test_latency_is_op_by_op_and_simd_aware():
    learner = fs.assume_fixed_point(MESULearner((64, 16, 4)))
    m4 = fs.estimate_latency(learner, fs.load_device("stm32l4"), "infer")
    m0 = fs.estimate_latency(learner, fs.load_device("rp2040"), "infer")
    assert m4.cycles == pytest.approx(sum(c.op.count * c.cycles_each for c in m4.ops))
    fwd = {c.op.name: c.cycles_each for c in m4.ops}["fc0.forward"]
    assert fwd == fs.load_device("stm32l4").costs["mac_int8_simd"]
    assert m0.cycles > m4.cycles
    assert m4.us == pytest.approx(m4.cycles / 80.0)


def test_diverging_learner_is_reported_not_raised():
    class Boom:
        def describe(self):
            return MESULearner((4, 3, 2), bias=False).describe()

        def predict_one(self, x):
            return 0

        def learn_one(self, x, y):
            raise FloatingPointError("went to infinity")

    report = fs.simulate(Boom(), "stm32l4", _stream(4, 2, n=5), rate_hz=1.0)
    assert report.learner_error and "went to infinity" in report.learner_error and not report.ok


def test_fixed_learner_is_costed_from_its_own_arithmetic(tmp_path):
    import edge_mesu

    cls = getattr(edge_mesu, "FixedMESULearner", None)
    if cls is None:
        pytest.skip("edge_mesu.FixedMESULearner not available")
    learner = cls((8, 4, 2), seed=0)
    report = fs.simulate(learner, "nrf52840", _stream(8, 2, n=10), rate_hz=20.0)
    assert report.ram["state"] == learner.state_nbytes() and report.processed == 10
    assert report.cycles["learn"] > report.cycles["predict"] > 0
