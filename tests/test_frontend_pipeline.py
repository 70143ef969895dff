"""SensorPipeline: labels and classes, exact resume at any sample, budgets through firmware_sim, robustness."""

from __future__ import annotations

import json

import numpy as np
import pytest

import edge_mesu
import firmware_sim as fs
from edge_mesu import FixedMESULearner, MESULearner, SensorPipeline, StateFileError
from edge_mesu.data import make_sensor_stream
from edge_mesu.data.adversarial import ADVERSARIAL_KINDS, make_adversarial_stream
from edge_mesu.frontend import FrontEndSpec
from edge_mesu.pipeline import sigma_capped_fraction, sigma_pinned_fraction
from edge_mesu.statefile import decode_state


@pytest.fixture(scope="module")
def stream():
    return make_sensor_stream(n_windows=160, seed=3)


def make(fixed: bool, **spec_kw) -> SensorPipeline:
    spec = FrontEndSpec(channels=3, **{"window": 32, **spec_kw})
    return SensorPipeline.create(spec, ["rest", "walk", "run", "cycle", "tremor"], fixed=fixed, hidden=(16,), seed=1)


@pytest.mark.parametrize(
    "fixed, spec_kw",
    [
        (True, {}),
        (False, {}),
        (True, {"hop": 12, "decimate": 4, "label_rule": "majority"}),
        (False, {"features": True, "hop": 20, "warmup": 50}),
    ],
)
def test_resume_at_any_sample_gives_a_byte_identical_state(stream, tmp_path, fixed, spec_kw):
    x, y = stream.samples, stream.labels
    whole = make(fixed, **spec_kw)
    whole.process(x, y)
    reference = whole.to_bytes()
    for cut in (1, 31, 32, 33, 2017, len(x) - 1):
        first = make(fixed, **spec_kw)
        first.process(x[:cut], y[:cut])
        path = tmp_path / f"cut{cut}.emsu"
        first.save(path)
        second = SensorPipeline.load(path)
        second.process(x[cut:], y[cut:])
        assert second.to_bytes() == reference, f"cut at sample {cut}"


def test_state_file_layout_has_no_paths_or_times(stream, tmp_path):
    p = make(True)
    p.process(stream.samples[:2000], stream.labels[:2000])
    p.save(tmp_path / "s.emsu")
    kind, meta, arrays = decode_state((tmp_path / "s.emsu").read_bytes())
    assert kind == "SensorPipeline" and meta["learner"]["kind"] == "FixedMESULearner"
    assert {"frontend.mean", "frontend.history", "learner.mu_w0", "learner.code_w0"} <= set(arrays)
    assert meta["classes"] == ["rest", "walk", "run", "cycle", "tremor"] and meta["frontend"]["seen"] == 2000
    text = json.dumps(meta)
    assert str(tmp_path) not in text and "time" not in text
    assert make(True).to_bytes() == make(True).to_bytes()


def test_sparse_labels_only_labelled_windows_learn(stream):
    p = make(True)
    names = np.array(p.classes, dtype=object)[stream.labels]
    names[: 32 * 40] = ""  # the first 40 windows are unlabelled
    out = p.process(stream.samples, names)
    assert len(out) == 160 and int(out.learned.sum()) == 120 == p.learner.step
    assert np.all(np.isfinite(out.mi[:40])) and np.all(np.isnan(out.mi[40:]))
    assert np.all(out.label[:40] == -1) and not out.correct[:40].any()
    out_all = make(True).process(stream.samples[:320], None, uncertainty="all", learn=False)
    assert np.all(np.isfinite(out_all.mi)) and not out_all.learned.any()


def test_string_labels_fill_class_slots_in_order_and_unknown_labels_are_refused():
    spec = FrontEndSpec(channels=1, window=4)
    p = SensorPipeline.create(spec, 3, fixed=True, hidden=(4,))
    x = np.arange(24, dtype=np.int16)[:, None]
    p.process(x[:12], ["b"] * 4 + ["a"] * 4 + [""] * 4)
    assert p.classes == ["b", "a"]
    p.process(x[12:20], ["c"] * 8)
    assert p.classes == ["b", "a", "c"]
    before = p.to_bytes()
    with pytest.raises(ValueError, match="label 'd' is not one of the 3 classes"):
        p.process(x[20:], ["d"] * 4)
    assert p.to_bytes() == before
    assert SensorPipeline.from_bytes(before).classes == ["b", "a", "c"]


def test_input_size_and_format_mismatches_are_refused():
    spec = FrontEndSpec(channels=3, window=32)
    with pytest.raises(ValueError, match="learner takes 50 inputs but the front end makes 96"):
        SensorPipeline(spec, MESULearner((50, 8, 2)))
    with pytest.raises(ValueError, match="Q3.4 .*Q2.5"):
        SensorPipeline(spec, FixedMESULearner((96, 8, 2), input_frac=4))
    with pytest.raises(ValueError, match="uncertainty"):
        SensorPipeline(spec, MESULearner((96, 8, 2))).process(np.zeros((4, 3), np.int16), uncertainty="some")
    with pytest.raises(StateFileError, match="not a SensorPipeline"):
        SensorPipeline.from_bytes(MESULearner((96, 8, 2)).to_bytes())


def test_description_and_firmware_budgets(stream, tmp_path):
    p = make(True)
    X = p.frontend.to_float(p.process(stream.samples[:3200], stream.labels[:3200]).inputs)
    d = p.describe()
    assert d.layers == (96, 16, 5) and d.n_params == p.learner.n_params() and d.arithmetic.mu_bits == 16
    assert d.frontend is not None and d.frontend.ram_bytes == p.frontend.ram_bytes()
    assert make(False).describe().arithmetic.is_float and make(False).learner.input_format is None
    assert not hasattr(p, "predict_one")  # the pipeline is not a learner: its learner is p.learner
    again = SensorPipeline.from_bytes(p.to_bytes())
    report = fs.simulate(
        again.learner, "stm32l4", (X, stream.window_labels()[:100]), rate_hz=50 / 32, description=again.describe()
    )
    assert report.ram["frontend"] == p.frontend.ram_bytes()
    device = fs.load_device("stm32l4")  # the front end's ops priced with the device's own costs
    priced = sum(op.count * fs.cost_of(op.kind, device) for op in p.frontend.operation_list())
    assert report.cycles["frontend"] == priced > 0
    p.save(tmp_path / "p.emsu")
    from edge_mesu import load_learner

    loaded = load_learner(str(tmp_path / "p.emsu"))
    assert isinstance(loaded, edge_mesu.SensorPipeline) and loaded.to_bytes() == p.to_bytes()


def test_max_windows_allows_checkpoints_between_windows(stream):
    a, b = make(True), make(True)
    a.process(stream.samples, stream.labels)
    pos = 0
    while pos < len(stream.samples):
        out = b.process(stream.samples[pos:], stream.labels[pos:], max_windows=7)
        pos += out.consumed
        assert len(out) <= 7
    assert a.to_bytes() == b.to_bytes()


@pytest.mark.parametrize("kind", [k for k in ADVERSARIAL_KINDS if k != "clean"])
@pytest.mark.parametrize("fixed", [True, False])
def test_defaults_keep_both_learners_finite_on_adversarial_streams(kind, fixed):
    s = make_adversarial_stream(make_sensor_stream(n_windows=600, seed=5), kind, seed=2)
    p = SensorPipeline.create(FrontEndSpec(channels=3, window=32), s.class_names, fixed=fixed, seed=0)
    pinned, capped, correct = [], [], []
    for start in range(0, len(s.samples), 32 * 100):  # measure every 100 windows
        out = p.process(s.samples[start : start + 3200], s.labels[start : start + 3200], uncertainty="none")
        correct.append(out.correct)
        pinned.append(sigma_pinned_fraction(p.learner))
        capped.append(sigma_capped_fraction(p.learner))
        assert np.all(np.isfinite(p.learner.predict_proba(p.frontend.to_float(out.inputs[:5]))))
    if not fixed:
        assert all(np.all(np.isfinite(m)) and np.all(np.isfinite(sg)) for m, sg in p.learner.params().values())
    assert max(pinned) < 0.02, pinned  # no σ frozen at the floor
    assert max(capped) < 0.10, capped  # few at the cap (2-5 % measured, both learners, sensor preset)
    assert np.concatenate(correct)[300:].mean() > 0.45  # chance is 0.2-0.25


def test_demo_runs_the_raw_int16_stream_through_the_front_end(tmp_path):
    from edge_mesu_app.demo import run_demo

    lines: list[str] = []
    assert run_demo(windows=300, out_dir=tmp_path, export=False, write=lines.append) == 0
    text = "\n".join(lines)
    for section in (
        "raw int16 samples",
        "front end: window 32",
        "prequential accuracy",
        "overall",
        "new class 'tremor' appears",
        "state saved to",
        "device budget",
        "frontend",
    ):
        assert section in text, section
    saved = SensorPipeline.load(tmp_path / "state.emsu")
    assert saved.frontend.samples_seen == 300 * 32 and saved.learner.layers[0] == saved.spec.n_outputs
