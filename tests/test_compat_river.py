"""The river adapter: river's own estimator checks, pipelines, progressive validation, bad input, the bench."""

from __future__ import annotations

import copy
import json
import math
import pickle
import subprocess
import sys

import numpy as np
import pytest

river = pytest.importorskip("river")
from river import checks, datasets, evaluate, metrics, preprocessing  # noqa: E402

from edge_mesu import FixedMESULearner, MESULearner  # noqa: E402
from edge_mesu.compat.river import MESUClassifier  # noqa: E402


def test_core_imports_neither_river_nor_sklearn() -> None:
    code = (
        "import sys, edge_mesu, edge_mesu.compat, edge_mesu_app.cli, edge_mesu_app.bench.river; "
        "bad = [m for m in ('river', 'sklearn') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "params",
    [
        {"learner": "float"},
        {"learner": "fixed"},
        pytest.param({"learner": "fixed", "classes": (False, True)}, marks=pytest.mark.slow),
    ],
    ids=["float", "fixed", "fixed-binary-declared"],
)
def test_river_check_estimator(params: dict) -> None:
    """Every check river.checks yields for a classifier passes (the list is printed on failure)."""
    model = MESUClassifier(**params)
    names, failed = [], []
    for check in checks.yield_checks(model):
        names.append(check.__name__)
        try:
            check(model.clone())
        except Exception as exc:  # collect every failure, not just the first
            failed.append(f"{check.__name__}: {exc!r}")
    assert not failed, failed
    assert {
        "check_pickling",
        "check_emerging_features",
        "check_shuffle_features_no_impact",
        "check_classifier_tracks_seen_labels",
        "check_bounded_memory_growth",
    } <= set(names)
    if "classes" in params:
        assert "check_predict_proba_one_binary" in names  # a declared binary model is checked as binary


def test_seeding_is_idempotent() -> None:
    # river runs this check only for models whose seed defaults to None; ours defaults to 0
    from river.checks.common import check_seeding_is_idempotent

    for learner in ("float", "fixed"):
        check_seeding_is_idempotent(MESUClassifier(learner=learner), datasets.Phishing().take(100))


def _trained(learner: str = "fixed", n: int = 60, **kwargs) -> MESUClassifier:
    model = MESUClassifier(learner=learner, **kwargs)
    for x, y in datasets.Phishing().take(n):
        model.learn_one(x, y)
    return model


@pytest.mark.parametrize("learner", ["float", "fixed"])
def test_pipeline_progressive_val_score_matches_the_bench_loop(learner: str) -> None:
    from edge_mesu_app.bench.river import progressive

    stream = list(datasets.Phishing().take(400))
    metric = evaluate.progressive_val_score(
        stream, preprocessing.StandardScaler() | MESUClassifier(learner=learner), metrics.Accuracy()
    )
    ours = progressive(preprocessing.StandardScaler() | MESUClassifier(learner=learner), stream)
    assert metric.get() > 0.75
    assert ours["accuracy"] == pytest.approx(metric.get(), abs=1e-12)


def test_inner_learner_kind_and_state_bytes() -> None:
    assert _trained("float").inner.__class__ is MESULearner
    fixed = _trained("fixed")
    assert isinstance(fixed.inner, FixedMESULearner)
    assert fixed.state_nbytes() == 3 * fixed.inner.n_params()
    assert fixed.inner.layers == (9, 32, 8)  # 9 Phishing features, default hidden, max_classes slots
    assert MESUClassifier().state_nbytes() == 0


def test_classes_discovered_in_order_of_arrival() -> None:
    model = MESUClassifier(learner="fixed", max_classes=3)
    x = {"a": 1.0, "b": -1.0}
    for y in ["cat", "dog", "cat"]:
        model.learn_one(x, y)
    assert model.seen_classes == ["cat", "dog"]
    proba = model.predict_proba_one(x)
    assert set(proba) == {"cat", "dog"} and math.isclose(sum(proba.values()), 1.0)
    model.learn_one(x, "eel")
    before = model.inner.to_bytes()
    with pytest.raises(ValueError, match="class slots are taken"):
        model.learn_one(x, "fox")
    assert model.inner.to_bytes() == before and model.seen_classes == ["cat", "dog", "eel"]


def test_declared_classes_and_features() -> None:
    model = MESUClassifier(learner="float", features=("b", "a"), classes=("no", "yes"))
    assert model.predict_proba_one({"a": 1.0}) == {"no": 0.5, "yes": 0.5}  # before learning: uniform
    model.learn_one({"a": 1.0, "b": 2.0}, "yes")
    assert model.feature_order == ["b", "a"] and model.inner.layers[0] == 2 and model.inner.layers[-1] == 2
    assert set(model.predict_proba_one({"a": 1.0})) == {"no", "yes"}
    before = model.inner.to_bytes()
    with pytest.raises(ValueError, match="declared classes"):
        model.learn_one({"a": 1.0, "b": 2.0}, "maybe")
    assert model.inner.to_bytes() == before


BAD_LEARN = [
    ("nan value", {"a": float("nan"), "b": 1.0}, True, ValueError),
    ("inf value", {"a": float("inf"), "b": 1.0}, True, ValueError),
    ("string value", {"a": "high", "b": 1.0}, True, TypeError),
    ("list for x", [1.0, 2.0], True, TypeError),
    ("array for x", np.array([1.0, 2.0]), True, TypeError),
    ("unhashable label", {"a": 1.0, "b": 1.0}, [True], TypeError),
    ("None label", {"a": 1.0, "b": 1.0}, None, TypeError),
    ("label outside declared", {"a": 1.0, "b": 1.0}, "other", ValueError),
    ("unseen key, raise policy", {"a": 1.0, "b": 1.0, "c": 1.0}, True, ValueError),
]


@pytest.mark.parametrize("learner", ["float", "fixed"])
@pytest.mark.parametrize("case", BAD_LEARN, ids=[c[0] for c in BAD_LEARN])
def test_bad_input_raises_and_leaves_state_unchanged(learner: str, case: tuple) -> None:
    _, x, y, error = case
    model = MESUClassifier(learner=learner, classes=(False, True), unseen_features="raise")
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.normal(size=2)
        model.learn_one({"a": a, "b": b}, bool(a > b))
    state, adapter = model.inner.to_bytes(), pickle.dumps(model)
    with pytest.raises(error):
        model.learn_one(x, y)
    assert model.inner.to_bytes() == state
    assert pickle.dumps(model) == adapter
    if y is True:  # the same input is refused by prediction, which changes nothing either
        with pytest.raises(error):
            model.predict_proba_one(x)
        assert pickle.dumps(model) == adapter


def test_unseen_keys_ignored_by_default_and_spare_inputs_take_them() -> None:
    model = _trained("fixed", n=30)
    x = next(iter(datasets.Phishing()))[0]
    assert model.predict_proba_one({**x, "new": 5.0}) == model.predict_proba_one(x)  # ignored
    spare = _trained("fixed", n=30, spare_features=1)
    assert spare.inner.layers[0] == 10
    spare.learn_one({**x, "new": 3.0}, True)
    assert spare.feature_order[-1] == "new"
    assert spare.predict_proba_one({**x, "new": 3.0}) != spare.predict_proba_one(x)


def test_missing_keys_read_as_zero_and_key_order_is_irrelevant() -> None:
    stream = list(datasets.Phishing().take(50))
    a, b = MESUClassifier(learner="fixed"), MESUClassifier(learner="fixed")
    rng = np.random.default_rng(1)
    for x, y in stream:
        a.learn_one(x, y)
        keys = list(x)
        rng.shuffle(keys)
        b.learn_one({k: x[k] for k in keys}, y)
    assert a.inner.to_bytes() == b.inner.to_bytes()
    x = stream[0][0]
    first = next(iter(x))
    assert (
        a.predict_proba_one({k: v for k, v in x.items() if k != first})
        == a.predict_proba_one({**x, first: 0.0})
        == a.predict_proba_one({**x, first: None})
    )


def test_clone_and_pickle() -> None:
    model = _trained("fixed", n=80, hidden=(8,), seed=3)
    x = next(iter(datasets.Phishing()))[0]
    clone = model.clone()
    assert clone.inner is None and clone._get_params() == model._get_params()
    restored = pickle.loads(pickle.dumps(model))
    assert restored.inner.to_bytes() == model.inner.to_bytes()
    assert restored.predict_proba_one(x) == model.predict_proba_one(x)
    copied = copy.deepcopy(model)
    copied.learn_one(x, False)
    assert copied.inner.to_bytes() != model.inner.to_bytes()  # independent state


@pytest.mark.parametrize("learner", ["float", "fixed"])
def test_uncertainty(learner: str) -> None:
    model = MESUClassifier(learner=learner)
    assert model.predict_uncertainty_one({"a": 1.0}) is None
    pipe = preprocessing.StandardScaler() | model
    stream = list(datasets.Phishing().take(300))
    for x, y in stream:
        pipe.learn_one(x, y)
    xs = [pipe["StandardScaler"].transform_one(x) for x, _ in stream[-50:]]
    us = [model.predict_uncertainty_one(x, samples=16) for x in xs]
    for u in us:
        assert u["predictive"] == pytest.approx(u["aleatoric"] + u["epistemic"], abs=1e-9)
        assert u["epistemic"] >= 0
    far = {k: 4.0 * (1 if i % 2 else -1) for i, k in enumerate(xs[0])}  # a corner of the standardised box
    assert model.predict_uncertainty_one(far, samples=16)["epistemic"] > np.mean([u["epistemic"] for u in us])


def test_parameter_validation() -> None:
    for bad in [
        {"learner": "int8"},
        {"max_classes": 1},
        {"spare_features": -1},
        {"unseen_features": "drop"},
        {"classes": ("a",)},
        {"features": ("a", "a")},
        {"hidden": (0,)},
    ]:
        with pytest.raises(ValueError):
            MESUClassifier(**bad)
    model = MESUClassifier(learner_params={"seed": 4})
    with pytest.raises(ValueError, match="must not repeat"):
        model.learn_one({"a": 1.0}, True)
    assert model.inner is None and model.seen_classes == []


def test_bench_smoke(tmp_path) -> None:
    from edge_mesu_app.bench.river import MODELS, format_river_table
    from edge_mesu_app.cli import main

    out = tmp_path / "river.json"
    assert main(["bench", "river", "--sets", "Phishing,ImageSegments", "--limit", "150", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["sets"]) == {"Phishing", "ImageSegments"}
    for models in result["sets"].values():
        assert set(models) == set(MODELS)
        for r in models.values():
            assert 0 <= r["accuracy"] <= 1 and r["updates_per_s"] > 0 and r["state_bytes"] > 0
            assert r["log_loss"] is None or r["log_loss"] > 0
    assert result["sets"]["Phishing"]["fixed"]["state_bytes"] == 3 * (9 * 32 + 32 + 32 * 8 + 8)
    table = format_river_table(result)
    assert "fixed more accurate than logreg and hoeffding on" in table and table.count("\n") >= 12
    assert main(["bench", "river", "--sets", "Elec2"]) == 2
