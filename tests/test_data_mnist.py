"""MNIST IDX reader: tiny IDX files written into tmp_path (gzipped and raw), and the real data if present."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from edge_mesu.data import MNIST_ENV_VAR, find_mnist_dir, load_mnist, standardize_mnist
from edge_mesu.data.mnist import IMAGES_MAGIC, LABELS_MAGIC

REAL_MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"


def idx_bytes(magic: int, array: np.ndarray) -> bytes:
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write(path: Path, data: bytes, gz: bool) -> None:
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def make_split(directory: Path, prefix: str, n: int, gz: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, size=n, dtype=np.uint8)
    write(directory / f"{prefix}-images-idx3-ubyte", idx_bytes(IMAGES_MAGIC, X), gz)
    write(directory / f"{prefix}-labels-idx1-ubyte", idx_bytes(LABELS_MAGIC, y), gz)
    return X, y


@pytest.mark.parametrize("gz", [True, False])
def test_roundtrip_both_splits(tmp_path: Path, gz: bool) -> None:
    X_tr, y_tr = make_split(tmp_path, "train", 7, gz, seed=1)
    X_te, y_te = make_split(tmp_path, "t10k", 3, gz, seed=2)
    X, y = load_mnist(tmp_path, split="train")
    assert X.dtype == np.uint8 and y.dtype == np.uint8
    assert X.shape == (7, 28, 28) and y.shape == (7,)
    np.testing.assert_array_equal(X, X_tr)
    np.testing.assert_array_equal(y, y_tr)
    X, y = load_mnist(str(tmp_path), split="test")
    np.testing.assert_array_equal(X, X_te)
    np.testing.assert_array_equal(y, y_te)


def test_env_var_and_missing_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_split(tmp_path, "train", 2, gz=True)
    monkeypatch.setenv(MNIST_ENV_VAR, str(tmp_path))
    assert load_mnist()[0].shape == (2, 28, 28)
    monkeypatch.delenv(MNIST_ENV_VAR)
    with pytest.raises(FileNotFoundError, match=MNIST_ENV_VAR):
        load_mnist()
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_mnist(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        load_mnist(tmp_path, split="test")
    with pytest.raises(ValueError, match="split"):
        load_mnist(tmp_path, split="valid")


def test_gzip_detected_by_content_and_alt_spelling(tmp_path: Path) -> None:
    X, y = make_split(tmp_path, "train", 2, gz=True)
    (tmp_path / "train-images-idx3-ubyte.gz").rename(tmp_path / "train-images.idx3-ubyte")
    np.testing.assert_array_equal(load_mnist(tmp_path)[0], X)


@pytest.mark.parametrize("gz", [True, False])
def test_wrong_magic(tmp_path: Path, gz: bool) -> None:
    make_split(tmp_path, "train", 2, gz)
    labels = np.zeros(2, dtype=np.uint8)
    name = "train-labels-idx1-ubyte"
    (tmp_path / (name + (".gz" if gz else ""))).unlink()
    write(tmp_path / name, idx_bytes(IMAGES_MAGIC, labels), gz)  # image magic on a label file
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.*wrong magic number 0x00000803"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_payload(tmp_path: Path, gz: bool) -> None:
    make_split(tmp_path, "train", 3, gz)
    name = "train-images-idx3-ubyte"
    X = np.zeros((3, 28, 28), dtype=np.uint8)
    (tmp_path / (name + (".gz" if gz else ""))).unlink()
    write(tmp_path / name, idx_bytes(IMAGES_MAGIC, X)[:-100], gz)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*truncated"):
        load_mnist(tmp_path)


def test_truncated_header_and_gzip_stream(tmp_path: Path) -> None:
    make_split(tmp_path, "train", 3, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz.*gzip"):
        load_mnist(tmp_path)
    path.write_bytes(gzip.compress(struct.pack(">I", IMAGES_MAGIC) + b"\x00\x00"))
    with pytest.raises(ValueError, match="truncated header"):
        load_mnist(tmp_path)


def test_trailing_bytes_and_wrong_image_size(tmp_path: Path) -> None:
    make_split(tmp_path, "train", 2, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="trailing bytes"):
        load_mnist(tmp_path)
    path.write_bytes(idx_bytes(IMAGES_MAGIC, np.zeros((2, 27, 28), dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"item shape \(27, 28\)"):
        load_mnist(tmp_path)


def test_count_mismatch(tmp_path: Path) -> None:
    make_split(tmp_path, "train", 4, gz=False)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS_MAGIC, np.zeros(3, dtype=np.uint8)), False)
    with pytest.raises(ValueError, match="4 images but .*3 labels"):
        load_mnist(tmp_path)


def test_label_out_of_range(tmp_path: Path) -> None:
    make_split(tmp_path, "train", 2, gz=False)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS_MAGIC, np.array([1, 12], np.uint8)), False)
    with pytest.raises(ValueError, match="label 12"):
        load_mnist(tmp_path)


def test_find_mnist_dir(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    full = tmp_path / "full"
    full.mkdir()
    make_split(full, "train", 1, gz=True)
    assert find_mnist_dir([None, empty, full]) is None  # test split missing
    make_split(full, "t10k", 1, gz=False)
    assert find_mnist_dir([None, empty, str(full)]) == full


def test_standardize() -> None:
    X = np.zeros((2, 28, 28), dtype=np.uint8)
    X[1] = 255
    Z = standardize_mnist(X)
    assert Z.shape == (2, 784) and Z.dtype == np.float32
    np.testing.assert_allclose(Z[0], (0 - 0.1307) / 0.3081, rtol=1e-6)
    np.testing.assert_allclose(Z[1], (1 - 0.1307) / 0.3081, rtol=1e-6)
    np.testing.assert_array_equal(standardize_mnist(X.reshape(2, 784)), Z)
    with pytest.raises(ValueError, match="uint8"):
        standardize_mnist(X.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        standardize_mnist(np.zeros((2, 10), dtype=np.uint8))


@pytest.mark.data
def test_real_mnist_class_counts() -> None:
    if find_mnist_dir([REAL_MNIST]) is None:
        pytest.skip(f"MNIST not found at {REAL_MNIST}")
    X, y = load_mnist(REAL_MNIST, split="train")
    assert X.shape == (60000, 28, 28)
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    X, y = load_mnist(REAL_MNIST, split="test")
    assert X.shape == (10000, 28, 28)
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    Z = standardize_mnist(load_mnist(REAL_MNIST, split="train")[0])
    assert abs(float(Z.mean())) < 1e-3 and abs(float(Z.std()) - 1.0) < 1e-3
