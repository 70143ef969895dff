"""Uncertainty: decomposition identities and out-of-distribution detection on generated data."""

from __future__ import annotations

import numpy as np
import pytest

from edge_mesu import FixedMESULearner, MESULearner
from edge_mesu.metrics import auroc
from edge_mesu.uncertainty import decompose, entropy_bits


def test_entropy_and_decomposition_identities() -> None:
    assert entropy_bits(np.array([0.5, 0.5])) == pytest.approx(1.0)
    assert entropy_bits(np.array([1.0, 0.0])) == 0.0
    agree = np.tile(np.array([[[0.7, 0.3]]]), (4, 1, 1))
    u = decompose(agree)  # samples that agree: no epistemic part
    assert u.epistemic[0] == pytest.approx(0.0, abs=1e-12)
    disagree = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    u = decompose(disagree)  # confident samples that disagree: one full bit of mutual information
    assert u.epistemic[0] == pytest.approx(1.0) and u.aleatoric[0] == pytest.approx(0.0)


def test_auroc_matches_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, 40).astype(float), rng.integers(2, 8, 30).astype(float)
    pairs = (b[:, None] > a[None, :]).mean() + 0.5 * (b[:, None] == a[None, :]).mean()
    assert auroc(a, b) == pytest.approx(pairs)
    with pytest.raises(ValueError):
        auroc([], [1.0])


def _task(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """4 classes of 40-d inputs; as with MNIST's background pixels, features 20..39 are always near 0."""
    templates = np.zeros((4, 40))
    for c in range(4):
        templates[c, 5 * c : 5 * c + 8] = 2.0
    y = rng.integers(0, 4, n)
    X = templates[y] + 0.3 * rng.standard_normal((n, 40)) * (np.arange(40) < 20)
    return X, y


@pytest.mark.parametrize("cls", [MESULearner, FixedMESULearner])
def test_unseen_permutation_is_more_uncertain(cls) -> None:
    """The permuted-MNIST OOD check in miniature: inputs under an unseen feature permutation score a higher
    mutual information than inputs of the learned task (AUROC >= 0.8), for float and fixed learners."""
    rng = np.random.default_rng(1)
    X, y = _task(rng, 2000)
    m = cls(layers=(40, 16, 4), seed=0)
    m.learn_many(X, y)
    X_in, y_in = _task(rng, 300)
    X_out = X_in[:, rng.permutation(40)]
    u_in, u_out = m.uncertainty(X_in, samples=16), m.uncertainty(X_out, samples=16)
    assert np.mean(m.predict(X_in) == y_in) > 0.9
    assert auroc(u_in.epistemic, u_out.epistemic) >= 0.8
