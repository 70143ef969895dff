"""The sensor data-pack reader on small generated fixtures (the real data never enters the tests)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from edge_mesu.data.sensor_sets import (
    HAPT_CLASSES,
    RecordingSet,
    SensorDataError,
    StreamSet,
    WindowSet,
    list_sets,
    read_hapt,
    read_recording_csv,
    read_set,
    read_stream_npz,
    read_window_csv,
    read_window_npz,
    resample_windows,
)


def _write_hapt(root, users=(1, 2), n=300, seed=0):
    d = root / "hapt"
    d.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    lines = ["file,user,rec,n_samples,n_labelled"]
    for u in users:
        for rec in range(2):
            X = rng.integers(-2000, 2000, size=(n, 6))
            y = rng.integers(-1, 13, size=n)
            y[y == 0] = -1
            fn = f"user{u:02d}_rec{rec}.csv.gz"
            with gzip.open(d / fn, "wt") as f:
                f.write("acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z,label\n")
                for row, lab in zip(X, y):
                    f.write(",".join(str(v) for v in row) + f",{lab}\n")
            lines.append(f"{fn},{u},{rec},{n},{int((y > 0).sum())}")
    (d / "recordings.csv").write_text("\n".join(lines) + "\n")
    return d


def _window_npz(path, n=12, T=20, C=2, K=3, variable=True, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, C)).astype(np.float32)
    length = rng.integers(5, T + 1, size=n).astype(np.int32) if variable else np.full(n, T, np.int32)
    for i in range(n):
        X[i, length[i] :] = np.nan
    y = (np.arange(n) % K).astype(np.int16)
    np.savez(
        path,
        X=X,
        length=length,
        y=y,
        classes=np.array([f"c{k}" for k in range(K)]),
        group=np.full(n, -1, np.int16),
        split=(np.arange(n) % 2).astype(np.int8),
        fs=np.float64(np.nan),
        channels=np.array(["a", "b"][:C]),
        units=np.array(["u"]),
        group_kind=np.array(["none"]),
    )
    return X, length, y


def test_hapt_layout_round_trip(tmp_path):
    _write_hapt(tmp_path)
    rs = read_set(tmp_path, "hapt")
    assert isinstance(rs, RecordingSet)
    assert len(rs.recordings) == 4 and rs.classes == HAPT_CLASSES and rs.fs == 50.0
    assert [r.group for r in rs.recordings] == [1, 1, 2, 2]
    r = rs.recordings[0]
    assert r.X.dtype == np.int16 and r.X.shape == (300, 6)
    assert r.y.min() >= -1 and r.y.max() <= 11  # source labels 1..12 -> classes 0..11, -1 unlabelled
    assert rs.channels == ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
    only = read_hapt(tmp_path / "hapt", users={2})
    assert [r.group for r in only.recordings] == [2, 2]
    assert list_sets(tmp_path) == ["hapt"]


def test_hapt_labels_match_the_file(tmp_path):
    d = _write_hapt(tmp_path, users=(1,), n=50)
    with gzip.open(d / "user01_rec0.csv.gz", "rt") as f:
        raw = np.loadtxt(f, delimiter=",", skiprows=1, dtype=np.int64)
    r = read_hapt(d).recordings[0]
    assert np.array_equal(r.X, raw[:, :6])
    assert np.array_equal(r.y, np.where(raw[:, 6] < 0, -1, raw[:, 6] - 1))


def test_window_npz_variable_length(tmp_path):
    X, length, y = _window_npz(tmp_path / "w.npz")
    ws = read_window_npz(tmp_path / "w.npz")
    assert isinstance(ws, WindowSet) and len(ws) == 12 and ws.n_channels == 2
    assert np.array_equal(ws.length, length) and np.array_equal(ws.y, y)
    assert ws.window(3).shape == (length[3], 2) and not np.isnan(ws.window(3)).any()
    assert not ws.has_groups
    R = resample_windows(ws, 8)
    assert R.shape == (12, 8, 2) and np.isfinite(R).all()
    full = np.where(length == 16)[0]
    for i in full:  # a whole multiple of the frames: block averages
        assert np.allclose(R[i], X[i, :16].reshape(8, 2, 2).mean(axis=1), atol=1e-6)


def test_window_npz_without_length_uses_the_nan_padding(tmp_path):
    X, length, y = _window_npz(tmp_path / "w.npz")
    np.savez(tmp_path / "v.npz", X=X, y=y, classes=np.array(["a", "b", "c"]))
    ws = read_window_npz(tmp_path / "v.npz")
    assert np.array_equal(ws.length, length) and np.all(ws.group == -1)


def test_set_directory_dispatch(tmp_path):
    (tmp_path / "basic_motions").mkdir()
    _window_npz(tmp_path / "basic_motions" / "basic_motions.npz", variable=False)
    (tmp_path / "electric_devices_seg").mkdir()
    y = np.repeat(np.arange(3), 40).astype(np.int16)
    np.savez(
        tmp_path / "electric_devices_seg" / "electric_devices_seg.npz",
        X=np.sin(np.arange(120.0))[:, None],
        y=y,
        classes=np.array(["s0", "s1", "s2"]),
        change_points=np.array([40, 80]),
    )
    assert list_sets(tmp_path) == ["basic_motions", "electric_devices_seg"]
    assert isinstance(read_set(tmp_path, "basic_motions"), WindowSet)
    st = read_set(tmp_path, "electric_devices_seg")
    assert isinstance(st, StreamSet) and st.X.shape == (120, 1) and st.change_points.tolist() == [40, 80]


def test_stream_npz_change_points_default(tmp_path):
    y = np.repeat([0, 1, 0], 10)
    np.savez(tmp_path / "s.npz", X=np.arange(30.0), y=y, classes=np.array(["a", "b"]))
    st = read_stream_npz(tmp_path / "s.npz")
    assert st.change_points.tolist() == [10, 20] and st.X.shape == (30, 1)


def test_plain_csv_recording_and_windows(tmp_path):
    p = tmp_path / "rec.csv"
    p.write_text("ax,ay,az,label\n1,2,3,0\n4,5,6,-1\n7,8,9,1\n")
    r = read_recording_csv(p)
    assert r.X.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]] and r.y.tolist() == [0, -1, 1]
    assert r.channels == ("ax", "ay", "az")
    w = tmp_path / "win.csv"
    w.write_text("y,group,v0,v1,v2,v3\n0,1,0.5,1.5,2.5,3.5\n1,2,1,2,,\n")
    ws = read_window_csv(w, channels=2)
    assert ws.X.shape == (2, 2, 2) and ws.length.tolist() == [2, 1] and ws.group.tolist() == [1, 2]
    assert ws.classes == ("0", "1")


@pytest.mark.parametrize(
    "content, match",
    [
        ("ax,label\n1,0\n2,x\n", "expected integers"),
        ("ax,label\n1,0\n70000,0\n", "outside int16"),
        ("ax,ay\n1,2\n", "no label column 'label'"),
    ],
)
def test_bad_recording_csv_names_the_file(tmp_path, content, match):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(SensorDataError, match=match) as err:
        read_recording_csv(p)
    assert "bad.csv" in str(err.value)


def test_missing_things_are_named(tmp_path):
    with pytest.raises(SensorDataError, match="no such directory"):
        list_sets(tmp_path / "nowhere")
    with pytest.raises(SensorDataError, match="no such set directory"):
        read_set(tmp_path, "hapt")
    np.savez(tmp_path / "w.npz", X=np.zeros((2, 3, 1)), classes=np.array(["a"]))
    with pytest.raises(SensorDataError, match=r"w\.npz: missing key\(s\) y"):
        read_window_npz(tmp_path / "w.npz")
    np.savez(tmp_path / "k.npz", X=np.zeros((2, 3, 1)), y=np.array([0, 5]), classes=np.array(["a"]))
    with pytest.raises(SensorDataError, match="class index 5"):
        read_window_npz(tmp_path / "k.npz")
    d = _write_hapt(tmp_path / "x", users=(1,), n=20)
    (d / "recordings.csv").write_text("file,user,rec,n_samples,n_labelled\nuser01_rec0.csv.gz,1,0,21,3\n")
    with pytest.raises(SensorDataError, match="20 samples, recordings.csv says 21"):
        read_hapt(d)
    (d / "recordings.csv").write_text("file,user,rec,n_samples,n_labelled\nmissing.csv.gz,1,0,21,3\n")
    with pytest.raises(SensorDataError, match="missing.csv.gz: no such file"):
        read_hapt(d)
