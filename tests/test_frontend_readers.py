"""Readers: CSV (file and line stream), NPY (plain and structured), NPZ; chunking, sparse labels, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest

from edge_mesu.frontend.readers import read_csv, read_npy, read_npz, read_recording


def write_csv(path, n: int = 50) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.integers(-30000, 30000, size=(n, 3))
    with open(path, "w") as fh:
        fh.write("time,ax,label,ay,az\n")
        for i, row in enumerate(x):
            label = "" if i % 7 == 3 else ("walk" if i < n // 2 else "run")
            fh.write(f"{i * 0.02:.2f},{row[0]},{label},{row[1]},{row[2]}\n")
    return x


def collect(chunks):
    chunks = list(chunks)
    labels = None if chunks[0].labels is None else np.concatenate([c.labels for c in chunks])
    return np.concatenate([c.samples for c in chunks]), labels, chunks


def test_csv_channels_by_name_in_chunks_with_sparse_labels_and_timestamps(tmp_path):
    x = write_csv(tmp_path / "r.csv")
    samples, labels, chunks = collect(read_csv(tmp_path / "r.csv", ["az", "ax"], "label", "time", chunk_rows=16))
    assert [len(c) for c in chunks] == [16, 16, 16, 2] and [c.first_row for c in chunks] == [0, 16, 32, 48]
    assert samples.dtype == np.int16 and np.array_equal(samples, x[:, [2, 0]])
    assert labels[3] == "" and labels[0] == "walk" and labels[-1] == "run"
    assert chunks[1].timestamps[0] == pytest.approx(0.32)
    no_label, none, _ = collect(read_csv(tmp_path / "r.csv", ["ax"]))
    assert none is None and np.array_equal(no_label[:, 0], x[:, 0])
    skipped, _, sk = collect(read_csv(tmp_path / "r.csv", ["ax"], chunk_rows=16, skip_rows=20))
    assert np.array_equal(skipped[:, 0], x[20:, 0]) and sk[0].first_row == 20


def test_csv_from_a_line_stream_like_stdin():
    text = io.StringIO("a;b\n1;2\n\n3;4\n5;6\n")
    samples, _, chunks = collect(read_csv(text, ["b", "a"], delimiter=";", chunk_rows=1))
    assert samples.tolist() == [[2, 1], [4, 3], [6, 5]] and len(chunks) == 3


@pytest.mark.parametrize(
    "body, kw, match",
    [
        ("ax,ay\n1,2\n", {"channels": ["ax", "gz"]}, r"no column 'gz' in the header \(columns: ax, ay\)"),
        ("ax,ay\n1,2\n3,x\n", {"channels": ["ax", "ay"]}, r"line 3: column 'ay' holds 'x', not a number"),
        ("ax,ay\n1,\n", {"channels": ["ax", "ay"]}, r"line 2: column 'ay' holds '', not a number"),
        ("ax,ay\n1,2.5\n", {"channels": ["ax", "ay"]}, r"line 2, column 'ay': 2.5 is not an integer count; pass scale"),
        ("ax,ay\n1,40000\n", {"channels": ["ax", "ay"]}, r"line 2, column 'ay': 40000 is outside the int16 range"),
        ("ax,ay\n1,nan\n", {"channels": ["ax", "ay"]}, r"line 2, column 'ay': nan is not a finite number"),
        ("ax,ay\n1,2,3\n", {"channels": ["ax"]}, r"line 2: 3 fields, the header has 2"),
        ("", {"channels": ["ax"]}, "empty file"),
        ("t,ax\nnow,1\n", {"channels": ["ax"], "timestamp": "t"}, r"line 2: column 't' holds 'now', not a number"),
    ],
)
def test_csv_errors_name_the_problem(tmp_path, body, kw, match):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(ValueError, match=match):
        list(read_csv(path, **kw))


def test_csv_scale_reads_physical_units():
    text = io.StringIO("ax\n0.5\n-1.25\n")
    samples, _, _ = collect(read_csv(text, ["ax"], scale=8192.0))
    assert samples[:, 0].tolist() == [4096, -10240]


def test_npy_plain_and_structured_stream_in_chunks(tmp_path):
    x = np.random.default_rng(1).integers(-100, 100, size=(103, 4)).astype(np.int32)
    np.save(tmp_path / "plain.npy", x)
    samples, labels, chunks = collect(read_npy(tmp_path / "plain.npy", [3, 1], chunk_rows=25))
    assert np.array_equal(samples, x[:, [3, 1]]) and labels is None and len(chunks) == 5
    rec = np.zeros(103, dtype=[("ax", "<i2"), ("ay", "<f4"), ("label", "<i4"), ("t", "<f8")])
    rec["ax"], rec["ay"], rec["label"], rec["t"] = x[:, 0], x[:, 1], np.arange(103) % 3 - 1, np.arange(103)
    np.save(tmp_path / "rec.npy", rec)
    samples, labels, chunks = collect(read_recording(tmp_path / "rec.npy", ["ay", "ax"], "label", "t", chunk_rows=50))
    assert np.array_equal(samples, x[:, [1, 0]]) and labels[:4].tolist() == ["", "0", "1", ""]
    assert chunks[1].timestamps[0] == 50.0
    with pytest.raises(ValueError, match="no field 'gz'"):
        list(read_npy(tmp_path / "rec.npy", ["gz"]))
    with pytest.raises(ValueError, match="out of range"):
        list(read_npy(tmp_path / "plain.npy", [7]))
    np.save(tmp_path / "float.npy", x.astype(np.float64) + 0.5)
    with pytest.raises(ValueError, match="not an integer count"):
        list(read_npy(tmp_path / "float.npy"))


def test_npz_members_as_columns_with_string_labels(tmp_path):
    n = 70
    x = np.random.default_rng(2).integers(-500, 500, size=(n, 2)).astype(np.int16)
    labels = np.array(["walk", "", "run"] * 23 + ["run"])
    np.savez_compressed(tmp_path / "r.npz", ax=x[:, 0], ay=x[:, 1], label=labels, t=np.arange(n) / 50)
    samples, got, chunks = collect(read_recording(tmp_path / "r.npz", ["ay", "ax"], "label", "t", chunk_rows=32))
    assert np.array_equal(samples, x[:, ::-1]) and got.tolist() == labels.tolist() and len(chunks) == 3
    with pytest.raises(ValueError, match=r"no array 'gz' \(arrays: "):
        list(read_npz(tmp_path / "r.npz", ["gz"]))
    np.savez(tmp_path / "uneven.npz", ax=x[:, 0], ay=x[:10, 1])
    with pytest.raises(ValueError, match="equal length"):
        list(read_npz(tmp_path / "uneven.npz", ["ax", "ay"], chunk_rows=8))


def test_a_recording_bigger_than_one_chunk_is_never_read_whole(tmp_path):
    n = 20_000
    x = (np.arange(n) % 1000).astype(np.int16)[:, None].repeat(2, axis=1)
    np.save(tmp_path / "big.npy", x)
    sizes = [len(c) for c in read_npy(tmp_path / "big.npy", chunk_rows=4096)]
    assert max(sizes) == 4096 and sum(sizes) == n
