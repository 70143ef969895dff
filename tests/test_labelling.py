"""Labelling policies: budgets are kept, the most uncertain windows are the ones asked for."""

from __future__ import annotations

import numpy as np
import pytest

from edge_mesu import FixedMESULearner, SGDLearner
from edge_mesu.labelling import BudgetedSelector, RandomSelector, UncertaintyGate, learn_if_selected, uncertainty_score


@pytest.mark.parametrize("fraction", [0.05, 0.25, 0.5, 1.0])
def test_budget_is_never_exceeded(fraction):
    rng = np.random.default_rng(0)
    sel = BudgetedSelector(fraction=fraction, window=50, burst=4)
    asked = np.array([sel.offer(s) for s in rng.exponential(size=4000)])
    for n in (10, 100, 1000, 4000):  # any prefix: at most fraction·n + burst
        assert asked[:n].sum() <= fraction * n + 4
    assert asked.sum() >= 0.8 * fraction * 4000  # and most of the budget is spent
    assert sel.used_fraction == pytest.approx(asked.mean())


def test_asks_for_the_uncertain_windows():
    rng = np.random.default_rng(1)
    scores = rng.random(5000)
    sel = BudgetedSelector(fraction=0.1, window=200, pace=False)
    asked = np.array([sel.offer(s) for s in scores])
    late = asked[200:]  # once the window of recent scores is full
    assert scores[200:][late].mean() > 0.85 and scores[200:][late].min() > 0.75
    paced = BudgetedSelector(fraction=0.1, window=200)  # the bar drops only while budget piles up
    asked = np.array([paced.offer(s) for s in scores])
    assert scores[200:][asked[200:]].mean() > 0.85 and abs(asked.mean() - 0.1) < 0.005


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_pacing_spends_the_budget_when_uncertainty_falls(fraction):
    """A learner's uncertainty falls as it learns: a fixed top-q bar leaves budget unspent, pacing spends it."""
    rng = np.random.default_rng(2)
    scores = np.exp(-np.arange(5000) / 1000) * rng.random(5000)
    fixed_bar, paced = BudgetedSelector(fraction, pace=False), BudgetedSelector(fraction)
    fixed_asked = np.array([fixed_bar.offer(s) for s in scores])
    paced_asked = np.array([paced.offer(s) for s in scores])
    assert fixed_asked.mean() < 0.9 * fraction <= 0.98 * fraction <= paced_asked.mean() <= fraction + 4 / 5000
    for n in (10, 100, 1000, 5000):
        assert paced_asked[:n].sum() <= fraction * n + 4
    # still the uncertain ones: what it asks for scores well above what it passes over, window by window
    assert np.mean(scores[paced_asked]) > 1.5 * np.mean(scores[~paced_asked])


def test_gate_and_random():
    g = UncertaintyGate(0.2)
    assert [g(0.1), g(0.2), g(0.3)] == [False, False, True]
    r = RandomSelector(0.25, seed=3)
    frac = np.mean([r.offer() for _ in range(4000)])
    assert abs(frac - 0.25) < 0.03 and r.used_fraction == frac
    for bad in (dict(fraction=0.0), dict(fraction=1.5), dict(fraction=0.1, window=0)):
        with pytest.raises(ValueError):
            BudgetedSelector(**bad)
    with pytest.raises(ValueError):
        UncertaintyGate(-1.0)
    with pytest.raises(ValueError):
        BudgetedSelector(0.5).offer(float("nan"))


def test_learn_if_selected_learns_only_what_it_asks_for():
    rng = np.random.default_rng(0)
    m = FixedMESULearner(layers=(4, 8, 3), sigma_init=0.2, seed=0)
    x = rng.normal(size=4)
    assert uncertainty_score(m, x) >= 0.0
    assert not learn_if_selected(m, x, 1, UncertaintyGate(1e9)) and m.step == 0
    assert learn_if_selected(m, x, 1, UncertaintyGate(0.0) if uncertainty_score(m, x) > 0 else BudgetedSelector(1.0))
    assert m.step == 1
    assert learn_if_selected(m, x, None, BudgetedSelector(1.0)) and m.step == 1  # asked, nobody answered
    s = SGDLearner(layers=(4, 8, 3), seed=0)
    assert 0.0 <= uncertainty_score(s, x, score="entropy") <= np.log2(3) + 1e-9  # what a deterministic net has
    assert uncertainty_score(s, x, score="mutual_information") == 0.0  # no weight uncertainty: exactly zero MI
    assert uncertainty_score(s, x) == uncertainty_score(s, x, score="entropy")  # the default score


def test_deterministic_learner_has_exactly_zero_mutual_information():
    from edge_mesu import SGDLearner

    s = SGDLearner(layers=(4, 8, 3), seed=0)
    u = s.uncertainty(np.random.default_rng(0).normal(size=(500, 4)), samples=10)
    assert np.all(u.epistemic == 0.0) and np.array_equal(u.predictive, u.aleatoric)  # was up to 6.7e-16


def test_benchmark_policies_spend_the_budget_where_they_say():
    """The label benchmark's experimental policies (edge_mesu_app.bench.sensor_labels): the warm start asks for
    every one of its first windows, then keeps the whole stream within the budget; the per-class policy gives
    each predicted class its own budget, so a class predicted rarely is still asked about."""
    from edge_mesu_app.bench.sensor_labels import PerClassPolicy, WarmStartPolicy, make_policy

    rng = np.random.default_rng(0)
    warm = WarmStartPolicy(0.25, n=1000, warm=50)
    asks = [warm.offer(float(s)) for s in rng.random(1000)]
    assert all(asks[:50]) and abs(sum(asks) - 250) <= 5, sum(asks)
    per = PerClassPolicy(0.25)
    classes = rng.choice(2, size=2000, p=[0.95, 0.05])
    scores = rng.random(2000) * 0.5 + 0.5 * (classes == 0)  # the rare class is always the less uncertain
    asked = [per.offer_class(float(s), int(c)) for s, c in zip(scores, classes)]
    top = BudgetedSelector(0.25)  # one budget over every window: the rare class is (almost) never asked about
    glob = [top.offer(float(s)) for s in scores]
    assert np.mean([a for a, k in zip(glob, classes) if k == 1]) < 0.05
    for c in (0, 1):
        share = np.mean([a for a, k in zip(asked, classes) if k == c])
        assert 0.2 <= share <= 0.3, (c, share)  # each class gets about a quarter of its own windows
    assert isinstance(make_policy("perclass", 0.25, 0), PerClassPolicy)
    with pytest.raises(ValueError, match="perclass"):
        make_policy("nope", 0.25, 0)
