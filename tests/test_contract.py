"""The shared river-style contract, run over every learner class edge_mesu exports.

Each check is a named test parametrised over the learner classes present among MESULearner,
FixedMESULearner and SGDLearner, so a learner added later joins the suite by being exported.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import edge_mesu

LAYERS = (4, 8, 3)
# constructor arguments per class: small σ so the float MESU rule is in its stable regime (σ·|g| << 1)
_KWARGS = {
    "MESULearner": {"N": 1000.0, "sigma_init": 0.1},
    "FixedMESULearner": {"N": 1000.0, "sigma_init": 0.1},
    "SGDLearner": {"lr": 0.05},
}
NAMES = [n for n in _KWARGS if hasattr(edge_mesu, n)]


def make(name: str, seed: int = 0, **extra):
    return getattr(edge_mesu, name)(layers=LAYERS, seed=seed, **{**_KWARGS[name], **extra})


def accepts(name: str, arg: str) -> bool:
    return arg in inspect.signature(getattr(edge_mesu, name)).parameters


def stream(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Linearly separable 3-class stream: y = argmax of the first three features."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, LAYERS[0]))
    return X, np.argmax(X[:, :3], axis=1)


@pytest.fixture(params=NAMES)
def name(request) -> str:
    return request.param


@pytest.fixture
def trained(name: str):
    X, y = stream(60, seed=1)
    m = make(name, seed=4)
    m.learn_many(X, y)
    return m


def test_at_least_the_two_mesu_learners_are_covered() -> None:
    assert {"MESULearner", "FixedMESULearner"} <= set(NAMES)


# -- input is never mutated -------------------------------------------------------------------------------


def test_input_not_mutated(name: str) -> None:
    m = make(name)
    for dtype in (np.float64, np.float32):
        X, y = stream(20, seed=2)
        X = X.astype(dtype)
        X[0, 0] = 9.0  # beyond the fixed learner's input range: saturation must not write back
        X_copy, y_copy = X.copy(), y.copy()
        m.learn_many(X, y, batch_size=4)
        m.learn_one(X[1], y[1])
        m.predict_proba(X)
        m.predict_proba(X, samples=2)
        m.predict(X)
        m.predict_one(X[0])
        m.predict_proba_one(X[0])
        m.uncertainty(X, samples=3)
        np.testing.assert_array_equal(X, X_copy)
        np.testing.assert_array_equal(y, y_copy)
        assert X.dtype == dtype and y.dtype == y_copy.dtype


# -- bad input raises a ValueError naming the problem, before any state change ----------------------------

_X_OK = [0.1, -0.2, 0.3, 0.4]
BAD_ONE = [
    ("short x", [0.1, 0.2, 0.3], 0, "shape"),
    ("long x", [0.1, 0.2, 0.3, 0.4, 0.5], 0, "shape"),
    ("2-D x", [_X_OK], 0, "shape"),
    ("scalar x", 0.5, 0, "shape"),
    ("NaN in x", [0.1, float("nan"), 0.3, 0.4], 0, "non-finite"),
    ("Inf in x", [0.1, 0.2, float("-inf"), 0.4], 0, "non-finite"),
    ("string x", ["a", "b", "c", "d"], 0, "numeric"),
    ("object x", np.array([0.1, None, 0.3, 0.4], dtype=object), 0, "numeric"),
    ("label too big", _X_OK, 3, "out of range"),
    ("negative label", _X_OK, -1, "out of range"),
    ("non-integer label", _X_OK, 1.5, "integer"),
    ("NaN label", _X_OK, float("nan"), "integer"),
    ("string label", _X_OK, "1", "dtype"),
    ("two labels", _X_OK, [0, 1], "shape"),
]


@pytest.mark.parametrize("case, x, y, match", BAD_ONE, ids=[c[0] for c in BAD_ONE])
def test_bad_input_to_learn_one_raises_before_state_change(trained, case, x, y, match) -> None:
    before = trained.to_bytes()
    with pytest.raises(ValueError, match=match):
        trained.learn_one(x, y)
    assert trained.to_bytes() == before


def test_bad_input_to_learn_many_changes_nothing(trained) -> None:
    X, y = stream(10, seed=3)
    before = trained.to_bytes()
    X_nan = X.copy()
    X_nan[-1, 2] = np.nan  # the defect is in the *last* row: the first nine must not be learned either
    y_bad = y.copy()
    y_bad[-1] = 7
    cases = [
        ((X_nan, y), {}, "non-finite"),
        ((X, y_bad), {}, "out of range"),
        ((X, y[:-1]), {}, "shape"),
        ((X[:, :3], y), {}, "shape"),
        ((X[0], y[:1]), {}, "shape"),
        ((X[:0], y[:0]), {}, "empty"),
        ((X, y.astype(float) + 0.5), {}, "integer"),
        ((X.astype(str), y), {}, "numeric"),
        ((X, y), {"batch_size": 0}, "batch_size"),
        ((X, y), {"batch_size": 2.0}, "batch_size"),
    ]
    for args, kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            trained.learn_many(*args, **kwargs)
        assert trained.to_bytes() == before, match


def test_bad_input_to_predict_raises(trained) -> None:
    X, _ = stream(5)
    for fn in (trained.predict, trained.predict_proba, trained.uncertainty):
        with pytest.raises(ValueError, match="shape"):
            fn(X[:, :2])
        with pytest.raises(ValueError, match="non-finite"):
            fn(np.where(np.eye(5, 4) > 0, np.inf, X))
    with pytest.raises(ValueError, match="shape"):
        trained.predict_one(X)
    with pytest.raises(ValueError, match="samples"):
        trained.predict_proba(X, samples=-1)


# -- persistence --------------------------------------------------------------------------------------------


def test_save_load_round_trip_is_byte_identical(trained, tmp_path) -> None:
    path = tmp_path / "state.bin"
    size = trained.save(path)
    assert size == path.stat().st_size == len(trained.to_bytes())
    loaded = type(trained).load(path)
    assert type(loaded) is type(trained)
    assert loaded.to_bytes() == trained.to_bytes() == path.read_bytes()
    assert repr(loaded) == repr(trained)
    X, y = stream(50, seed=9)
    np.testing.assert_array_equal(loaded.predict_proba(X), trained.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), trained.predict(X))
    # resuming is exact: both continue identically (the generator state travels with the file)
    loaded.learn_many(X, y)
    trained.learn_many(X, y)
    assert loaded.to_bytes() == trained.to_bytes()


def test_from_bytes_round_trip(trained) -> None:
    data = trained.to_bytes()
    again = type(trained).from_bytes(data)
    assert again.to_bytes() == data


def test_seeded_reruns_are_bit_identical(name: str) -> None:
    X, y = stream(80, seed=5)
    a, b = make(name, seed=7), make(name, seed=7)
    a.learn_many(X, y)
    for xi, yi in zip(X, y):
        b.learn_one(xi, int(yi))
    assert a.to_bytes() == b.to_bytes()
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = make(name, seed=8)
    c.learn_many(X, y)
    assert c.to_bytes() != a.to_bytes()  # the seed matters


def test_prediction_does_not_change_state(trained) -> None:
    X, _ = stream(10)
    before = trained.to_bytes()
    trained.predict_proba(X, samples=3)
    trained.predict(X)
    trained.predict_one(X[0])
    trained.uncertainty(X, samples=4)
    assert trained.to_bytes() == before


# -- probabilities ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("samples", [0, 1, 5])
def test_predict_proba_is_a_distribution(trained, samples: int) -> None:
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(40, 4)), 3.5 * rng.normal(size=(10, 4))])
    P = trained.predict_proba(X, samples=samples)
    assert P.shape == (50, 3) and P.dtype == np.float64
    assert np.all(P >= 0.0) and np.all(P <= 1.0)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_one_sample_verbs_agree_with_batch_verbs(name: str) -> None:
    configs = [{}]
    if accepts(name, "predict_samples"):
        configs.append({"predict_samples": 3})
    X, y = stream(60, seed=1)
    for extra in configs:
        m = make(name, seed=4, **extra)
        m.learn_many(X, y)
        Xt, _ = stream(25, seed=6)
        P = m.predict_proba(Xt, samples=getattr(m, "predict_samples", 0))
        labels = m.predict(Xt)
        np.testing.assert_array_equal(labels, P.argmax(axis=1))
        for i, xi in enumerate(Xt):
            d = m.predict_proba_one(xi)
            assert set(d) == {0, 1, 2} and all(isinstance(v, float) for v in d.values())
            np.testing.assert_allclose([d[c] for c in range(3)], P[i], rtol=1e-6, atol=1e-9)
            one = m.predict_one(xi)
            assert isinstance(one, int) and one == labels[i]


# -- clone, uncertainty, batches, learning ------------------------------------------------------------------


def test_clone_is_untrained_with_same_parameters(trained, name: str) -> None:
    c = trained.clone()
    assert type(c) is type(trained)
    assert repr(c) == repr(trained)
    assert c.to_bytes() == make(name, seed=4).to_bytes()  # as freshly constructed
    assert c.to_bytes() != trained.to_bytes()
    c.learn_one(_X_OK, 1)  # independent of the original
    assert trained.to_bytes() != c.to_bytes()


def test_repr_names_constructor_arguments(trained) -> None:
    r = repr(trained)
    assert r.startswith(type(trained).__name__ + "(")
    assert "layers=(4, 8, 3)" in r and "seed=4" in r


def test_uncertainty_is_consistent(trained) -> None:
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(size=(30, 4)), 3.0 * rng.normal(size=(10, 4))])
    u = trained.uncertainty(X, samples=6)
    for part in (u.predictive, u.aleatoric, u.epistemic):
        assert part.shape == (40,) and np.all(np.isfinite(part)) and np.all(part >= 0.0)
    assert np.all(u.epistemic <= u.predictive + 1e-12)
    assert np.all(u.aleatoric <= u.predictive + 1e-12)  # entropy is concave
    assert np.all(u.predictive <= np.log2(3) + 1e-12)
    np.testing.assert_allclose(u.predictive, u.aleatoric + u.epistemic, atol=1e-12)
    with pytest.raises(ValueError, match="samples"):
        trained.uncertainty(X, samples=1)


def test_bayesian_learners_have_positive_epistemic_uncertainty(trained, name: str) -> None:
    if name == "SGDLearner":
        pytest.skip("a deterministic network has no weight uncertainty")
    X, _ = stream(30, seed=8)
    assert trained.uncertainty(X, samples=8).epistemic.mean() > 1e-4


def test_learn_one_returns_none(name: str) -> None:
    m = make(name)
    assert m.learn_one(_X_OK, 2) is None
    assert m.learn_many(np.array([_X_OK]), [1]) is None


def test_learn_many_with_batch_size(name: str) -> None:
    X, y = stream(50, seed=2)
    m = make(name)
    fresh = m.to_bytes()
    m.learn_many(X, y, batch_size=8)  # 7 batches, the last of 2
    assert m.to_bytes() != fresh
    if hasattr(m, "step"):
        assert m.step == 7
    P = m.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    # batch_size=1 is exactly learning sample by sample
    a, b = make(name), make(name)
    a.learn_many(X, y, batch_size=1)
    b.learn_many(X, y)
    assert a.to_bytes() == b.to_bytes()
    # a batch is not the same as the same samples one by one
    c = make(name)
    c.learn_many(X, y, batch_size=50)
    assert c.to_bytes() != b.to_bytes()


def test_learns_a_separable_problem(name: str) -> None:
    # three seeds: one run's held-out accuracy after 400 samples varies by ±0.1 between seeds (float MESU
    # 0.80 / 0.77 / 0.80 on seeds 1-3), so a single seed tests luck as much as learning
    X, y = stream(900, seed=10)
    accs = []
    for seed in (1, 2, 3):
        m = make(name, seed=seed)
        m.learn_many(X[:400], y[:400])
        accs.append(float((m.predict(X[400:]) == y[400:]).mean()))
    assert np.mean(accs) > 0.75, f"{name}: held-out accuracy {accs} after 400 samples"


def test_accepts_lists_and_integer_inputs(name: str) -> None:
    a, b = make(name), make(name)
    a.learn_one([1, 0, -1, 2], np.int64(2))
    b.learn_one(np.array([1.0, 0.0, -1.0, 2.0]), 2)
    assert a.to_bytes() == b.to_bytes()
    c = make(name)
    c.learn_many([[1, 0, -1, 2]], [2.0])  # integral float labels are labels
    assert c.to_bytes() == a.to_bytes()


@pytest.mark.parametrize("sampling_name", [n for n in NAMES if accepts(n, "predict_samples")])
def test_default_predict_proba_agrees_with_the_other_verbs_when_sampling(sampling_name: str) -> None:
    X, y = stream(60, seed=1)
    m = make(sampling_name, seed=4, predict_samples=5)
    m.learn_many(X, y)
    Xt, _ = stream(25, seed=6)
    P = m.predict_proba(Xt)  # default arguments, as river users call it
    one = [m.predict_proba_one(x)[c] for x in Xt for c in range(3)]
    np.testing.assert_allclose(one, P.ravel(), rtol=1e-6)
    np.testing.assert_array_equal(m.predict(Xt), P.argmax(axis=1))
