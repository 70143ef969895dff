"""The scikit-learn adapter: scikit-learn's own estimator checks, Pipeline, clone, partial_fit, bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_iris  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from edge_mesu import FixedMESULearner, MESULearner  # noqa: E402
from edge_mesu.compat.sklearn import MESUSKClassifier  # noqa: E402

EXPECTED_FAILED: dict[str, str] = {}  # none: every check scikit-learn runs passes for both learners


@parametrize_with_checks(
    [MESUSKClassifier(learner="float"), MESUSKClassifier(learner="fixed")],
    expected_failed_checks=lambda est: EXPECTED_FAILED,
)
def test_sklearn_check_estimator(estimator, check) -> None:
    check(estimator)


def _data(name: str = "breast_cancer") -> tuple[np.ndarray, np.ndarray]:
    X, y = (load_breast_cancer if name == "breast_cancer" else load_iris)(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    return X[order], y[order]


@pytest.mark.parametrize("learner", ["float", "fixed"])
@pytest.mark.parametrize("name", ["breast_cancer", "iris"])
def test_pipeline_fit_and_partial_fit(learner: str, name: str) -> None:
    X, y = _data(name)
    half = len(y) // 2
    pipe = make_pipeline(StandardScaler(), MESUSKClassifier(learner=learner, random_state=0))
    pipe.fit(X[:half], y[:half])
    assert pipe.score(X[half:], y[half:]) > 0.85
    proba = pipe.predict_proba(X[half:])
    assert proba.shape == (len(y) - half, len(np.unique(y))) and np.allclose(proba.sum(axis=1), 1.0)
    scaler = StandardScaler().fit(X[:half])
    stream = MESUSKClassifier(learner=learner, random_state=0)
    for start in range(0, half, 25):  # streamed in chunks, one pass
        stream.partial_fit(scaler.transform(X[start : start + 25]), y[start : start + 25], classes=np.unique(y))
    assert stream.score(scaler.transform(X[half:]), y[half:]) > 0.8


def test_clone_keeps_params_and_forgets_state() -> None:
    X, y = _data()
    X, y = X[:100], y[:100]
    est = MESUSKClassifier(
        learner="fixed", hidden=(8, 4), N=5000.0, max_iter=2, random_state=3, learner_params={"input_frac": 4}
    )
    est.fit(StandardScaler().fit_transform(X), y)
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    assert not hasattr(twin, "learner_")
    assert isinstance(est.learner_, FixedMESULearner) and est.learner_.layers == (30, 8, 4, 2)
    assert est.learner_.plan.input_fmt.frac == 4
    with pytest.raises(NotFittedError):
        twin.predict(X)
    twin.set_params(learner="float", learner_params=None)
    assert isinstance(twin.fit(X, y).learner_, MESULearner)


def test_pickle_round_trip() -> None:
    X, y = _data("iris")
    X = StandardScaler().fit_transform(X)
    est = MESUSKClassifier(learner="fixed", random_state=0).fit(X, y)
    back = pickle.loads(pickle.dumps(est))
    assert np.array_equal(back.predict_proba(X), est.predict_proba(X))
    assert back.learner_.to_bytes() == est.learner_.to_bytes()


def _fitted_stream() -> tuple[MESUSKClassifier, np.ndarray, np.ndarray]:
    X, y = _data("iris")
    X = StandardScaler().fit_transform(X)
    est = MESUSKClassifier(learner="fixed", random_state=0)
    est.partial_fit(X[:60], y[:60], classes=[0, 1, 2])
    return est, X, y


@pytest.mark.parametrize("case", ["nan", "inf", "n_features", "label", "1d", "string", "classes change"])
def test_bad_partial_fit_raises_and_leaves_state_unchanged(case: str) -> None:
    est, X, y = _fitted_stream()
    state, attrs = est.learner_.to_bytes(), pickle.dumps(est)
    Xb, yb, kwargs = X[60:70].copy(), y[60:70].copy(), {}
    if case == "nan":
        Xb[3, 1] = np.nan
    elif case == "inf":
        Xb[0, 0] = np.inf
    elif case == "n_features":
        Xb = Xb[:, :3]
    elif case == "label":
        yb[5] = 7
    elif case == "1d":
        Xb = Xb[0]
    elif case == "string":
        Xb = Xb.astype(object)
        Xb[2, 2] = "wide"
    else:
        kwargs = {"classes": [0, 1, 2, 3]}
    with pytest.raises(ValueError):
        est.partial_fit(Xb, yb, **kwargs)
    assert est.learner_.to_bytes() == state and pickle.dumps(est) == attrs
    if case in ("nan", "n_features"):
        with pytest.raises(ValueError):
            est.predict(Xb)


def test_first_partial_fit_needs_classes_and_fails_cleanly() -> None:
    X, y = _data("iris")
    est = MESUSKClassifier()
    with pytest.raises(ValueError, match="classes must be passed"):
        est.partial_fit(X, y)
    with pytest.raises(ValueError, match="not in classes_"):
        est.partial_fit(X, y, classes=[0, 1])
    assert not hasattr(est, "n_features_in_") and not hasattr(est, "classes_")
    with pytest.raises(ValueError, match="1 class"):
        MESUSKClassifier().fit(X, np.zeros(len(y)))


def test_adapters_are_thin_same_stream_same_fixed_state() -> None:
    """partial_fit and the river adapter's learn_one drive the same learner to the same integer state."""
    pytest.importorskip("river")
    from edge_mesu.compat.river import MESUClassifier

    X, y = _data("iris")
    X = StandardScaler().fit_transform(X)
    est = MESUSKClassifier(learner="fixed", random_state=5).partial_fit(X, y, classes=[0, 1, 2])
    riv = MESUClassifier(learner="fixed", features=("f0", "f1", "f2", "f3"), classes=(0, 1, 2), seed=5)
    for row, label in zip(X, y):
        riv.learn_one({f"f{i}": v for i, v in enumerate(row)}, int(label))
    assert riv.inner.to_bytes() == est.learner_.to_bytes()


def test_uncertainty_and_state_bytes() -> None:
    est, X, _ = _fitted_stream()
    u = est.predict_uncertainty(X[:10], samples=8)
    assert u.predictive.shape == (10,) and np.all(u.epistemic >= 0)
    assert np.allclose(u.predictive, u.aleatoric + u.epistemic)
    assert est.state_nbytes() == 3 * est.learner_.n_params()
