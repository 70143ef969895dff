"""MNIST in the IDX format: a strict reader, never a downloader.

The four files of the canonical release (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``) are read from a directory given as an argument or
in the environment variable ``EDGE_MESU_MNIST``, gzip-compressed (``.gz``) or not. Every header is checked
(magic number, number of dimensions, image size) and the payload length must match it exactly, so a
truncated or foreign file is refused with a ``ValueError`` that names it.

IDX layout (big-endian): ``0x00 0x00 <type> <ndim>`` then ``ndim`` uint32 sizes, then the data. MNIST uses
type ``0x08`` (uint8): magic ``0x00000803`` for images (n, 28, 28) and ``0x00000801`` for labels (n,).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = [
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "MNIST_ENV_VAR",
    "MNIST_MEAN",
    "MNIST_STD",
    "find_mnist_dir",
    "load_mnist",
    "standardize_mnist",
]

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
MNIST_ENV_VAR = "EDGE_MESU_MNIST"
#: Mean and standard deviation of the 60,000 training pixels scaled to [0, 1] (the usual constants).
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _candidates(directory: Path, stem: str) -> list[Path]:
    """File names tried for one IDX stem: as released, gzipped, and the ``.idx3-ubyte`` spelling."""
    alt = stem.replace("-idx", ".idx")
    return [directory / name for name in (stem, stem + ".gz", alt, alt + ".gz")]


def _find_file(directory: Path, stem: str) -> Path | None:
    for candidate in _candidates(directory, stem):
        if candidate.is_file():
            return candidate
    return None


def _read_bytes(file: Path) -> bytes:
    """Whole file content, decompressed when it starts with the gzip magic (whatever its name)."""
    raw = file.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"{file}: corrupt or truncated gzip stream ({exc})") from None


def _read_idx(file: Path, magic: int, shape_tail: tuple[int, ...]) -> np.ndarray:
    """Read one uint8 IDX file whose header must be ``magic`` and whose trailing sizes are ``shape_tail``."""
    data = _read_bytes(file)
    ndim = 1 + len(shape_tail)
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise ValueError(f"{file}: truncated header ({len(data)} bytes, expected at least {header_len})")
    (found,) = struct.unpack(">I", data[:4])
    if found != magic:
        raise ValueError(f"{file}: wrong magic number 0x{found:08X}, expected 0x{magic:08X}")
    dims = struct.unpack(f">{ndim}I", data[4:header_len])
    if tuple(dims[1:]) != shape_tail:
        raise ValueError(f"{file}: item shape {tuple(dims[1:])}, expected {shape_tail}")
    expected = int(np.prod(dims, dtype=np.int64))
    payload = len(data) - header_len
    if payload != expected:
        kind = "truncated" if payload < expected else "has trailing bytes"
        raise ValueError(f"{file}: {kind}: payload is {payload} bytes, header {dims} needs {expected}")
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims).copy()


def _resolve_dir(path: str | os.PathLike[str] | None) -> Path:
    if path is None:
        env = os.environ.get(MNIST_ENV_VAR)
        if not env:
            raise FileNotFoundError(
                "no MNIST directory given: pass path=... or set the environment variable "
                f"{MNIST_ENV_VAR} to a directory holding the four IDX files "
                "(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...); "
                "edge-mesu never downloads data"
            )
        path = env
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise FileNotFoundError(
            f"MNIST directory {str(directory)!r} does not exist or is not a directory "
            f"(pass path=... or set {MNIST_ENV_VAR})"
        )
    return directory


def load_mnist(path: str | os.PathLike[str] | None = None, *, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load one split of MNIST from IDX files (gzipped or not).

    Parameters
    ----------
    path : directory holding the IDX files; ``None`` uses the environment variable ``EDGE_MESU_MNIST``.
    split : ``"train"`` (60,000 images in the canonical release) or ``"test"`` (10,000, the ``t10k`` files).

    Returns
    -------
    X : uint8 array of shape ``(n, 28, 28)``, in file order.
    y : uint8 array of shape ``(n,)`` with labels 0-9.

    Raises
    ------
    FileNotFoundError
        No directory given (argument or environment variable), or a file of the split is missing.
    ValueError
        Wrong magic number, wrong image size, truncated or over-long file, corrupt gzip, labels > 9, or
        different numbers of images and labels. The message names the file.
    """
    if split not in _STEMS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    directory = _resolve_dir(path)
    files = []
    for stem in _STEMS[split]:
        file = _find_file(directory, stem)
        if file is None:
            raise FileNotFoundError(f"{stem}[.gz] not found in {directory} (needed for split={split!r})")
        files.append(file)
    X = _read_idx(files[0], IMAGES_MAGIC, (28, 28))
    y = _read_idx(files[1], LABELS_MAGIC, ())
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{files[0]} holds {X.shape[0]} images but {files[1]} holds {y.shape[0]} labels")
    if y.size and int(y.max()) > 9:
        raise ValueError(f"{files[1]}: label {int(y.max())} out of range 0-9")
    return X, y


def find_mnist_dir(candidates: Iterable[str | os.PathLike[str] | None]) -> Path | None:
    """First directory among ``candidates`` that holds all four MNIST IDX files, else ``None``.

    ``None`` entries are skipped, so ``find_mnist_dir([os.environ.get("EDGE_MESU_MNIST"), "data/mnist"])``
    works. Only file names are checked; :func:`load_mnist` validates the content.

    >>> find_mnist_dir([None, "/nonexistent/mnist"]) is None
    True
    """
    for candidate in candidates:
        if candidate is None:
            continue
        directory = Path(candidate).expanduser()
        stems = [stem for pair in _STEMS.values() for stem in pair]
        if directory.is_dir() and all(_find_file(directory, stem) is not None for stem in stems):
            return directory
    return None


def standardize_mnist(X: np.ndarray) -> np.ndarray:
    """Flatten uint8 images and standardise them with the global MNIST training statistics.

    ``x = (pixel / 255 - MNIST_MEAN) / MNIST_STD`` with ``MNIST_MEAN = 0.1307`` and ``MNIST_STD = 0.3081``
    (mean and standard deviation of all training pixels in [0, 1]). The constants are fixed, so train and
    test sets (and every permuted task) get the same affine map; values lie in about [-0.42, 2.82].

    Parameters
    ----------
    X : uint8 array of shape ``(n, 28, 28)`` or ``(n, 784)``.

    Returns
    -------
    float32 array of shape ``(n, 784)``.

    >>> import numpy as np
    >>> Z = standardize_mnist(np.array([[[0] * 28] * 28, [[255] * 28] * 28], dtype=np.uint8))
    >>> Z.shape, Z.dtype, round(float(Z[0, 0]), 4), round(float(Z[1, 0]), 4)
    ((2, 784), dtype('float32'), -0.4242, 2.8215)
    """
    arr = np.asarray(X)
    if arr.dtype != np.uint8:
        raise ValueError(f"X must be uint8 pixels 0-255, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[1:] == (28, 28):
        arr = arr.reshape(arr.shape[0], 784)
    elif not (arr.ndim == 2 and arr.shape[1] == 784):
        raise ValueError(f"X must have shape (n, 28, 28) or (n, 784), got {arr.shape}")
    scaled = arr.astype(np.float32) / np.float32(255.0)
    return (scaled - np.float32(MNIST_MEAN)) / np.float32(MNIST_STD)
