"""Labels as the scarce resource: accuracy against the fraction of labels a policy asks for.

Every window of a stream (:mod:`edge_mesu.bench.sensor_streams`) is predicted (mean weights); a policy of
:mod:`edge_mesu.labelling` then decides from an uncertainty score whether to ask for its label, and the
learner learns only the windows it asked for. Scores: ``mi`` (mutual information over 8 weight samples, a
MESU learner), ``entropy`` (softmax entropy of the mean network, any learner), ``random`` (no score: the
same budget spent at random). Reported: the fraction of labels used, the prequential accuracy over every
window, and the accuracy at the end on the held-back windows (``final``) and on the first third's
(``retention``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from edge_mesu.labelling import BudgetedSelector, RandomSelector, UncertaintyGate
from edge_mesu.uncertainty import entropy_bits

from .sensor_streams import Stream

__all__ = ["make_policy", "run_label_policy"]


class MixedPolicy:
    """Half the budget on the most uncertain windows (paced :class:`BudgetedSelector`), half at random."""

    def __init__(self, fraction: float, seed: int, window: int = 200, pace: bool = True) -> None:
        self.top = BudgetedSelector(fraction=fraction / 2, window=window, pace=pace)
        self.rnd = RandomSelector(fraction=fraction / 2, seed=seed)

    def offer(self, score: float) -> bool:
        a = self.top.offer(score)  # always offered: it keeps the recent scores
        return self.rnd.offer(score) or a


class PerClassPolicy:
    """The budget spread over the predicted classes: one paced :class:`BudgetedSelector` of ``fraction`` per
    predicted class, so each class is asked about in proportion to how often it is predicted, and within it
    for its most uncertain windows (stratified uncertainty sampling; an experiment, not in the library)."""

    def __init__(self, fraction: float, window: int = 200, pace: bool = True) -> None:
        self.fraction, self.window, self.pace = fraction, window, pace
        self.by_class: dict[int, BudgetedSelector] = {}

    def offer_class(self, score: float, predicted: int) -> bool:
        sel = self.by_class.setdefault(
            predicted, BudgetedSelector(fraction=self.fraction, window=self.window, pace=self.pace)
        )
        return sel.offer(score)


class WarmStartPolicy:
    """Every label of the first ``warm`` windows (a cold start), then the rest of a ``fraction`` budget over the
    stream's ``n`` windows on the most uncertain (paced :class:`BudgetedSelector`); an experiment."""

    def __init__(self, fraction: float, n: int, warm: int = 50, window: int = 200, pace: bool = True) -> None:
        self.warm = min(warm, int(fraction * n))
        rest = (fraction * n - self.warm) / max(n - self.warm, 1)
        self.top = BudgetedSelector(fraction=min(max(rest, 1e-9), 1.0), window=window, pace=pace)
        self.seen = 0

    def offer(self, score: float) -> bool:
        self.seen += 1
        if self.seen <= self.warm:
            return True
        return self.top.offer(score)


def make_policy(kind: str, fraction: float, seed: int, window: int = 200, pace: bool = True) -> Any:
    """``top`` (budgeted top-``fraction``, paced unless ``pace=False``), ``random`` (same budget at random),
    ``mixed`` (half of each), ``gate`` (threshold = ``fraction`` bits), ``all`` (every label)."""
    if kind == "all":
        return None
    if kind == "mixed":
        return MixedPolicy(fraction, seed, window, pace)
    if kind == "perclass":
        return PerClassPolicy(fraction, window, pace)
    if kind == "top":
        return BudgetedSelector(fraction=fraction, window=window, pace=pace)
    if kind == "random":
        return RandomSelector(fraction=fraction, seed=seed)
    if kind == "gate":
        return UncertaintyGate(threshold=fraction)
    raise ValueError(f"unknown policy {kind!r} (all, top, random, mixed, perclass, gate)")


def _acc(m: Any, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(m.predict_proba(X, samples=0).argmax(axis=1) == y)) if len(y) else math.nan


def run_label_policy(
    stream: Stream,
    factory: Callable[[int, int, int], Any],
    seed: int,
    policy: str,
    fraction: float = 1.0,
    score: str = "mi",
    samples: int = 8,
    pace: bool = True,
) -> dict[str, Any]:
    """One learner on one stream, learning only the windows ``policy`` selects by ``score``."""
    m = factory(stream.n_features, stream.n_classes, seed)
    X, y = stream.X, stream.y
    n = len(y)
    pol = (
        WarmStartPolicy(fraction, n, pace=pace) if policy == "warm" else make_policy(policy, fraction, seed, pace=pace)
    )
    correct = np.zeros(n, dtype=bool)
    asked = 0
    for i in range(n):
        x = X[i : i + 1]
        p = m.predict_proba(x, samples=0)[0]
        correct[i] = int(p.argmax()) == y[i]
        if pol is None:
            take = True
        elif isinstance(pol, PerClassPolicy):
            s = float(m.uncertainty(x, samples=samples).epistemic[0]) if score == "mi" else float(entropy_bits(p))
            take = pol.offer_class(s, int(p.argmax()))
        elif score == "mi":
            take = pol.offer(float(m.uncertainty(x, samples=samples).epistemic[0]))
        elif score == "entropy":
            take = pol.offer(float(entropy_bits(p)))
        else:
            take = pol.offer(0.0)
        if take:
            m.learn_one(X[i], int(y[i]))
            asked += 1
    return {
        "fraction": asked / n,
        "prequential": float(correct.mean()),
        "final": _acc(m, *stream.known_end),
        "retention": _acc(m, *stream.held_end),
        "steps": n,
    }
