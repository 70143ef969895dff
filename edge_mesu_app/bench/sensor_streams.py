"""Continual-learning streams built from real sensor sets: the protocols of the sensor benchmark.

A :class:`Stream` is what every learner of one (set, protocol, seed) sees: the learned windows in order
(predict, then learn), plus the windows it never learns, to measure memory and novelty at the end.

Protocols (docs/sensor_streams.md has the reasons and the per-set table):

- ``domain``: tasks are subjects (``hapt``: the 30 users in a seeded random order, each user's recordings in
  time order) or recording sessions (``japanese_vowels``); every class appears in every task.
- ``class``: the classes (minus the novelty class) in groups that arrive one after the other and never
  come back (``hapt``: {walk, upstairs, downstairs} → {sit, stand, lie} → the six transitions, every
  user's bouts of each group in user order; window sets: a seeded random class order cut into groups;
  ``electric_devices_seg``: its five segments in their native order).
- ``drift``: the ``domain`` order (``hapt``) or a seeded random order (window sets), with five gain/offset
  steps per channel at equal spacing: gain log-uniform in [2/3, 3/2], offset uniform in ±¼ channel std,
  applied to the raw int16 counts (``hapt``, before the front end) or to the standardised window values.

Held back (never learned, never predicted prequentially): contiguous blocks of raw samples (20 % of
``block``-sample blocks, drawn per seed) for recordings and streams, so no overlapping window leaks into the
stream; 30 % of each task's windows (stratified by class) for the small window sets. *Retention* uses the
held-back windows of the first third of the stream (window sets: of the tasks that start in the first third;
all of them when the stream is one task), through the final front end (its normaliser frozen at its final
state) and the final drift regime: what the device would see if that subject came back now. One *novelty
class* per seed (distinct classes for seeds 0, 1, 2; ``hapt``: one of the six activities) is never learned
(its windows are neither learned nor scored); its windows at the end are
the positives of the novelty AUROC, the held-back windows of known classes the negatives.

Window sets become vectors by resampling each window to a fixed number of frames (block average or linear
interpolation), standardising each channel with the set's global mean and std, clipping to ±4 and rounding to
the learners' int8 input grid (Q2.5); ``hapt`` goes through :class:`edge_mesu.frontend.FrontEnd` as raw
int16 samples. Small sets are repeated (``passes``: each task's learned windows again, reshuffled) so every
stream has about 1,500 learning steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from edge_mesu.data.sensor_sets import RecordingSet, StreamSet, WindowSet, read_set, resample_windows
from edge_mesu.fixed.rounding import div_round_even
from edge_mesu.frontend import FrontEnd, FrontEndSpec
from edge_mesu.frontend.normalise import normalise_windows

__all__ = [
    "PROTOCOLS",
    "SET_PROTOCOLS",
    "Stream",
    "WINDOW_FRAMES",
    "build_stream",
    "default_frontend",
    "hapt_stream",
    "window_set_stream",
    "quantize_inputs",
]

PROTOCOLS = ("domain", "class", "drift")
# Which protocols fit which set (README of the data pack): domain needs groups independent of the class.
SET_PROTOCOLS: dict[str, tuple[str, ...]] = {
    "hapt": ("domain", "class", "drift"),
    "basic_motions": ("class", "drift"),
    "wiimote_pickup": ("class", "drift"),
    "japanese_vowels": ("domain", "class", "drift"),
    "plaid": ("class", "drift"),
    "acsf1": ("class", "drift"),
    "pig_cvp": ("class", "drift"),
    "electric_devices_seg": ("class",),
}
SKIPPED = {"daphnet_s06r02": "unlabelled (no freeze episode in the excerpt): no supervised protocol fits"}
# Frames per window after resampling (inputs = frames x channels).
WINDOW_FRAMES = {
    "basic_motions": 20,
    "wiimote_pickup": 32,
    "japanese_vowels": 8,
    "plaid": 64,
    "acsf1": 73,
    "pig_cvp": 80,
    "electric_devices_seg": 40,
}
# Class groups of the hapt class-incremental protocol (the data pack's README suggestion).
HAPT_CLASS_TASKS = ((0, 1, 2), (3, 4, 5), (6, 7, 8, 9, 10, 11))
HAPT_NOVEL_CANDIDATES = 6  # the novelty class is one of the six activities (a transition is mostly a posture)
CLASS_TASKS = {"basic_motions": 2, "wiimote_pickup": 3, "japanese_vowels": 4, "plaid": 5, "acsf1": 3, "pig_cvp": 13}
HOLD_FRAC = 0.2  # blocks of recordings and streams
HOLD_FRAC_WINDOWS = 0.3  # windows of the (small) window sets
TARGET_STEPS = 1500
MAX_PASSES = 10
IN_FRAC = 5  # the learners' int8 input format Q2.5
DRIFT_GAIN = (2 / 3, 3 / 2)  # log-uniform gain per channel and regime
DRIFT_OFFSET = 0.25  # offset uniform in ± this many channel standard deviations


def default_frontend() -> FrontEndSpec:
    """hapt's front end: 2 s windows (100 samples at 50 Hz), 1 s hop, decimation 5: 20 frames x 6 channels."""
    return FrontEndSpec(channels=6, window=100, hop=50, decimate=5)


@dataclass
class Stream:
    """One (set, protocol, seed) stream; inputs are floats on the int8 Q2.5 grid (what the pipeline feeds).

    X, y, task : the learned windows in order. third : index of the first window after the first third.
    held_mid / held_end : (X, y) of the first third's held-back windows as the front end saw them at the
    end of the first third / at the end. known_end : (X, y) of every held-back window at the end.
    novel_end : X of the novelty class's windows at the end. classes : names of the learned class indices.
    """

    name: str
    protocol: str
    seed: int
    X: np.ndarray
    y: np.ndarray
    task: np.ndarray
    third: int
    held_mid: tuple[np.ndarray, np.ndarray]
    held_end: tuple[np.ndarray, np.ndarray]
    known_end: tuple[np.ndarray, np.ndarray]
    novel_end: np.ndarray
    classes: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return int(self.y.shape[0])


def quantize_inputs(x: np.ndarray) -> np.ndarray:
    """Floats rounded to the Q2.5 grid and saturated to int8 (as the pipeline hands them to a learner)."""
    q = np.clip(np.rint(np.asarray(x, dtype=np.float64) * (1 << IN_FRAC)), -128, 127)
    return (q / (1 << IN_FRAC)).astype(np.float32)


def _novel_class(seed: int, candidates: list[int]) -> int:
    """Seeds 0, 1, 2, ... take the candidates in one fixed random order: distinct classes per seed."""
    return int(np.random.default_rng(17).permutation(candidates)[seed % len(candidates)])


def _remap(classes: tuple[str, ...], novel: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Label map old -> new with the novelty class removed (−1), and the new names."""
    keep = [c for c in range(len(classes)) if c != novel]
    lut = np.full(len(classes) + 1, -1, dtype=np.int64)  # index −1 (unlabelled) stays −1
    lut[keep] = np.arange(len(keep))
    return lut, tuple(classes[c] for c in keep)


def _drift_params(
    rng: np.random.Generator, regimes: int, channels: int, std: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    gain = np.exp(rng.uniform(math.log(DRIFT_GAIN[0]), math.log(DRIFT_GAIN[1]), size=(regimes, channels)))
    off = rng.uniform(-DRIFT_OFFSET, DRIFT_OFFSET, size=(regimes, channels)) * std
    gain[0], off[0] = 1.0, 0.0
    return gain, off


# -- hapt: raw int16 recordings through the integer front end --------------------------------------------------
def _hapt_segments(
    rs: RecordingSet, protocol: str, seed: int, novel: int, n_users: int | None = None
) -> tuple[list, list]:
    """(learning segments, novelty-only segments) as (X, y, task) in stream order."""
    users = sorted({r.group for r in rs.recordings})
    order = np.random.default_rng([seed, 1]).permutation(users)[:n_users]
    by_user = {u: [r for r in rs.recordings if r.group == u] for u in users}
    segs: list[tuple[np.ndarray, np.ndarray, int]] = []
    if protocol in ("domain", "drift"):
        segs = [(r.X, r.y, t) for t, u in enumerate(order) for r in by_user[int(u)]]
        return segs, []
    novel_segs: list[tuple[np.ndarray, np.ndarray, int]] = []
    for t, group in enumerate(HAPT_CLASS_TASKS + ((novel,),)):
        for u in order:
            for r in by_user[int(u)]:
                for a, b in _bouts(r.y):
                    lab = int(r.y[a])
                    if lab in group and (lab != novel or t == len(HAPT_CLASS_TASKS)):
                        (novel_segs if lab == novel else segs).append((r.X[a:b], r.y[a:b], t))
    return segs, novel_segs


def _bouts(y: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of one labelled class: (start, stop)."""
    cut = np.flatnonzero(np.diff(y)) + 1
    starts, stops = np.concatenate([[0], cut]), np.concatenate([cut, [len(y)]])
    return [(int(a), int(b)) for a, b in zip(starts, stops) if y[a] >= 0]


def _window_frames(raw: np.ndarray, ends: np.ndarray, spec: FrontEndSpec) -> np.ndarray:
    """Decimated frames (W, frames, C) of the windows ending at raw indices ``ends`` (block averages)."""
    if len(ends) == 0:
        return np.zeros((0, spec.frames, raw.shape[1]), dtype=np.int64)
    idx = ends[:, None] - spec.window + 1 + np.arange(spec.window)[None, :]
    blocks = raw[idx].astype(np.int64).reshape(len(ends), spec.frames, spec.decimate, raw.shape[1])
    return div_round_even(blocks.sum(axis=2), spec.decimate)


def _to_float(q: np.ndarray, spec: FrontEndSpec) -> np.ndarray:
    return (np.asarray(q, dtype=np.float64) / (1 << spec.out_frac)).astype(np.float32)


def _concat(segs: list, rng: np.random.Generator, block: int, hold: bool) -> dict[str, np.ndarray]:
    """Concatenate segments; per sample: label, task, segment id and held-back flag (blocks of ``block``)."""
    X = np.concatenate([s[0] for s in segs]).astype(np.int16)
    y = np.concatenate([s[1] for s in segs]).astype(np.int64)
    task = np.concatenate([np.full(len(s[1]), s[2]) for s in segs])
    seg = np.concatenate([np.full(len(s[1]), i) for i, s in enumerate(segs)])
    held = np.zeros(len(y), dtype=bool)
    if hold:
        start = 0
        for s in segs:
            n = len(s[1])
            nb = -(-n // block)
            flags = rng.random(nb) < HOLD_FRAC
            held[start : start + n] = np.repeat(flags, block)[:n]
            start += n
    return {"X": X, "y": y, "task": task, "seg": seg, "held": held}


def _windows(c: dict[str, np.ndarray], spec: FrontEndSpec) -> dict[str, np.ndarray]:
    """Window ends of the front end's schedule over the concatenation and their kind."""
    n = len(c["y"])
    ends = np.arange(spec.window - 1, n, spec.hop, dtype=np.int64)
    start = ends - spec.window + 1
    same = c["seg"][start] == c["seg"][ends]
    cum = np.concatenate([[0], np.cumsum(c["held"])])
    n_held = cum[ends + 1] - cum[start]
    return {
        "ends": ends,
        "label": c["y"][ends],
        "task": c["task"][ends],
        "same": same,
        "all_held": same & (n_held == spec.window),
        "none_held": same & (n_held == 0),
    }


def _drift_raw(X: np.ndarray, regime: np.ndarray, gain: np.ndarray, off: np.ndarray) -> np.ndarray:
    out = np.rint(X.astype(np.float64) * gain[regime] + off[regime])
    return np.clip(out, -32768, 32767).astype(np.int16)


def hapt_stream(
    rs: RecordingSet,
    protocol: str,
    seed: int,
    spec: FrontEndSpec | None = None,
    block: int = 500,
    freeze_after: int | None = None,
    static: bool = False,
    users: int | None = None,
) -> Stream:
    """A ``hapt`` stream through the integer front end.

    ``freeze_after``: freeze the normaliser after this many raw samples. ``static``: no running normaliser;
    the front end's statistics are the mean and variance of the whole stream, frozen from the start (the
    "fixed feature vectors" reference). ``users``: only the first this many users of the seeded order
    (a cheaper stream for exploration).
    """
    spec = spec or default_frontend()
    novel = _novel_class(seed, list(range(min(len(rs.classes), HAPT_NOVEL_CANDIDATES))))
    lut, names = _remap(rs.classes, novel)
    segs, novel_segs = _hapt_segments(rs, protocol, seed, novel, users)
    rng = np.random.default_rng([seed, 2])
    c = _concat(segs, rng, block, hold=True)
    w = _windows(c, spec)
    raw = c["X"]
    regime = np.zeros(len(raw), dtype=np.int64)
    gain, off = np.ones((1, raw.shape[1])), np.zeros((1, raw.shape[1]))  # used under drift only
    if protocol == "drift":
        std = raw.astype(np.float64).std(axis=0)
        gain, off = _drift_params(np.random.default_rng([seed, 3]), 6, raw.shape[1], std)
        regime = np.minimum(np.arange(len(raw)) * 6 // len(raw), 5)
        raw = _drift_raw(raw, regime, gain, off)
    lab = w["label"]
    learn = w["none_held"] & (lab >= 0) & (lab != novel)
    heldw = w["all_held"] & (lab >= 0) & (lab != novel)
    learn_idx = np.flatnonzero(learn)
    third_win = learn_idx[len(learn_idx) // 3]
    third_raw = int(w["ends"][third_win])  # the first third ends just before this window's last sample
    fe = FrontEnd(spec)
    if static:
        fe = _static_frontend(spec, raw)
    out1 = _push(fe, raw[:third_raw], freeze_after, 0)
    mid_m, mid_v = fe.state()[1]["mean"].astype(np.int64), fe.state()[1]["var"].astype(np.int64)
    out2 = _push(fe, raw[third_raw:], freeze_after, third_raw)
    values = np.concatenate([out1.values, out2.values])
    ends_fe = np.concatenate([out1.end, out2.end])
    assert np.array_equal(ends_fe, w["ends"]), "front-end schedule and window table disagree"
    end_m, end_v = fe.state()[1]["mean"].astype(np.int64), fe.state()[1]["var"].astype(np.int64)
    # the device at the end: final drift regime everywhere, final (frozen) normaliser statistics
    raw_end = raw if protocol != "drift" else _drift_raw(c["X"], np.full(len(raw), 5), gain, off)

    def vectors(r: np.ndarray, ends: np.ndarray, m: np.ndarray, v: np.ndarray) -> np.ndarray:
        if len(ends) == 0:
            return np.zeros((0, spec.n_outputs), dtype=np.float32)
        frames = _window_frames(r, ends, spec)
        mm, vv = np.repeat(m[None], len(ends), 0), np.repeat(v[None], len(ends), 0)
        return _to_float(normalise_windows(frames, mm, vv, spec), spec)

    first = heldw & (w["ends"] < third_raw)
    ends_first, ends_held = w["ends"][first], w["ends"][heldw]
    if novel_segs:  # class-incremental: the novelty class's bouts, never in the stream
        cn = _concat(novel_segs, rng, block, hold=False)
        wn = _windows(cn, spec)
        keep = wn["same"] & (wn["label"] == novel)
        raw_n = cn["X"] if protocol != "drift" else _drift_raw(cn["X"], np.full(len(cn["X"]), 5), gain, off)
        novel_X = vectors(raw_n, wn["ends"][keep], end_m, end_v)
    else:
        novel_X = vectors(raw_end, w["ends"][w["same"] & (lab == novel)], end_m, end_v)
    info = {
        "windows": int(len(w["ends"])),
        "learned": int(learn.sum()),
        "held_back": int(heldw.sum()),
        "held_first_third": int(first.sum()),
        "novel_windows": int(len(novel_X)),
        "novel_class": rs.classes[novel],
        "raw_samples": int(len(raw)),
        "frontend": spec.to_dict(),
        "frontend_mode": "static" if static else (f"frozen after {freeze_after}" if freeze_after else "running"),
        "emitted_first": (_to_float(values[first], spec), lut[lab[first]]),
        "passes": 1,
        "tasks": int(c["task"].max()) + 1,
    }
    return Stream(
        name=rs.name,
        protocol=protocol,
        seed=seed,
        X=_to_float(values[learn], spec),
        y=lut[lab[learn]],
        task=w["task"][learn],
        third=len(learn_idx) // 3,
        held_mid=(vectors(raw, ends_first, mid_m, mid_v), lut[lab[first]]),
        held_end=(vectors(raw_end, ends_first, end_m, end_v), lut[lab[first]]),
        known_end=(vectors(raw_end, ends_held, end_m, end_v), lut[lab[heldw]]),
        novel_end=novel_X,
        classes=names,
        info=info,
    )


def _push(fe: FrontEnd, raw: np.ndarray, freeze_after: int | None, offset: int) -> Any:
    """Push raw samples, freezing the normaliser once ``freeze_after`` samples (counted from 0) are in."""
    if freeze_after is None or fe.frozen or offset + len(raw) <= freeze_after:
        return fe.push(raw)
    cut = max(0, freeze_after - offset)
    a = fe.push(raw[:cut])
    fe.freeze()
    b = fe.push(raw[cut:])
    return type(a)(
        values=np.concatenate([a.values, b.values]),
        labels=np.concatenate([a.labels, b.labels]),
        end=np.concatenate([a.end, b.end]),
        consumed=a.consumed + b.consumed,
    )


def _static_frontend(spec: FrontEndSpec, raw: np.ndarray) -> FrontEnd:
    """A front end whose statistics are the decimated stream's mean and variance, frozen from the start."""
    fe = FrontEnd(spec)
    n = len(raw) // spec.decimate * spec.decimate
    dec = raw[:n].astype(np.float64).reshape(-1, spec.decimate, raw.shape[1]).mean(axis=1)
    meta, arrays = fe.state()
    arrays["mean"] = np.rint(dec.mean(axis=0) * 2**16).astype(np.int32)
    arrays["var"] = np.rint(dec.var(axis=0) * 2**16).astype(np.int64)
    meta["k"], meta["frozen"] = 1 << spec.tau_log2, True
    return cast(FrontEnd, FrontEnd.from_state(meta, arrays))


# -- window sets and the segmented stream ---------------------------------------------------------------------
def _standardise(frames: np.ndarray) -> np.ndarray:
    mu = frames.mean(axis=(0, 1), keepdims=True)
    sd = frames.std(axis=(0, 1), keepdims=True)
    return (frames - mu) / np.where(sd > 0, sd, 1.0)


def _items_of(ds: WindowSet | StreamSet, block: int, rng: np.random.Generator) -> dict[str, Any]:
    """Vectors (n, frames, C) standardised, labels, group, and a held-back flag for streams (blocks)."""
    F = WINDOW_FRAMES.get(ds.name, 32)
    if isinstance(ds, WindowSet):
        frames = resample_windows(ds, F)
        return {
            "frames": _standardise(frames),
            "y": ds.y,
            "group": ds.group,
            "held": None,
            "order": np.arange(len(ds.y)),
        }
    hop = F // 2
    ends = np.arange(F - 1, len(ds.y), hop)
    start = ends - F + 1
    same = ds.y[start] == ds.y[ends]
    nb = -(-len(ds.y) // block)
    hb = np.repeat(rng.random(nb) < HOLD_FRAC, block)[: len(ds.y)]
    cum = np.concatenate([[0], np.cumsum(hb)])
    nh = cum[ends + 1] - cum[start]
    keep = same & ((nh == 0) | (nh == F))
    ends, start = ends[keep], start[keep]
    frames = np.stack([ds.X[a : b + 1] for a, b in zip(start, ends)]).astype(np.float64)
    return {
        "frames": _standardise(frames),
        "y": ds.y[ends],
        "group": ds.y[ends],
        "held": (nh[keep] == F),
        "order": np.arange(len(ends)),
    }


def _tasks(
    ds: WindowSet | StreamSet, protocol: str, labels: np.ndarray, group: np.ndarray, K: int, novel: int, seed: int
) -> np.ndarray:
    """Task index of every item (−1: not in the stream)."""
    rng = np.random.default_rng([seed, 4])
    if protocol == "drift":
        return np.zeros(len(labels), dtype=np.int64)
    if protocol == "domain":
        return np.unique(group, return_inverse=True)[1].astype(np.int64)
    if isinstance(ds, StreamSet):  # native segment order
        return labels.astype(np.int64)
    order = [c for c in rng.permutation(K) if c != novel]
    groups = np.array_split(np.array(order), CLASS_TASKS.get(ds.name, 3))
    lut = np.full(K, -1, dtype=np.int64)
    for t, g in enumerate(groups):
        lut[g] = t
    return lut[labels]


def window_set_stream(ds: WindowSet | StreamSet, protocol: str, seed: int, block: int = 200) -> Stream:
    """A stream of window vectors (no front end): see the module docstring."""
    if protocol not in SET_PROTOCOLS.get(ds.name, PROTOCOLS):
        raise ValueError(f"protocol {protocol!r} does not fit set {ds.name!r}")
    K = len(ds.classes)
    rng = np.random.default_rng([seed, 2])
    it = _items_of(ds, block, rng)
    labels = it["y"]
    novel = _novel_class(seed, list(range(K)) if not isinstance(ds, StreamSet) else list(range(1, K)))
    lut, names = _remap(ds.classes, novel)
    task = _tasks(ds, protocol, labels, it["group"], K, novel, seed)
    known = (labels != novel) & (task >= 0)
    held = it["held"] if it["held"] is not None else _stratified_hold(labels, task, known, rng)
    n_tasks = int(task[known].max()) + 1
    n_learn = int((known & ~held).sum())
    passes = int(np.clip(round(TARGET_STEPS / max(n_learn, 1)), 1, MAX_PASSES))
    steps: list[int] = []
    task_start = np.zeros(n_tasks, dtype=np.int64)
    for t in range(n_tasks):
        members = np.flatnonzero(known & (task == t))
        task_start[t] = len(steps)
        learn_m = members[~held[members]]
        for _ in range(passes):
            steps.extend(learn_m if isinstance(ds, StreamSet) else rng.permutation(learn_m))
    seq = np.asarray(steps, dtype=np.int64)
    n = len(seq)
    flat = it["frames"].reshape(len(labels), -1, ds.X.shape[-1])
    C = flat.shape[2]
    drift: tuple[np.ndarray, np.ndarray] | None = None
    regime_of_step = np.zeros(n, dtype=np.int64)
    if protocol == "drift":
        drift = _drift_params(np.random.default_rng([seed, 3]), 6, C, np.ones(C))
        regime_of_step = np.minimum(np.arange(n) * 6 // n, 5)

    def vec(idx: np.ndarray, regime: np.ndarray | int) -> np.ndarray:
        x = flat[idx]
        if drift is not None:
            gain, off = drift
            r = np.broadcast_to(regime, (len(idx),))
            x = x * gain[r][:, None, :] + off[r][:, None, :]
        return quantize_inputs(np.clip(x.reshape(len(idx), -1), -4.0, 4.0))

    hk = np.flatnonzero(known & held)
    first = hk[task_start[task[hk]] < n / 3]  # held-back windows of the tasks that start in the first third
    nov = np.flatnonzero(labels == novel)
    mid_regime = int(regime_of_step[min(n // 3, n - 1)])
    info = {
        "windows": int(len(labels)),
        "learned": n,
        "held_back": int(len(hk)),
        "held_first_third": int(len(first)),
        "novel_windows": int(len(nov)),
        "novel_class": ds.classes[novel],
        "passes": passes,
        "tasks": n_tasks,
        "frames": WINDOW_FRAMES.get(ds.name, 32),
    }
    return Stream(
        name=ds.name,
        protocol=protocol,
        seed=seed,
        X=vec(seq, regime_of_step),
        y=lut[labels[seq]],
        task=task[seq],
        third=n // 3,
        held_mid=(vec(first, mid_regime), lut[labels[first]]),
        held_end=(vec(first, 5), lut[labels[first]]),
        known_end=(vec(hk, 5), lut[labels[hk]]),
        novel_end=vec(nov, 5),
        classes=names,
        info=info,
    )


def _stratified_hold(labels: np.ndarray, task: np.ndarray, known: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """HOLD_FRAC_WINDOWS of each (task, class) cell, at least one where the cell has 3 or more windows."""
    held = np.zeros(len(labels), dtype=bool)
    for t in np.unique(task[known]):
        for c in np.unique(labels[known & (task == t)]):
            cell = rng.permutation(np.flatnonzero(known & (task == t) & (labels == c)))
            k = int(round(HOLD_FRAC_WINDOWS * len(cell)))
            k = max(k, 1) if len(cell) >= 3 else k
            held[cell[:k]] = True
    return held


def build_stream(
    data: str, name: str, protocol: str, seed: int, cache: dict | None = None, **hapt_options: Any
) -> Stream:
    """The stream of set ``name`` under ``protocol`` and ``seed``, read from the data pack ``data``.

    ``cache`` (a dict) keeps the sets read so far. ``hapt_options`` go to :func:`hapt_stream`.
    """
    if name in SKIPPED:
        raise ValueError(f"{name}: {SKIPPED[name]}")
    if protocol not in SET_PROTOCOLS.get(name, ()):
        raise ValueError(
            f"protocol {protocol!r} does not fit set {name!r} "
            f"(fits: {', '.join(SET_PROTOCOLS.get(name, ())) or 'none'})"
        )
    cache = {} if cache is None else cache
    if name not in cache:
        cache[name] = read_set(data, name)
    ds = cache[name]
    if isinstance(ds, RecordingSet):
        return hapt_stream(ds, protocol, seed, **hapt_options)
    return window_set_stream(ds, protocol, seed)
