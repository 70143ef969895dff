"""Numpy-only reader of the real-sensor data layout (``../shared/data/sensors``) and of plain CSV/NPZ files
of the same shapes. The data itself never ships with the package; point the reader at a directory.

Three kinds of set, each a frozen record:

- :class:`RecordingSet`: raw int16 recordings with a per-sample label (−1 = unlabelled) and a group id per
  recording (``hapt``: ``recordings.csv`` + one gzip CSV ``acc_x,…,gyro_z,label`` per recording;
  ``daphnet_s06r02``: one CSV with a timestamp column and an unlabelled ``is_fog`` column).
- :class:`WindowSet`: pre-cut windows ``X (n, T, C)`` float32, right-padded with NaN after ``length[i]``
  samples, a class per window, a group (subject / session, −1 = unknown) and the source's train/test split
  (the NPZ window sets, or a CSV with one window per row).
- :class:`StreamSet`: one labelled stream ``X (T, C)`` with its segment labels (``electric_devices_seg``).

Every problem (missing file, missing key or column, wrong shape, non-integer counts, bad label) raises
:class:`SensorDataError` (a ``ValueError``) naming the path.

>>> import tempfile, os
>>> d = tempfile.mkdtemp()
>>> rec = os.path.join(d, "r.csv")
>>> _ = open(rec, "w").write("ax,ay,label\\n1,2,0\\n3,4,-1\\n")
>>> r = read_recording_csv(rec)
>>> r.X.tolist(), r.y.tolist(), r.channels
([[1, 2], [3, 4]], [0, -1], ('ax', 'ay'))
"""

from __future__ import annotations

import csv
import gzip
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "HAPT_CLASSES",
    "Recording",
    "RecordingSet",
    "SensorDataError",
    "StreamSet",
    "WindowSet",
    "KNOWN_SETS",
    "list_sets",
    "read_hapt",
    "read_recording_csv",
    "read_recordings_dir",
    "read_set",
    "read_stream_npz",
    "read_window_csv",
    "read_window_npz",
    "resample_windows",
]

PathLike = str | os.PathLike

HAPT_CLASSES = (
    "WALKING",
    "WALKING_UPSTAIRS",
    "WALKING_DOWNSTAIRS",
    "SITTING",
    "STANDING",
    "LAYING",
    "STAND_TO_SIT",
    "SIT_TO_STAND",
    "SIT_TO_LIE",
    "LIE_TO_SIT",
    "STAND_TO_LIE",
    "LIE_TO_STAND",
)
WINDOW_SETS = ("basic_motions", "wiimote_pickup", "japanese_vowels", "plaid", "acsf1", "pig_cvp")
STREAM_SETS = ("electric_devices_seg",)
RECORDING_SETS = ("hapt", "daphnet_s06r02")
KNOWN_SETS = RECORDING_SETS + WINDOW_SETS + STREAM_SETS


class SensorDataError(ValueError):
    """A sensor data file is missing or does not have the expected layout (the message names the path)."""


@dataclass(frozen=True)
class Recording:
    """One raw recording: ``X`` int16 ``(T, C)`` counts, ``y`` int64 ``(T,)`` class index or −1."""

    name: str
    group: int
    X: np.ndarray
    y: np.ndarray
    channels: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.X.shape[0])


@dataclass(frozen=True)
class RecordingSet:
    """Raw int16 recordings of one sensor (e.g. ``hapt``: 61 recordings of 30 users)."""

    name: str
    recordings: tuple[Recording, ...]
    classes: tuple[str, ...]
    channels: tuple[str, ...]
    fs: float
    group_kind: str = "subject"
    units: str = "counts"

    @property
    def n_channels(self) -> int:
        return len(self.channels)


@dataclass(frozen=True)
class WindowSet:
    """Pre-cut windows: ``X`` float32 ``(n, T, C)``, NaN after ``length[i]`` samples; ``y`` int64 class;
    ``group`` int64 (−1 = unknown); ``split`` int64 (0 = source TRAIN file, 1 = TEST)."""

    name: str
    X: np.ndarray
    length: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    group: np.ndarray
    split: np.ndarray
    fs: float = math.nan
    group_kind: str = ""
    channels: tuple[str, ...] = field(default_factory=tuple)
    units: str = ""

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.X.shape[2])

    def window(self, i: int) -> np.ndarray:
        """The valid samples of window ``i``, ``(length[i], C)``."""
        return self.X[i, : int(self.length[i])]

    @property
    def has_groups(self) -> bool:
        """True when the groups are known and are not just the class label (only then domain-incremental)."""
        return (
            bool(np.all(self.group >= 0)) and not np.array_equal(self.group, self.y) and len(np.unique(self.group)) > 1
        )


@dataclass(frozen=True)
class StreamSet:
    """One labelled stream: ``X`` float32 ``(T, C)``, ``y`` int64 segment/class per sample."""

    name: str
    X: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    change_points: np.ndarray
    period_length: int = 0
    fs: float = math.nan
    channels: tuple[str, ...] = field(default_factory=tuple)
    units: str = ""


SensorSet = RecordingSet | WindowSet | StreamSet


# -- small helpers ------------------------------------------------------------------------------------------
def _fail(path: PathLike, what: str) -> SensorDataError:
    return SensorDataError(f"{os.fspath(path)}: {what}")


def _require_file(path: Path) -> Path:
    if not path.is_file():
        raise _fail(path, "no such file")
    return path


def _strs(a: object) -> tuple[str, ...]:
    arr = np.asarray(a)
    return tuple(str(v) for v in arr.ravel()) if arr.ndim else (str(arr.item()),)


def _str1(a: object) -> str:
    s = _strs(a)
    return s[0] if s else ""


def _float(a: object) -> float:
    try:
        return float(np.asarray(a, dtype=np.float64).ravel()[0])
    except (IndexError, TypeError, ValueError):
        return math.nan


def _open_text(path: Path):  # noqa: ANN202 - a text file object
    return gzip.open(path, "rt", newline="") if path.suffix == ".gz" else open(path, newline="")


def _read_int_table(path: Path) -> tuple[list[str], np.ndarray]:
    """Header names and an int64 array of a comma-separated integer table (gzip when the name ends .gz)."""
    _require_file(path)
    try:
        with _open_text(path) as f:
            header = f.readline().strip().split(",")
            rows = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError) as exc:
        raise _fail(path, f"cannot read ({exc})") from None
    except ValueError as exc:
        raise _fail(path, f"expected integers only after the header line ({exc})") from None
    if rows.size == 0:
        rows = np.zeros((0, len(header)), dtype=np.int64)
    if rows.shape[1] != len(header):
        raise _fail(path, f"{rows.shape[1]} values per row but {len(header)} header names")
    return [h.strip() for h in header], rows


def _as_int16(path: Path, values: np.ndarray) -> np.ndarray:
    if values.size and (values.min() < -32768 or values.max() > 32767):
        raise _fail(path, f"sample value {int(values[(values < -32768) | (values > 32767)][0])} outside int16")
    return values.astype(np.int16)


# -- recordings (raw int16 CSV) -------------------------------------------------------------------------------
def read_recording_csv(
    path: PathLike,
    label: str | None = "label",
    drop: tuple[str, ...] = (),
    name: str | None = None,
    group: int = -1,
    label_offset: int = 0,
) -> Recording:
    """One recording: every column but ``label`` and ``drop`` is an int16 channel.

    ``label`` names the label column (``None``: no labels, all −1); labels ``< 0`` mean unlabelled and
    ``label_offset`` is subtracted from the others (``hapt`` stores classes 1..12).
    """
    p = Path(path)
    header, rows = _read_int_table(p)
    if label is not None and label not in header:
        raise _fail(p, f"no label column {label!r} (columns: {', '.join(header)})")
    for d in drop:
        if d not in header:
            raise _fail(p, f"no column {d!r} to drop (columns: {', '.join(header)})")
    chans = [i for i, h in enumerate(header) if h != label and h not in drop]
    if not chans:
        raise _fail(p, "no channel columns")
    X = _as_int16(p, rows[:, chans])
    if label is None:
        y = np.full(rows.shape[0], -1, dtype=np.int64)
    else:
        raw = rows[:, header.index(label)]
        y = np.where(raw < 0, -1, raw - label_offset).astype(np.int64)
        if y.size and y.min() < -1:
            raise _fail(p, f"label {int(raw[y < -1][0])} below the offset {label_offset}")
    return Recording(name=name or p.name, group=int(group), X=X, y=y, channels=tuple(header[i] for i in chans))


def read_recordings_dir(
    directory: PathLike,
    index: str = "recordings.csv",
    label: str = "label",
    classes: tuple[str, ...] | None = None,
    label_offset: int = 0,
    fs: float = math.nan,
    groups: set[int] | None = None,
) -> RecordingSet:
    """A directory of recordings listed in ``index`` (columns ``file`` and ``user`` or ``group``; optional
    ``n_samples`` is checked). ``groups`` keeps only recordings of those groups."""
    d = Path(directory)
    idx_path = _require_file(d / index)
    with open(idx_path, newline="") as f:
        table = list(csv.DictReader(f))
    if not table:
        raise _fail(idx_path, "lists no recordings")
    gcol = "user" if "user" in table[0] else "group" if "group" in table[0] else None
    if "file" not in table[0] or gcol is None:
        raise _fail(idx_path, "needs the columns 'file' and 'user' (or 'group')")
    recs, channels = [], None
    for line, row in enumerate(table, start=2):
        try:
            g = int(row[gcol])
        except (TypeError, ValueError):
            raise _fail(idx_path, f"line {line}: {gcol} {row[gcol]!r} is not an integer") from None
        if groups is not None and g not in groups:
            continue
        r = read_recording_csv(d / row["file"], label=label, name=row["file"], group=g, label_offset=label_offset)
        if row.get("n_samples") and int(row["n_samples"]) != len(r):
            raise _fail(d / row["file"], f"{len(r)} samples, {index} says {row['n_samples']}")
        if channels is not None and r.channels != channels:
            raise _fail(d / row["file"], f"channels {r.channels} differ from the first recording's {channels}")
        channels = r.channels
        recs.append(r)
    if not recs:
        raise _fail(idx_path, f"no recording of groups {sorted(groups or [])}")
    n_cls = int(max(r.y.max(initial=-1) for r in recs)) + 1
    names = tuple(classes) if classes is not None else tuple(str(c) for c in range(n_cls))
    if n_cls > len(names):
        raise _fail(d, f"labels reach class {n_cls - 1} but only {len(names)} class names are known")
    return RecordingSet(name=d.name, recordings=tuple(recs), classes=names, channels=channels or (), fs=fs)


def read_hapt(directory: PathLike, users: set[int] | None = None) -> RecordingSet:
    """The ``hapt`` layout: 30 users, 61 recordings at 50 Hz, classes 0..11 (= source labels 1..12)."""
    return read_recordings_dir(directory, label="label", classes=HAPT_CLASSES, label_offset=1, fs=50.0, groups=users)


def _read_daphnet(directory: Path) -> RecordingSet:
    path = directory / "S06R02_excerpt.csv"
    r = read_recording_csv(path, label=None, drop=("t_ms", "is_fog"), group=6)
    return RecordingSet(name=directory.name, recordings=(r,), classes=(), channels=r.channels, fs=64.0, units="mg")


# -- window sets and streams (NPZ, CSV) ------------------------------------------------------------------------
def _npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    _require_file(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise _fail(path, f"not a readable NPZ file ({exc})") from None
    missing = [k for k in keys if k not in data]
    if missing:
        raise _fail(path, f"missing key(s) {', '.join(missing)} (has {', '.join(sorted(data))})")
    return data


def _check_labels(path: Path, y: np.ndarray, n: int, classes: tuple[str, ...]) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise _fail(path, f"y must be {n} integers, got {y.dtype}{y.shape}")
    if n and (y.min() < 0 or y.max() >= len(classes)):
        raise _fail(path, f"class index {int(y[(y < 0) | (y >= len(classes))][0])} outside 0..{len(classes) - 1}")
    return y.astype(np.int64)


def read_window_npz(path: PathLike, name: str | None = None) -> WindowSet:
    """A window set NPZ: ``X (n, T, C)`` (NaN-padded), ``y``, ``classes``; optional ``length`` (default:
    the non-NaN prefix), ``group`` (−1), ``split`` (0), ``fs``, ``channels``, ``units``, ``group_kind``."""
    p = Path(path)
    d = _npz(p, ("X", "y", "classes"))
    X = np.asarray(d["X"], dtype=np.float32)
    if X.ndim == 2:
        X = X[:, :, None]
    if X.ndim != 3 or X.shape[0] == 0:
        raise _fail(p, f"X must be (n, T, C) with n > 0, got {X.shape}")
    n = X.shape[0]
    classes = _strs(d["classes"])
    y = _check_labels(p, d["y"], n, classes)
    if "length" in d:
        length = np.asarray(d["length"]).astype(np.int64)
    else:
        valid = np.asarray(~np.isnan(X).any(axis=2))
        length = np.where(valid.all(axis=1), X.shape[1], valid.argmin(axis=1)).astype(np.int64)
    if length.shape != (n,) or length.min() < 1 or length.max() > X.shape[1]:
        raise _fail(p, f"length must be {n} values in 1..{X.shape[1]}")
    for i in range(n):
        if np.isnan(X[i, : length[i]]).any():
            raise _fail(p, f"window {i} has NaN inside its first {int(length[i])} samples")
    group = np.asarray(d.get("group", np.full(n, -1))).astype(np.int64)
    split = np.asarray(d.get("split", np.zeros(n))).astype(np.int64)
    if group.shape != (n,) or split.shape != (n,):
        raise _fail(p, f"group and split must have {n} entries")
    chans = _strs(d["channels"]) if "channels" in d else tuple(f"c{i}" for i in range(X.shape[2]))
    if len(chans) != X.shape[2]:
        chans = tuple(f"c{i}" for i in range(X.shape[2]))
    return WindowSet(
        name=name or p.stem,
        X=X,
        length=length,
        y=y,
        classes=classes,
        group=group,
        split=split,
        fs=_float(d.get("fs", math.nan)),
        group_kind=_str1(d.get("group_kind", "")),
        channels=chans,
        units=_str1(d.get("units", "")),
    )


def read_window_csv(
    path: PathLike, channels: int = 1, label: str = "y", classes: tuple[str, ...] | None = None, name: str | None = None
) -> WindowSet:
    """A window set as CSV: one window per row, a header line, a ``label`` column (class index), optional
    ``group``, ``split`` and ``length`` columns, then ``T·channels`` values (time-major, channels
    interleaved); empty cells or ``nan`` pad short windows."""
    p = _require_file(Path(path))
    with _open_text(p) as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        rows = [r for r in reader if r]
    if label not in header:
        raise _fail(p, f"no label column {label!r} (columns: {', '.join(header)})")
    meta = {k: header.index(k) for k in (label, "group", "split", "length") if k in header}
    vcols = [i for i in range(len(header)) if i not in meta.values()]
    if not rows or not vcols or len(vcols) % channels:
        raise _fail(
            p,
            f"needs rows and a multiple of {channels} value columns, got {len(rows)} rows, {len(vcols)} value columns",
        )
    vals = np.full((len(rows), len(vcols)), np.nan, dtype=np.float32)
    cols = {k: np.zeros(len(rows), dtype=np.int64) for k in meta}
    for r, row in enumerate(rows):
        if len(row) != len(header):
            raise _fail(p, f"line {r + 2}: {len(row)} cells, header has {len(header)}")
        try:
            for k, i in meta.items():
                cols[k][r] = int(row[i])
            vals[r] = [float(row[i]) if row[i].strip() not in ("", "nan", "NaN") else np.nan for i in vcols]
        except ValueError as exc:
            raise _fail(p, f"line {r + 2}: {exc}") from None
    X = vals.reshape(len(rows), -1, channels)
    y = cols[label]
    names = tuple(classes) if classes is not None else tuple(str(c) for c in range(int(y.max()) + 1))
    valid = np.asarray(~np.isnan(X).any(axis=2))
    length = cols.get("length", np.where(valid.all(axis=1), X.shape[1], valid.argmin(axis=1)))
    if length.min() < 1 or length.max() > X.shape[1] or any(np.isnan(X[i, : length[i]]).any() for i in range(len(y))):
        raise _fail(p, "every window needs at least one value and no gap before its length")
    return WindowSet(
        name=name or p.stem,
        X=X,
        length=length.astype(np.int64),
        y=_check_labels(p, y, len(y), names),
        classes=names,
        group=cols.get("group", np.full(len(y), -1)),
        split=cols.get("split", np.zeros(len(y))),
        channels=tuple(f"c{i}" for i in range(channels)),
    )


def read_stream_npz(path: PathLike, name: str | None = None) -> StreamSet:
    """A labelled stream NPZ: ``X (T,)`` or ``(T, C)``, ``y (T,)``, ``classes``; optional ``change_points``
    (default: where ``y`` changes), ``period_length``, ``fs``, ``channels``, ``units``."""
    p = Path(path)
    d = _npz(p, ("X", "y", "classes"))
    X = np.asarray(d["X"], dtype=np.float32)
    X = X[:, None] if X.ndim == 1 else X
    if X.ndim != 2 or X.shape[0] < 2 or not np.isfinite(X).all():
        raise _fail(p, f"X must be a finite (T, C) stream, got {X.shape}")
    classes = _strs(d["classes"])
    y = _check_labels(p, d["y"], X.shape[0], classes)
    cps = np.asarray(d["change_points"]).astype(np.int64) if "change_points" in d else np.flatnonzero(np.diff(y)) + 1
    chans = _strs(d["channels"]) if "channels" in d else tuple(f"c{i}" for i in range(X.shape[1]))
    return StreamSet(
        name=name or p.stem,
        X=X,
        y=y,
        classes=classes,
        change_points=cps,
        period_length=int(_float(d.get("period_length", 0)) or 0),
        fs=_float(d.get("fs", math.nan)),
        channels=chans if len(chans) == X.shape[1] else tuple(f"c{i}" for i in range(X.shape[1])),
        units=_str1(d.get("units", "")),
    )


# -- the directory layout ------------------------------------------------------------------------------------
def list_sets(root: PathLike) -> list[str]:
    """Names of the known sets present under ``root`` (in :data:`KNOWN_SETS` order)."""
    r = Path(root)
    if not r.is_dir():
        raise _fail(r, "no such directory (expected the sensor data pack, e.g. ../shared/data/sensors)")
    return [s for s in KNOWN_SETS if (r / s).is_dir()]


def read_set(root: PathLike, name: str) -> SensorSet:
    """Read set ``name`` from the data-pack directory ``root`` (or any directory with the same layout)."""
    d = Path(root) / name
    if not d.is_dir():
        raise _fail(d, f"no such set directory (sets here: {', '.join(list_sets(root)) or 'none'})")
    if name == "hapt":
        return read_hapt(d)
    if name == "daphnet_s06r02":
        return _read_daphnet(d)
    npz = d / f"{name}.npz"
    if name in STREAM_SETS:
        return read_stream_npz(npz, name)
    if npz.is_file():
        data = _npz(npz, ("X",))
        return read_window_npz(npz, name) if np.asarray(data["X"]).ndim == 3 else read_stream_npz(npz, name)
    if (d / "recordings.csv").is_file():
        return read_recordings_dir(d)
    raise _fail(d, f"neither {name}.npz nor recordings.csv found")


def resample_windows(ws: WindowSet, frames: int) -> np.ndarray:
    """Every window's valid part brought to ``frames`` samples, float32 ``(n, frames, C)``.

    Block averaging where the window is a whole multiple of ``frames`` (an integer decimation), linear
    interpolation otherwise (variable-length windows).
    """
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    out = np.empty((len(ws), frames, ws.n_channels), dtype=np.float32)
    for i in range(len(ws)):
        w = ws.window(i).astype(np.float64)
        n = w.shape[0]
        if n % frames == 0:
            out[i] = w.reshape(frames, n // frames, -1).mean(axis=1)
        else:
            t = np.linspace(0.0, n - 1.0, frames)
            out[i] = np.stack([np.interp(t, np.arange(n), w[:, c]) for c in range(w.shape[1])], axis=1)
    return out
