"""SensorPipeline with a labelling policy: only the windows the policy asks for are learned, budgets hold,
the score is the predict step's own, and bad arguments change nothing."""

from __future__ import annotations

import numpy as np
import pytest

from edge_mesu import SensorPipeline
from edge_mesu.data import make_sensor_stream
from edge_mesu.frontend import FrontEndSpec
from edge_mesu.labelling import BudgetedSelector, RandomSelector, UncertaintyGate
from edge_mesu.uncertainty import entropy_bits


@pytest.fixture(scope="module")
def stream():
    return make_sensor_stream(n_windows=300, seed=4)


def fresh(stream, fixed=True):
    return SensorPipeline.create(FrontEndSpec(channels=3, window=32), stream.class_names, fixed=fixed, seed=1)


def masked_labels(stream, out):
    """The stream's labels with every window the policy did not ask for made unlabelled (label rule 'last')."""
    labels = stream.labels.copy()
    labels[out.end[~out.asked]] = -1
    return labels


@pytest.mark.parametrize("fixed", [True, False])
def test_only_asked_windows_are_learned(stream, fixed):
    p = fresh(stream, fixed)
    policy = BudgetedSelector(0.25, window=50)
    out = p.process(stream.samples, stream.labels, label_policy=policy, label_score="mutual_information")
    assert 0 < out.asked.sum() < len(out)
    assert np.array_equal(out.learned, out.asked & (out.label >= 0))
    assert p.learner.step == int(out.learned.sum())
    assert np.isfinite(out.score).all() and np.array_equal(out.score, out.mi)  # MI once, for every window
    # the same learner fed only the asked windows' labels (MI on every window, as the policy needed) ends in
    # the same state, byte for byte
    ref = fresh(stream, fixed)
    ref_out = ref.process(stream.samples, masked_labels(stream, out), uncertainty="all")
    assert np.array_equal(ref_out.learned, out.learned)
    assert ref.to_bytes() == p.to_bytes()


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_budget_is_respected(stream, fraction):
    p = fresh(stream)
    sel = BudgetedSelector(fraction, window=50, burst=4)
    out = p.process(stream.samples, stream.labels, label_policy=sel)
    n = len(out)
    assert sel.offered == n and sel.asked == out.asked.sum()
    for k in (20, 100, n):  # every prefix within the budget plus the burst
        assert out.asked[:k].sum() <= fraction * k + 4
    assert out.asked.sum() >= fraction * n - 2  # and, paced, the whole budget is spent


def test_budget_asks_for_the_uncertain_windows(stream):
    p = fresh(stream)
    out = p.process(stream.samples, stream.labels, label_policy=BudgetedSelector(0.25, window=50))
    late = np.arange(len(out)) >= 50
    assert np.median(out.score[late & out.asked]) > np.median(out.score[late & ~out.asked])


def test_threshold_asks_exactly_above_it(stream):
    p = fresh(stream)
    first = p.process(stream.samples[:3200], stream.labels[:3200], label_policy=UncertaintyGate(1e9))
    assert not first.asked.any() and p.learner.step == 0  # nothing asked, nothing learned
    thr = float(np.median(first.score))
    out = p.process(stream.samples[3200:], stream.labels[3200:], label_policy=UncertaintyGate(thr))
    assert np.array_equal(out.asked, out.score > thr) and 0 < out.asked.sum() < len(out)
    assert p.learner.step == int((out.asked & (out.label >= 0)).sum())


def test_entropy_score_is_the_predict_steps_own(stream):
    p = fresh(stream, fixed=False)
    out = p.process(stream.samples, stream.labels, label_policy=UncertaintyGate(1e9), label_score="entropy")
    assert p.learner.step == 0 and np.isnan(out.mi[out.label >= 0]).all()  # no sampled MI was computed for it
    X = p.frontend.to_float(out.inputs)
    expect = entropy_bits(p.learner.predict_proba(X, samples=0))
    np.testing.assert_allclose(out.score, expect, atol=1e-5)  # float32: row vs batch rounding


def test_unlabelled_windows_asked_for_are_not_learned(stream):
    p = fresh(stream)
    labels = stream.labels.copy()
    labels[: len(labels) // 2] = -1
    out = p.process(stream.samples, labels, label_policy=RandomSelector(1.0))
    assert out.asked.all() and p.learner.step == int((out.label >= 0).sum()) < len(out)


def test_no_policy_reports_nothing_asked(stream):
    p, q = fresh(stream), fresh(stream)
    out = p.process(stream.samples, stream.labels)
    q.process(stream.samples, stream.labels, label_policy=None)
    assert not out.asked.any() and np.isnan(out.score).all() and p.to_bytes() == q.to_bytes()


class NoOffer:
    pass


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(label_policy=NoOffer()), "offer(score)"),
        (dict(label_policy=BudgetedSelector(0.5), label_score="variance"), "label_score must be one of"),
        (dict(label_policy=BudgetedSelector(0.5), learn=False), "needs learn=True"),
    ],
)
def test_bad_policy_arguments_change_nothing(stream, kwargs, message):
    p = fresh(stream)
    p.process(stream.samples[:640], stream.labels[:640])
    before = p.to_bytes()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        p.process(stream.samples[640:], stream.labels[640:], **kwargs)
    assert p.to_bytes() == before


def test_the_default_score_is_the_entropy_of_the_prediction(stream):
    """No weight samples are drawn for the policy by default: the score is the predict step's entropy, and
    the mutual information is computed only where the uncertainty mode asks (unlabelled windows)."""
    p = fresh(stream)
    out = p.process(stream.samples, stream.labels, label_policy=BudgetedSelector(0.25, window=50))
    assert np.isfinite(out.score).all() and 0 < out.asked.sum() < len(out)
    assert np.isnan(out.mi[out.label >= 0]).all()  # every window of this stream is labelled: no MI at all
    n_classes = p.learner.n_classes  # an entropy in bits: within [0, log2 C]
    assert (out.score >= 0).all() and (out.score <= np.log2(n_classes) + 1e-12).all()
