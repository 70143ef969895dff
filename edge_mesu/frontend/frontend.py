"""The streaming front end: raw int16 samples in, one int8 vector per window out, resumable at any sample.

:class:`FrontEnd` is the integer pipeline a device runs (:mod:`edge_mesu.frontend.normalise`);
:class:`FloatFrontEnd` is its float64 reference with the same windowing, decimation and label handling.
Both keep their whole state (normaliser, decimation accumulator, the last window of decimated samples, the
countdown to the next window, the sample counter, the labels a window rule still needs) so that feeding a
recording in any number of chunks, with a save and a load anywhere between, gives the same outputs.

Schedule: raw sample i (0-based since the start) completes a decimated sample when (i + 1) % decimate ==
0; the first window ends at the ``window``-th raw sample, then one every ``hop`` samples; a window ending
before ``warmup`` samples have been seen is skipped (counted in ``counters["warmup_windows"]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..fixed.qformat import SaturationCounter
from ..fixed.rounding import div_round_even
from . import costs
from .normalise import normalise_windows, normaliser_run
from .reference import normalise_windows_float, normaliser_run_float
from .spec import FrontEndSpec, LabelRule

__all__ = ["FrontEnd", "FloatFrontEnd", "FrontEndOutput"]

_INT16_MIN, _INT16_MAX = -32768, 32767


@dataclass(frozen=True)
class FrontEndOutput:
    """Windows produced by one :meth:`FrontEnd.push`.

    values : ``(W, n_outputs)`` int8 (FrontEnd) or float64 in standard deviations (FloatFrontEnd).
    labels : ``(W,)`` int64 class of each window by the label rule, −1 when it has none.
    end : ``(W,)`` int64 index of each window's last raw sample, counted since the front end started.
    consumed : raw samples taken from the input (fewer than given only when ``max_windows`` stopped it).
    """

    values: np.ndarray
    labels: np.ndarray
    end: np.ndarray
    consumed: int

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _check_samples(samples: object, channels: int) -> np.ndarray:
    arr = np.asarray(samples)
    if arr.ndim == 1 and channels == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != channels:
        raise ValueError(f"samples must have shape (n, {channels}), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"samples must be integer ADC counts (int16 range), got dtype {arr.dtype}; "
            "scale and round float signals first"
        )
    if arr.size and (arr.min() < _INT16_MIN or arr.max() > _INT16_MAX):
        bad = arr[(arr < _INT16_MIN) | (arr > _INT16_MAX)][0]
        raise ValueError(f"samples must lie in the int16 range [-32768, 32767], got {int(bad)}")
    return arr.astype(np.int64)


def _check_labels(labels: object, n: int) -> np.ndarray:
    if labels is None:
        return np.full(n, -1, dtype=np.int64)
    arr = np.asarray(labels)
    if arr.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) like the samples, got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices (-1 = no label), got dtype {arr.dtype}")
    if arr.size and (arr.min() < -1 or arr.max() > 32766):
        raise ValueError(
            f"labels must be class indices in [0, 32766] or -1 (no label), got "
            f"{int(arr[(arr < -1) | (arr > 32766)][0])}"
        )
    return arr.astype(np.int64)


class _Core:
    """Windowing, decimation, schedule, labels and state; the subclasses supply the arithmetic."""

    _stat_dtypes: tuple[str, str]

    def __init__(self, spec: FrontEndSpec) -> None:
        if not isinstance(spec, FrontEndSpec):
            raise ValueError(f"spec must be a FrontEndSpec, got {type(spec).__name__}")
        self.spec = spec
        self.reset()

    def reset(self) -> None:
        """Forget everything: statistics, buffers, counters (the freeze switch is cleared too)."""
        s = self.spec
        self._m = np.zeros(s.channels, dtype=self._stat_dtypes[0])
        self._v = np.zeros(s.channels, dtype=self._stat_dtypes[1])
        self._k = 0
        self._acc = np.zeros(s.channels, dtype=np.int64)
        self._acc_n = 0
        self._history = np.zeros((s.frames, s.channels), dtype=np.int16)
        self._label_history = np.full(self._label_len(), -1, dtype=np.int16)
        self._countdown = s.frames
        self._seen = 0
        self._frozen = False
        self.counters = SaturationCounter()

    def new_recording(self) -> None:
        """Start a new recording: drop the partial window (samples, labels, decimation remainder) so the next
        window is made of the new recording's samples only; the normaliser's statistics, the counters and
        the freeze switch are kept."""
        s = self.spec
        self._acc = np.zeros(s.channels, dtype=np.int64)
        self._acc_n = 0
        self._history = np.zeros((s.frames, s.channels), dtype=np.int16)
        self._label_history = np.full(self._label_len(), -1, dtype=np.int16)
        self._countdown = s.frames

    def _label_len(self) -> int:
        return self.spec.window - 1 if self.spec.label_rule is LabelRule.MAJORITY else 0

    # -- switches and views --------------------------------------------------------------------------------------
    @property
    def frozen(self) -> bool:
        """True while the normaliser's statistics are frozen (it still normalises with them)."""
        return self._frozen

    def freeze(self, frozen: bool = True) -> None:
        """Stop (or, with ``False``, resume) updating the running mean and variance."""
        self._frozen = bool(frozen)

    @property
    def samples_seen(self) -> int:
        """Raw samples consumed since the front end started."""
        return self._seen

    @property
    def n_outputs(self) -> int:
        return self.spec.n_outputs

    # -- streaming -------------------------------------------------------------------------------------------
    def _schedule(self, n: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """(decimated count, decimated indices of window ends, their raw indices, kept-after-warm-up mask)."""
        s = self.spec
        nd = (self._acc_n + n) // s.decimate
        ends = np.arange(self._countdown - 1, nd, s.frame_hop, dtype=np.int64)
        raw = (ends + 1) * s.decimate - self._acc_n - 1
        return nd, ends, raw, self._seen + raw + 1 >= s.warmup

    def _decimate(self, x: np.ndarray, nd: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Decimated samples (nd, C), the new accumulator and its count."""
        d = self.spec.decimate
        if d == 1:
            return x, self._acc, 0
        rows = np.concatenate([self._acc[None, :], x])  # row 0 stands for the acc_n samples already summed
        starts = np.concatenate([[0], 1 + (d - self._acc_n) + d * np.arange(nd, dtype=np.int64)])
        if starts[-1] >= rows.shape[0]:  # the last block ends exactly at the end: the remainder is empty
            sums = np.concatenate(
                [np.add.reduceat(rows, starts[:-1], axis=0), np.zeros((1, x.shape[1]), dtype=np.int64)]
            )
        else:
            sums = np.add.reduceat(rows, starts, axis=0)
        dec = div_round_even(sums[:nd], d)
        return dec, sums[nd], (self._acc_n + x.shape[0]) % d

    def _window_labels(self, lab: np.ndarray, raw_end: np.ndarray) -> np.ndarray:
        if self.spec.label_rule is LabelRule.LAST:
            return lab[raw_end] if raw_end.size else np.zeros(0, dtype=np.int64)
        ext = np.concatenate([self._label_history.astype(np.int64), lab])
        out = np.full(raw_end.shape[0], -1, dtype=np.int64)
        for w, e in enumerate(raw_end):
            seen = ext[e : e + self.spec.window]  # the history holds the window − 1 labels before the chunk
            seen = seen[seen >= 0]
            if seen.size:
                out[w] = int(np.bincount(seen).argmax())  # ties: the smallest class
        return out

    def push(self, samples: object, labels: object = None, max_windows: int | None = None) -> FrontEndOutput:
        """Consume raw samples ``(n, channels)`` (and their class labels, −1 = none); return the windows.

        With ``max_windows`` it stops right after that many windows (``consumed`` says how far it got), so a
        caller can checkpoint between any two windows. Bad input raises ``ValueError`` before any change.
        """
        x = _check_samples(samples, self.spec.channels)
        lab = _check_labels(labels, x.shape[0])
        if max_windows is not None and (
            isinstance(max_windows, bool) or not isinstance(max_windows, int) or max_windows < 0
        ):
            raise ValueError(f"max_windows must be None or an integer >= 0, got {max_windows!r}")
        n = x.shape[0]
        nd, ends, raw, keep = self._schedule(n)
        if max_windows is not None and int(keep.sum()) > max_windows:
            n = int(raw[keep][max_windows - 1]) + 1 if max_windows else 0
            x, lab = x[:n], lab[:n]
            nd, ends, raw, keep = self._schedule(n)
        return self._commit(x, lab, nd, ends[keep], raw[keep], int((~keep).sum()))

    def _commit(
        self, x: np.ndarray, lab: np.ndarray, nd: int, ends: np.ndarray, raw: np.ndarray, skipped: int
    ) -> FrontEndOutput:
        s, n = self.spec, x.shape[0]
        counter = self.counters.copy()
        counter.add("input_limit", int(np.count_nonzero((x == _INT16_MIN) | (x == _INT16_MAX))))
        counter.add("warmup_windows", skipped)
        dec, acc, acc_n = self._decimate(x, nd)
        if self._frozen:
            m, v, k = self._m, self._v, self._k
            m_snap, v_snap = np.repeat(m[None], len(ends), 0), np.repeat(v[None], len(ends), 0)
        else:
            m, v, k, m_snap, v_snap = self._run_stats(dec, ends)
        ext = np.concatenate([self._history.astype(np.int64), dec])
        frames = (
            np.stack([ext[e + 1 : e + 1 + s.frames] for e in ends])
            if len(ends)
            else np.zeros((0, s.frames, s.channels), dtype=np.int64)
        )
        values = self._outputs(frames, m_snap, v_snap, counter)
        labels = self._window_labels(lab, raw)
        ext_lab = np.concatenate([self._label_history.astype(np.int64), lab])
        # commit: nothing above changed the state
        self._m, self._v, self._k = m.astype(self._m.dtype), v.astype(self._v.dtype), k
        self._acc, self._acc_n = acc, acc_n
        self._history = ext[ext.shape[0] - s.frames :].astype(np.int16)
        self._label_history = (
            ext_lab[ext_lab.shape[0] - self._label_len() :].astype(np.int16)
            if self._label_len()
            else self._label_history
        )
        self._countdown = (
            self._countdown - nd if nd < self._countdown else s.frame_hop - (nd - self._countdown) % s.frame_hop
        )
        end = self._seen + raw
        self._seen += n
        self.counters = counter
        return FrontEndOutput(values=values, labels=labels, end=end.astype(np.int64), consumed=n)

    # -- hooks -------------------------------------------------------------------------------------------------
    def _run_stats(self, dec: np.ndarray, ends: np.ndarray) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError

    def _outputs(
        self, frames: np.ndarray, m: np.ndarray, v: np.ndarray, counter: SaturationCounter
    ) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- budgets -------------------------------------------------------------------------------------------------
    def ram_bytes(self) -> int:
        """Bytes of device RAM the front end needs (see :func:`edge_mesu.frontend.costs.ram_bytes`)."""
        return costs.ram_bytes(self.spec)

    def cycles_per_sample(self) -> float:
        """Estimated cycles per learner sample (one window: ``hop`` raw samples plus the window's output)."""
        return costs.cycles(costs.operation_list(self.spec))

    def operation_list(self) -> list:
        """The front end's ops per window as :class:`edge_mesu.ops.Op` (for a device's own cost table)."""
        return costs.operation_list(self.spec)

    def state_nbytes(self) -> int:
        """Bytes of the persisted front-end state (the arrays of :meth:`state`)."""
        return int(sum(a.nbytes for a in self.state()[1].values()))

    # -- persistence ---------------------------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """``(meta, arrays)`` of the whole front-end state (copies; JSON-ready meta, no paths or times)."""
        meta = {
            "spec": self.spec.to_dict(),
            "k": self._k,
            "acc_n": self._acc_n,
            "countdown": self._countdown,
            "seen": self._seen,
            "frozen": self._frozen,
            "counters": self.counters.as_dict(),
        }
        arrays = {
            "mean": self._m.copy(),
            "var": self._v.copy(),
            "acc": self._acc.astype(np.int32),
            "history": self._history.copy(),
            "label_history": self._label_history.copy(),
        }
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> _Core:
        """Rebuild a front end from :meth:`state`; ``ValueError`` names any inconsistency."""
        obj = cls(FrontEndSpec.from_dict(meta["spec"]))
        s = obj.spec
        want = {
            "mean": (obj._m.dtype, (s.channels,)),
            "var": (obj._v.dtype, (s.channels,)),
            "acc": (np.dtype(np.int32), (s.channels,)),
            "history": (np.dtype(np.int16), (s.frames, s.channels)),
            "label_history": (np.dtype(np.int16), (obj._label_len(),)),
        }
        for name, (dtype, shape) in want.items():
            a = np.asarray(arrays[name])
            if a.dtype != dtype or a.shape != shape:
                raise ValueError(f"front-end array {name!r} is {a.dtype}{a.shape}, expected {dtype}{shape}")
        k, acc_n, countdown = int(meta["k"]), int(meta["acc_n"]), int(meta["countdown"])
        if not (0 <= k <= 1 << s.tau_log2 and 0 <= acc_n < s.decimate and 1 <= countdown <= max(s.frames, s.frame_hop)):
            raise ValueError(f"front-end counters out of range (k={k}, acc_n={acc_n}, countdown={countdown})")
        obj._m, obj._v = np.array(arrays["mean"]), np.array(arrays["var"])
        obj._acc, obj._acc_n, obj._k, obj._countdown = np.asarray(arrays["acc"], dtype=np.int64), acc_n, k, countdown
        obj._history, obj._label_history = np.array(arrays["history"]), np.array(arrays["label_history"])
        obj._seen, obj._frozen = int(meta["seen"]), bool(meta["frozen"])
        obj.counters = SaturationCounter({str(a): int(b) for a, b in meta["counters"].items()})
        return obj

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"


class FrontEnd(_Core):
    """The integer front end (int32 mean, int64 variance, int8 outputs in ``spec.out_fmt``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> raw = (1000 + 200 * rng.standard_normal((256, 3))).astype(np.int16)
    >>> fe = FrontEnd(FrontEndSpec(channels=3, window=32, hop=16))
    >>> out = fe.push(raw)
    >>> out.values.shape, out.values.dtype, out.end[:3].tolist()
    ((15, 96), dtype('int8'), [31, 47, 63])
    >>> float(fe.spec.out_fmt.dequantize(out.values[-1]).std()) > 0.5     # roughly unit variance
    True
    """

    _stat_dtypes = ("int32", "int64")

    def _run_stats(self, dec: np.ndarray, ends: np.ndarray) -> tuple:
        return normaliser_run(self._m, self._v, self._k, dec, self.spec.tau_log2, ends)

    def _outputs(self, frames: np.ndarray, m: np.ndarray, v: np.ndarray, counter: SaturationCounter) -> np.ndarray:
        if frames.shape[0] == 0:
            return np.zeros((0, self.spec.n_outputs), dtype=np.int8)
        return normalise_windows(frames, m, v, self.spec, counter)

    def to_float(self, values: np.ndarray) -> np.ndarray:
        """Outputs as the floats q · 2**−out_frac, exactly representable: a fixed learner's input
        quantisation maps them back to the same integers."""
        return self.spec.out_fmt.dequantize(values)


class FloatFrontEnd(_Core):
    """Float64 reference of :class:`FrontEnd` (same windows and labels; outputs not rounded)."""

    _stat_dtypes = ("float64", "float64")

    def _run_stats(self, dec: np.ndarray, ends: np.ndarray) -> tuple:
        return normaliser_run_float(self._m, self._v, self._k, dec, self.spec.tau_log2, ends)

    def _outputs(self, frames: np.ndarray, m: np.ndarray, v: np.ndarray, counter: SaturationCounter) -> np.ndarray:
        if frames.shape[0] == 0:
            return np.zeros((0, self.spec.n_outputs))
        return normalise_windows_float(frames, m, v, self.spec)

    def to_float(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)
