"""The sensor benchmark's protocols and metrics on small generated fixtures (no real data)."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from edge_mesu.data.sensor_sets import read_hapt, read_window_npz
from edge_mesu.frontend import FrontEnd, FrontEndSpec
from edge_mesu_app.bench.sensor_streams import Stream, build_stream, hapt_stream, quantize_inputs, window_set_stream
from edge_mesu_app.bench.sensors import (
    ReplaySGD,
    check_targets,
    format_sensor_table,
    make_learner,
    run_learner,
    run_sensor_bench,
)


# -- fake learners with exactly known behaviour ------------------------------------------------------------------
class Prototypes:
    """Remembers the mean input of every class it learned; predicts the nearest (a perfect memory)."""

    def __init__(self, n_classes):
        self.sum, self.n = {}, {}
        self.k = n_classes

    def learn_one(self, x, y):
        self.sum[y] = self.sum.get(y, 0) + np.asarray(x, float)
        self.n[y] = self.n.get(y, 0) + 1

    def _dist(self, X):
        keys = sorted(self.sum)
        P = np.stack([self.sum[c] / self.n[c] for c in keys])
        return keys, ((np.asarray(X, float)[:, None, :] - P[None]) ** 2).sum(-1)

    def predict_proba(self, X, samples=0):
        keys, d = self._dist(X)
        p = np.full((len(X), self.k), 1e-9)
        p[np.arange(len(X)), np.array(keys)[d.argmin(1)]] = 1.0
        return p / p.sum(1, keepdims=True)

    def predict_one(self, x):
        return int(self.predict_proba(np.asarray(x)[None])[0].argmax()) if self.sum else 0

    def uncertainty(self, X, samples=8):
        class U:
            pass

        u = U()
        u.epistemic = self._dist(X)[1].min(1)  # far from every prototype = novel
        return u

    def params(self):
        return {"w": (np.zeros(1), np.ones(1))}


class Constant(Prototypes):
    def learn_one(self, x, y):
        pass

    def predict_proba(self, X, samples=0):
        p = np.zeros((len(X), self.k))
        p[:, 0] = 1.0
        return p

    def predict_one(self, x):
        return 0

    def uncertainty(self, X, samples=8):
        u = type("U", (), {})()
        u.epistemic = np.zeros(len(X))
        return u


def _toy_stream(n_classes=3, dim=6, per_class=30, seed=0):
    rng = np.random.default_rng(seed)
    protos = quantize_inputs(rng.normal(size=(n_classes + 1, dim)))

    def draw(c, n):
        return np.repeat(protos[c][None], n, axis=0), np.full(n, c)

    X = np.concatenate([draw(c, per_class)[0] for c in range(n_classes)])
    y = np.concatenate([draw(c, per_class)[1] for c in range(n_classes)])
    held = (np.concatenate([draw(0, 5)[0], draw(1, 5)[0]]), np.array([0] * 5 + [1] * 5))
    known = (np.concatenate([held[0], draw(2, 5)[0]]), np.concatenate([held[1], [2] * 5]))
    return Stream(
        name="toy",
        protocol="class",
        seed=0,
        X=X,
        y=y,
        task=y.copy(),
        third=2 * per_class,
        held_mid=held,
        held_end=held,
        known_end=known,
        novel_end=draw(n_classes, 7)[0] + 0.5,
        classes=tuple(f"c{c}" for c in range(n_classes)),
        info={},
    )


def test_perfect_memory_has_full_retention_and_auroc():
    s = _toy_stream()
    r = run_learner(s, lambda n_in, k, seed: Prototypes(k), 0)
    assert r["retention"] == 1.0 and r["final"] == 1.0 and r["forgetting"] == 0.0
    assert r["novelty_auroc"] == 1.0
    # prequential: the first window of each class cannot be right (nothing learned yet / another class)
    assert r["prequential"] == pytest.approx((len(s) - 3 + 1) / len(s))
    assert r["finite"] and r["steps"] == len(s)


def test_constant_predictor_scores_chance():
    s = _toy_stream()
    r = run_learner(s, lambda n_in, k, seed: Constant(k), 0)
    assert r["prequential"] == pytest.approx(1 / 3)
    assert r["retention"] == pytest.approx(0.5)  # held-back: half class 0
    assert r["final"] == pytest.approx(1 / 3)
    assert r["novelty_auroc_entropy"] == pytest.approx(0.5)  # equal entropy everywhere: ties


def test_replay_buffer_holds_the_equal_ram_budget():
    m = ReplaySGD((10, 4, 3), lr=0.01, capacity_bytes=(10 + 1) * 4 + (4 + 1) * 3)
    assert m.capacity == 59 // 11
    rng = np.random.default_rng(0)
    for i in range(50):
        m.learn_one(rng.normal(size=10).astype(np.float32), i % 3)
    assert m._n == m.capacity and m._seen == 50
    assert m.sgd.step == 50 + 49  # one replayed step after every new window but the first
    assert make_learner("sgd-replay", 10, 3, 0).capacity == ((10 + 1) * 32 + (32 + 1) * 3) // 11


def test_fixed_replay_gives_the_fixed_learner_the_same_buffer():
    m = make_learner("fixed-replay", 10, 3, 0)
    assert m.capacity == make_learner("sgd-replay", 10, 3, 0).capacity
    assert type(m.base).__name__ == "FixedMESULearner" and m.base.backend in ("c", "numpy")
    rng = np.random.default_rng(1)
    for i in range(30):
        m.learn_one(rng.normal(size=10).astype(np.float32), i % 3)
    assert m.base.step == 30 + 29  # one replayed step after every new window but the first
    u = m.uncertainty(rng.normal(size=(4, 10)), samples=4)  # MESU's uncertainty, through the wrapper
    assert u.epistemic.shape == (4,) and np.all(u.epistemic >= 0)


def test_targets_logic():
    def d(p, r):
        return {"prequential": p, "retention": r, "novelty_auroc": 0.85, "finite": True}

    cell = {
        "fixed": d(0.85, 0.75),
        "mesu": d(0.855, 0.745),
        "sgd@0.01": d(0.86, 0.60),
        "sgd@0.003": d(0.80, 0.76),
        "sgd-replay": d(0.87, 0.70),
    }
    t = check_targets(cell)
    assert t["dominates"] and t["best_lr"] == "sgd@0.01" and t["best_lr_ok"] and t["replay_ok"]
    assert t["novelty_ok"] and t["parity_ok"] and t["finite"]
    cell["sgd@0.03"] = d(0.85, 0.72)  # as good on prequential, < 5 points behind on retention
    assert not check_targets(cell)["dominates"]


# -- protocols on generated data ---------------------------------------------------------------------------------
def _hapt_fixture(root, users=4, n=3000, seed=0):
    d = root / "hapt"
    d.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    lines = ["file,user,rec,n_samples,n_labelled"]
    for u in range(1, users + 1):
        lab = np.repeat(rng.permutation(np.arange(1, 13))[np.arange(n // 250) % 12], 250)
        lab[rng.random(n) < 0.01] = -1
        X = (rng.normal(size=(n, 6)) * 200 + lab[:, None] * 50 * np.arange(1, 7)).astype(int)
        fn = f"user{u:02d}_rec0.csv.gz"
        with gzip.open(d / fn, "wt") as f:
            f.write("acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z,label\n")
            f.writelines(",".join(map(str, r)) + f",{l}\n" for r, l in zip(X, lab))
        lines.append(f"{fn},{u},0,{n},{int((lab > 0).sum())}")
    (d / "recordings.csv").write_text("\n".join(lines) + "\n")
    return root


def _window_fixture(root, name="basic_motions", n=60, T=40, C=2, K=4, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % K
    X = (rng.normal(size=(n, T, C)) + y[:, None, None]).astype(np.float32)
    (root / name).mkdir(parents=True)
    np.savez(
        root / name / f"{name}.npz",
        X=X,
        length=np.full(n, T),
        y=y.astype(np.int16),
        classes=np.array([f"k{k}" for k in range(K)]),
        group=np.full(n, -1),
        split=np.zeros(n, np.int8),
    )
    return root


@pytest.mark.parametrize("protocol", ["domain", "class", "drift"])
def test_hapt_stream_matches_the_front_end(tmp_path, protocol):
    _hapt_fixture(tmp_path)
    rs = read_hapt(tmp_path / "hapt")
    spec = FrontEndSpec(channels=6, window=100, hop=50, decimate=5)
    s = hapt_stream(rs, protocol, seed=1, spec=spec)
    novel = s.info["novel_class"]
    assert novel not in s.classes and len(s.classes) == 11
    assert len(s) == s.info["learned"] and 0 < s.third < len(s)
    assert s.X.dtype == np.float32 and np.all(np.abs(s.X * 32 - np.rint(s.X * 32)) == 0)
    assert s.held_end[0].shape[0] == s.info["held_first_third"] > 0
    assert len(s.novel_end) > 0 and len(s.known_end[1]) >= len(s.held_end[1])
    if protocol == "domain":  # the learned windows are the front end's outputs; held ones use its final stats
        fe = FrontEnd(spec)
        raw = np.concatenate([r.X for r in sorted(rs.recordings, key=lambda r: r.group)])
        order = np.random.default_rng([1, 1]).permutation(sorted({r.group for r in rs.recordings}))
        raw = np.concatenate([r.X for u in order for r in rs.recordings if r.group == u])
        out = fe.push(raw)
        vals = fe.to_float(out.values).astype(np.float32)
        assert all(any(np.array_equal(x, v) for v in vals) for x in s.X[:20])
        fe.freeze()
        meta, arrays = fe.state()
        w = s.held_end[0][0]
        hits = 0
        for e in out.end:
            frozen = FrontEnd.from_state(meta, arrays)
            frozen._history[:] = 0
            o = frozen.push(raw[e - 99 : e + 1])
            if len(o) and np.array_equal(fe.to_float(o.values[-1]).astype(np.float32), w):
                hits += 1
                break
        assert hits == 1


def test_static_and_frozen_front_ends(tmp_path):
    _hapt_fixture(tmp_path, users=2)
    rs = read_hapt(tmp_path / "hapt")
    a = hapt_stream(rs, "domain", 0, static=True)
    b = hapt_stream(rs, "domain", 0, freeze_after=0)
    assert a.info["frontend_mode"] == "static" and len(a) == len(b)
    # static: the same statistics at mid and end, so the first third looks the same at both times
    assert np.array_equal(a.held_mid[0], a.held_end[0])


@pytest.mark.parametrize("protocol", ["class", "drift"])
def test_window_set_protocols(tmp_path, protocol):
    _window_fixture(tmp_path)
    ws = read_window_npz(tmp_path / "basic_motions" / "basic_motions.npz", "basic_motions")
    s = window_set_stream(ws, protocol, seed=0)
    assert len(s.classes) == 3 and s.info["passes"] >= 1
    assert np.all(np.isin(s.y, np.arange(3)))
    assert len(s) == s.info["passes"] * (ws.X.shape[0] - 15 - s.info["held_back"])
    if protocol == "class":  # classes never come back: tasks are contiguous and non-decreasing
        assert np.all(np.diff(s.task) >= 0)
        for t in np.unique(s.task):
            assert len(set(s.y[s.task == t]) & set(s.y[s.task != t])) == 0


def test_run_sensor_bench_end_to_end(tmp_path):
    _window_fixture(tmp_path)
    out = tmp_path / "out.json"
    res = run_sensor_bench(tmp_path, learners=("fixed", "sgd@0.03", "sgd-replay"), seeds=(0,), json_path=out)
    cell = res["sets"]["basic_motions"]["class"]
    assert set(cell) == {"fixed", "sgd@0.03", "sgd-replay"}
    for d in cell.values():
        assert 0 <= d["prequential"] <= 1 and 0 <= d["retention"] <= 1 and d["finite"]
        assert {"prequential", "retention", "novelty_auroc", "windows_per_s", "seeds"} <= set(d)
    data = json.loads(out.read_text())
    assert data["sets"]["basic_motions"]["drift"]["fixed"]["seeds"][0]["steps"] > 0
    assert "basic_motions / class" in format_sensor_table(res)
    with pytest.raises(ValueError, match="does not fit"):
        build_stream(str(tmp_path), "basic_motions", "domain", 0)
