"""``edge-mesu learn --label-budget / --label-threshold``: only asked windows are learned, the budget holds,
the count of labels is printed, bad values are refused before anything is read or written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge_mesu import SensorPipeline
from edge_mesu.data import make_sensor_stream
from edge_mesu.statefile import load_state


@pytest.fixture
def main():
    from edge_mesu_app import cli

    return lambda *argv: cli.main([str(a) for a in argv])


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A CSV of 200 generated windows of 32 samples, every window labelled."""
    s = make_sensor_stream(n_windows=200, seed=5)
    names = np.array(s.class_names, dtype=object)[s.labels]
    path = tmp_path_factory.mktemp("rec") / "rec.csv"
    lines = ["ax,ay,az,label"] + [f"{a},{b},{c},{n}" for (a, b, c), n in zip(s.samples.tolist(), names)]
    path.write_text("\n".join(lines) + "\n")
    return path


def learn(main, path, tmp_path, *extra):
    out = tmp_path / "out.json"
    state = tmp_path / "s.emsu"
    code = main(
        "learn", "--csv", path, "--channels", "ax,ay,az", "--label", "label", "--window", 32, "--fixed",
        "--state", state, "--json", out, "--quiet", *extra,
    )  # fmt: skip
    return code, (json.loads(out.read_text()) if out.exists() else None), state


def test_budget_learns_about_the_fraction_asked_for(main, recording, tmp_path, capsys):
    code, res, state = learn(main, recording, tmp_path, "--label-budget", 0.25)
    text = capsys.readouterr().out
    assert code == 0 and res["windows"] == 200 and res["labelled"] == 200
    assert res["label_policy"] == {"kind": "budget", "fraction": 0.25, "score": "entropy"}
    assert res["labels_used"] == res["labels_asked"]  # every window is labelled: each asked one is learned
    assert 0.25 * 200 - 2 <= res["labels_used"] <= 0.25 * 200 + 4  # the budget, spent, within the burst
    assert load_state(state)[1]["step"] == res["labels_used"]
    assert f"labels: asked for {res['labels_asked']} of 200 windows (top 0.25 " in text
    assert f"learned {res['labels_used']} " in text


def test_threshold_learns_only_above_it(main, recording, tmp_path, capsys):
    code, res, state = learn(main, recording, tmp_path, "--label-threshold", 1e6)
    assert code == 0 and res["labels_used"] == 0 and res["labels_asked"] == 0
    assert load_state(state)[1]["step"] == 0
    assert "labels: asked for 0 of 200 windows (entropy above 1e+06 bits); learned 0" in (capsys.readouterr().out)
    (tmp_path / "s.emsu").unlink()
    code, res, _ = learn(main, recording, tmp_path, "--label-threshold", 0)
    assert code == 0 and 0 < res["labels_used"] <= 200


def test_label_score_mi_ranks_by_mutual_information(main, recording, tmp_path, capsys):
    code, res, state = learn(main, recording, tmp_path, "--label-budget", 0.25, "--label-score", "mi")
    assert code == 0 and res["label_policy"] == {"kind": "budget", "fraction": 0.25, "score": "mutual_information"}
    assert "(top 0.25 of the windows by mutual information)" in capsys.readouterr().out
    assert 0.25 * 200 - 2 <= res["labels_used"] <= 0.25 * 200 + 4


def test_without_a_policy_every_label_is_used(main, recording, tmp_path):
    code, res, state = learn(main, recording, tmp_path)
    assert code == 0 and res["labels_used"] == 200 and res["labels_asked"] is None and res["label_policy"] is None
    assert SensorPipeline.load(state).learner.step == 200


@pytest.mark.parametrize(
    "args, message",
    [
        (["--label-budget", 0], "--label-budget must be a fraction in (0, 1], got 0"),
        (["--label-budget", 1.5], "--label-budget must be a fraction in (0, 1], got 1.5"),
        (["--label-budget", "nan"], "--label-budget must be a fraction in (0, 1], got nan"),
        (["--label-threshold", -0.1], "--label-threshold must be a finite number of bits >= 0, got -0.1"),
        (["--label-threshold", "inf"], "--label-threshold must be a finite number of bits >= 0, got inf"),
    ],
)
def test_bad_values_are_refused_before_any_work(main, recording, tmp_path, capsys, args, message):
    code, res, state = learn(main, recording, tmp_path, *args)
    assert code == 2 and message in capsys.readouterr().err
    assert res is None and not state.exists()  # nothing read, nothing written


def test_budget_and_threshold_exclude_each_other(main, recording, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        learn(main, recording, tmp_path, "--label-budget", 0.5, "--label-threshold", 0.1)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--label-threshold" in err and "not allowed with argument --label-budget" in err
    assert not (tmp_path / "s.emsu").exists()


def test_bad_value_leaves_an_existing_state_alone(main, recording, tmp_path, capsys):
    assert learn(main, recording, tmp_path)[0] == 0
    before = (tmp_path / "s.emsu").read_bytes()
    assert learn(main, recording, tmp_path, "--label-budget", -1)[0] == 2
    assert (tmp_path / "s.emsu").read_bytes() == before
