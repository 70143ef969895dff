"""Real sensor streams: prequential accuracy, retention, forgetting, novelty AUROC and speed of every learner.

``run_sensor_bench`` builds each (set, protocol, seed) stream once (:mod:`edge_mesu.bench.sensor_streams`)
and runs every learner on it:

- *prequential*: accuracy of predict-then-learn over the learned windows (mean weights);
- *retention*: accuracy at the end on the held-back windows of the first third (never learned);
- *forgetting*: accuracy on those windows when the first third ends, minus retention;
- *final*: accuracy at the end on every held-back window of a known class;
- *novelty_auroc*: AUROC of the mutual information (8 weight samples; SGD: the softmax entropy, it has no
  weight uncertainty) for the never-learned class against held-back windows of known classes;
  ``novelty_auroc_entropy`` is the entropy AUROC for every learner;
- *windows_per_s*: predict + learn per second over the stream (one process, this machine).

Learners: ``mesu`` (float, float32), ``fixed`` (FixedMESULearner, ``backend="c"``), ``sgd@LR`` and
``sgd-replay`` / ``sgd-replay@LR`` (SGD that also replays one window per step from a reservoir buffer
holding as many bytes of int8 windows + 1-byte labels as MESU's σ costs: one byte per parameter), and
``fixed-replay`` (the fixed learner with the same buffer: what rehearsal would add to MESU; it is not in the
default set and not what the device learner does).

    edge-mesu bench sensors --data ../shared/data/sensors --json out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.metrics import auroc
from edge_mesu.presets import PRESETS
from edge_mesu.registry import make_learner as registry_make_learner
from edge_mesu.statefile import atomic_write_bytes
from edge_mesu.uncertainty import entropy_bits

from .sensor_streams import SET_PROTOCOLS, SKIPPED, Stream, build_stream

DESCRIPTION = """\
Real sensor streams (the data pack's layout): every learner on every set and protocol that fits it
(domain-incremental by subject, class-incremental, gain/offset drift), raw samples through the integer
front end where the set has raw streams (hapt), window vectors elsewhere.

Metrics: prequential accuracy (predict, then learn), retention (accuracy at the end on held-back windows
of the first third), forgetting, final accuracy, novelty AUROC (mutual information on a class never
learned; SGD: softmax entropy) and windows per second.

Learners: mesu (float), fixed (fixed point), sgd@LR for each rate of the grid, and sgd-replay (SGD that
replays from a buffer of as many bytes as MESU's sigma costs: one byte per weight).

Example: edge-mesu bench sensors --data ../shared/data/sensors --json out.json
"""


__all__ = [
    "DESCRIPTION",
    "DEFAULT_LEARNERS",
    "Replay",
    "ReplaySGD",
    "SGD_GRID",
    "check_targets",
    "format_sensor_table",
    "make_learner",
    "run_learner",
    "run_sensor_bench",
    "format_targets",
    "add_arguments",
    "handler",
]

SGD_GRID = (0.003, 0.01, 0.03, 0.1)
REPLAY_LR = 0.03
DEFAULT_LEARNERS = ("mesu", "fixed", *(f"sgd@{lr:g}" for lr in SGD_GRID), "sgd-replay")
HIDDEN = (32,)
MI_SAMPLES = 8
METRICS = ("prequential", "retention", "forgetting", "final", "novelty_auroc", "novelty_auroc_entropy", "windows_per_s")
Factory = Callable[[int, int, int], Any]


class Replay:
    """``base`` plus a reservoir replay buffer of ``capacity_bytes`` (int8 window + 1-byte label per entry).

    Each ``learn_one`` takes a step on the new window, then one on a window drawn uniformly from the buffer
    (when it holds any), then offers the new window to the reservoir (Vitter's algorithm R). Everything else
    (``predict_one``, ``uncertainty``, ``params``, ...) is the base learner's.
    """

    def __init__(self, base: Any, n_in: int, capacity_bytes: int, seed: int = 0) -> None:
        self.base = base
        self.capacity = max(1, int(capacity_bytes) // (n_in + 1))
        self._X = np.zeros((self.capacity, n_in), dtype=np.float32)
        self._y = np.zeros(self.capacity, dtype=np.int64)
        self._n = 0
        self._seen = 0
        self._rng = np.random.default_rng([seed, 99])

    def learn_one(self, x: np.ndarray, y: int) -> None:
        self.base.learn_one(x, y)
        if self._n:
            j = int(self._rng.integers(self._n))
            self.base.learn_one(self._X[j], int(self._y[j]))
        if self._n < self.capacity:
            self._X[self._n], self._y[self._n] = x, y
            self._n += 1
        else:
            j = int(self._rng.integers(self._seen + 1))
            if j < self.capacity:
                self._X[j], self._y[j] = x, y
        self._seen += 1

    def __getattr__(self, name: str) -> Any:  # predict_one, predict_proba, params, ... of the base learner
        return getattr(self.__dict__["base"], name)


class ReplaySGD(Replay):
    """SGD plus a reservoir replay buffer of ``capacity_bytes`` (see :class:`Replay`)."""

    predict_samples = 0

    def __init__(self, layers: tuple[int, ...], lr: float, capacity_bytes: int, seed: int = 0) -> None:
        from edge_mesu.sgd import SGDLearner

        super().__init__(SGDLearner(layers=layers, lr=lr, seed=seed), layers[0], capacity_bytes, seed)

    @property
    def sgd(self) -> Any:
        return self.base


def make_learner(
    name: str,
    n_in: int,
    n_classes: int,
    seed: int,
    preset: str = "sensor",
    hidden: tuple[int, ...] = HIDDEN,
    **overrides: Any,
) -> Any:
    """A benchmark learner by name: ``mesu``, ``mesu-lrt``, ``fixed``, ``fixed-replay``, ``sgd@LR``,
    ``sgd-replay[@LR]``."""
    from edge_mesu.sgd import SGDLearner

    layers = (n_in, *hidden, n_classes)
    if name in ("mesu", "mesu-lrt"):
        return registry_make_learner(name, layers=layers, seed=seed, dtype="float32", preset=preset, **overrides)
    if name == "fixed":
        args: dict[str, Any] = {"preset": preset, "input_frac": 5, **overrides}
        c_ok = args.get("sigma_grad", "reparam") == "reparam" and args.get("train_samples", 1) == 1
        try:  # the C backend is bit-identical to numpy and faster, where the C port covers the configuration
            return registry_make_learner("fixed-c" if c_ok else "fixed", layers=layers, seed=seed, **args)
        except ValueError:
            if not c_ok:
                raise
            return registry_make_learner("fixed", layers=layers, seed=seed, **args)
    replay_bytes = sum((a + 1) * b for a, b in zip(layers[:-1], layers[1:]))  # one byte per parameter, as σ
    if name == "fixed-replay":  # the fixed learner given the same buffer as sgd-replay (not a device learner)
        fixed = make_learner("fixed", n_in, n_classes, seed, preset, hidden, **overrides)
        return Replay(fixed, n_in, replay_bytes, seed)
    if name.startswith("sgd-replay"):
        lr = float(name.split("@", 1)[1]) if "@" in name else REPLAY_LR
        return ReplaySGD(layers, lr=lr, capacity_bytes=replay_bytes, seed=seed)
    if name.startswith("sgd@"):
        return SGDLearner(layers=layers, lr=float(name[4:]), seed=seed)
    raise ValueError(
        f"unknown learner {name!r} (mesu, mesu-lrt, fixed, fixed-replay, sgd@LR, sgd-replay, sgd-replay@LR)"
    )


def _accuracy(m: Any, X: np.ndarray, y: np.ndarray) -> float:
    if len(y) == 0:
        return math.nan
    return float(np.mean(m.predict_proba(X, samples=0).argmax(axis=1) == y))


def _novelty(m: Any, stream: Stream) -> dict[str, float]:
    Xk, Xn = stream.known_end[0], stream.novel_end
    if len(Xk) == 0 or len(Xn) == 0:
        return {"novelty_auroc": math.nan, "novelty_auroc_entropy": math.nan}
    ent_k = entropy_bits(m.predict_proba(Xk, samples=0))
    ent_n = entropy_bits(m.predict_proba(Xn, samples=0))
    out = {"novelty_auroc_entropy": auroc(ent_k, ent_n)}
    if hasattr(m, "uncertainty") and not isinstance(m, ReplaySGD) and type(m).__name__ != "SGDLearner":
        mi_k = m.uncertainty(Xk, samples=MI_SAMPLES).epistemic
        mi_n = m.uncertainty(Xn, samples=MI_SAMPLES).epistemic
        out["novelty_auroc"] = auroc(mi_k, mi_n)
    else:
        out["novelty_auroc"] = out["novelty_auroc_entropy"]
    return out


def _finite(m: Any) -> bool:
    try:
        return all(np.all(np.isfinite(a)) and np.all(np.isfinite(b)) for a, b in m.params().values())
    except (AttributeError, FloatingPointError):
        return False


def run_learner(stream: Stream, factory: Factory, seed: int, curve_every: int = 0) -> dict[str, Any]:
    """Run one learner over one stream; its metrics (see the module docstring)."""
    m = factory(stream.n_features, stream.n_classes, seed)
    X, y = stream.X, stream.y
    n = len(y)
    pred = np.zeros(n, dtype=np.int64)
    mid = math.nan
    busy = 0.0
    diverged = None
    t0 = time.perf_counter()
    for i in range(n):
        if i == stream.third:
            busy += time.perf_counter() - t0
            mid = _accuracy(m, *stream.held_mid)
            t0 = time.perf_counter()
        pred[i] = m.predict_one(X[i])
        try:
            m.learn_one(X[i], int(y[i]))
        except FloatingPointError as exc:  # a learner that refuses a non-finite step: record and stop learning
            diverged = f"step {i}: {exc}"
            pred[i + 1 :] = -1
            break
    busy += time.perf_counter() - t0
    correct = pred == y
    res: dict[str, Any] = {
        "prequential": float(correct.mean()),
        "retention": _accuracy(m, *stream.held_end),
        "retention_mid": mid,
        "final": _accuracy(m, *stream.known_end),
        "windows_per_s": n / busy if busy > 0 else math.nan,
        "steps": n,
    }
    res["forgetting"] = res["retention_mid"] - res["retention"]
    res.update(_novelty(m, stream))
    if "emitted_first" in stream.info:  # hapt: the first third's windows as the front end emitted them
        res["retention_emitted"] = _accuracy(m, *stream.info["emitted_first"])
    res["finite"] = _finite(m) and diverged is None
    if diverged:
        res["diverged"] = diverged
    if curve_every:
        k = np.arange(curve_every, n + 1, curve_every)
        res["curve"] = [float(correct[max(0, j - curve_every) : j].mean()) for j in k]
    return res


def _summary(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in METRICS + ("retention_mid", "retention_emitted"):
        vals = np.array([r[key] for r in per_seed if key in r], dtype=np.float64)
        if vals.size:
            out[key] = float(np.nanmean(vals)) if np.isfinite(vals).any() else math.nan
            out[f"{key}_std"] = float(np.nanstd(vals)) if np.isfinite(vals).any() else math.nan
    out["finite"] = all(r.get("finite", False) for r in per_seed)
    out["seeds"] = per_seed
    return out


def _factories(learners: Sequence[str] | dict[str, Factory], preset: str) -> dict[str, Factory]:
    if isinstance(learners, dict):
        return dict(learners)
    return {name: _factory(name, preset) for name in learners}


def _factory(name: str, preset: str) -> Factory:
    def make(n_in: int, k: int, s: int) -> Any:
        return make_learner(name, n_in, k, s, preset=preset)

    return make


def run_sensor_bench(
    data_dir: str | Path,
    sets: Sequence[str] | None = None,
    protocols: Sequence[str] | None = None,
    learners: Sequence[str] | dict[str, Factory] = DEFAULT_LEARNERS,
    seeds: Sequence[int] = (0, 1, 2),
    json_path: str | Path | None = None,
    preset: str = "sensor",
    stream_options: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every learner on every (set, protocol) that fits, over ``seeds``; the JSON-ready result.

    ``learners``: names (see :func:`make_learner`) or ``{name: factory(n_in, n_classes, seed)}``.
    ``stream_options``: extra options of the hapt stream (``users``, ``freeze_after``, ``static``, ``spec``).
    """
    from edge_mesu.data.sensor_sets import list_sets

    avail = list_sets(data_dir)
    sets = [s for s in (sets or avail) if s in avail or s in SKIPPED]
    facs = _factories(learners, preset)
    cache: dict[str, Any] = {}
    result: dict[str, Any] = {
        "sets": {},
        "streams": {},
        "skipped": {},
        "meta": {
            "seeds": list(seeds),
            "preset": preset,
            "preset_args": {
                "rule": dataclasses.asdict(PRESETS[preset].rule),
                "options": dataclasses.asdict(PRESETS[preset].options),
            }
            if preset in PRESETS
            else None,
            "learners": list(facs),
            "hidden": list(HIDDEN),
            "mi_samples": MI_SAMPLES,
            "sgd_grid": list(SGD_GRID),
            "replay_lr": REPLAY_LR,
        },
    }
    for name in sets:
        if name in SKIPPED:
            result["skipped"][name] = SKIPPED[name]
            continue
        for prot in SET_PROTOCOLS.get(name, ()):
            if protocols and prot not in protocols:
                continue
            runs: dict[str, list] = {k: [] for k in facs}
            infos = []
            for seed in seeds:
                opts = (stream_options or {}) if name == "hapt" else {}
                stream = build_stream(str(data_dir), name, prot, seed, cache, **opts)
                infos.append({k: v for k, v in stream.info.items() if k != "emitted_first"})
                for lname, fac in facs.items():
                    r = run_learner(stream, fac, seed)
                    runs[lname].append(r)
                    if log:
                        log(
                            f"{name:>20s} {prot:6s} seed {seed} {lname:14s} preq {r['prequential']:.3f} "
                            f"ret {r['retention']:.3f} fgt {r['forgetting']:+.3f} auroc {r['novelty_auroc']:.3f} "
                            f"{r['windows_per_s']:.0f} w/s"
                        )
            result["sets"].setdefault(name, {})[prot] = {k: _summary(v) for k, v in runs.items()}
            result["streams"].setdefault(name, {})[prot] = infos
            if json_path:
                _write(result, json_path)
    if json_path:
        _write(result, json_path)
    return result


def _write(result: dict[str, Any], path: str | Path) -> None:
    atomic_write_bytes(path, json.dumps(_clean(result), indent=1).encode())


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not math.isfinite(float(obj)) else round(float(obj), 5)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _fmt(d: dict[str, Any], key: str, pct: bool = True) -> str:
    v, s = d.get(key), d.get(f"{key}_std")
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if pct:
        return f"{100 * v:.1f} ± {100 * (s or 0):.1f}"
    return f"{v:.3f} ± {s or 0:.3f}"


def format_sensor_table(result: dict[str, Any]) -> str:
    """A markdown table per (set, protocol): every learner's metrics, mean ± std over seeds (percent)."""
    lines = []
    for name, prots in result["sets"].items():
        for prot, learners in prots.items():
            lines += [
                f"\n{name} / {prot}",
                "",
                "| learner | prequential | retention | forgetting | final | novelty AUROC | windows/s |",
                "|---|---|---|---|---|---|---|",
            ]
            for lname, d in learners.items():
                wps = d.get("windows_per_s")
                flag = "" if d.get("finite", True) else " (non-finite!)"
                lines.append(
                    f"| {lname}{flag} | {_fmt(d, 'prequential')} | {_fmt(d, 'retention')} | "
                    f"{_fmt(d, 'forgetting')} | {_fmt(d, 'final')} | {_fmt(d, 'novelty_auroc', False)} | "
                    f"{wps:,.0f}{_spread(d.get('windows_per_s_std'))} |"
                    if wps
                    else "| — |"
                )
    for name, why in result.get("skipped", {}).items():
        lines.append(f"\n{name}: skipped ({why})")
    return "\n".join(lines)


def _spread(std: float | None) -> str:
    return f" ± {std:,.0f}" if std is not None and math.isfinite(std) else ""


def check_targets(cell: dict[str, Any], mesu: str = "fixed", floatname: str = "mesu") -> dict[str, Any]:
    """The issue's targets for one (set, protocol) cell ``{learner: summary}`` (means over seeds).

    dominates: every ``sgd@LR`` is >= 1 point below ``mesu`` on prequential or >= 5 points below on retention.
    best_lr: against the rate with SGD's best prequential, within 3 points on prequential and >= 10 ahead on
    retention. replay: retention above ``sgd-replay``'s. novelty: AUROC >= 0.8. parity: ``fixed`` within 1
    point of ``mesu`` (prequential and retention). finite: every run finite.
    """
    m = cell[mesu]
    sgd = {k: v for k, v in cell.items() if k.startswith("sgd@")}
    out: dict[str, Any] = {}
    if sgd:
        out["dominates"] = all(
            v["prequential"] <= m["prequential"] - 0.01 or v["retention"] <= m["retention"] - 0.05 for v in sgd.values()
        )
        best = max(sgd, key=lambda k: sgd[k]["prequential"])
        out["best_lr"] = best
        out["preq_gap"] = m["prequential"] - sgd[best]["prequential"]
        out["ret_gain"] = m["retention"] - sgd[best]["retention"]
        out["best_lr_ok"] = out["preq_gap"] >= -0.03 and out["ret_gain"] >= 0.10
    if "sgd-replay" in cell:
        out["replay_gap"] = m["retention"] - cell["sgd-replay"]["retention"]
        out["replay_ok"] = out["replay_gap"] > 0
        best_replay = max(v["retention"] for k, v in cell.items() if k.startswith("sgd-replay"))
        out["replay_best_gap"] = m["retention"] - best_replay  # against the replay rate that retains most
    auc = m.get("novelty_auroc")
    out["novelty_ok"] = auc is not None and not math.isnan(auc) and auc >= 0.8
    if floatname in cell and floatname != mesu:
        f = cell[floatname]
        out["parity_preq"] = abs(m["prequential"] - f["prequential"])
        out["parity"] = max(out["parity_preq"], abs(m["retention"] - f["retention"]))
        out["parity_ok"] = out["parity"] <= 0.01
    out["finite"] = all(cell[k].get("finite", True) for k in (mesu, floatname) if k in cell)  # the MESU runs
    out["baselines_diverged"] = sorted(
        k for k, v in cell.items() if k not in (mesu, floatname) and not v.get("finite", True)
    )
    return out


def format_targets(result: dict[str, Any]) -> str:
    """One row per (set, protocol): which targets the fixed learner meets (see :func:`check_targets`)."""
    lines = [
        "| set / protocol | dominates SGD curve | vs best-prequential SGD (Δpreq / Δret) | > replay on "
        "retention (Δ) | novelty ≥ 0.8 | fixed ≈ float (Δpreq / max Δ) | MESU finite |",
        "|---|---|---|---|---|---|---|",
    ]
    yn = {True: "yes", False: "**no**", None: "—"}
    for name, prots in result["sets"].items():
        for prot, cell in prots.items():
            if "fixed" not in cell:
                continue
            t = check_targets(cell)
            best = (
                (f"{yn[t.get('best_lr_ok')]} ({t['best_lr']}: {100 * t['preq_gap']:+.1f} / {100 * t['ret_gain']:+.1f})")
                if "best_lr" in t
                else "—"
            )
            rep = (
                (
                    f"{yn[t.get('replay_ok')]} ({100 * t['replay_gap']:+.1f}; best replay rate "
                    f"{100 * t['replay_best_gap']:+.1f})"
                )
                if "replay_gap" in t
                else "—"
            )
            par = (
                f"{yn[t.get('parity_ok')]} ({100 * t['parity_preq']:.1f} / {100 * t['parity']:.1f})"
                if "parity" in t
                else "—"
            )
            lines.append(
                f"| {name} / {prot} | {yn[t.get('dominates')]} | {best} | {rep} | "
                f"{yn[t['novelty_ok']]} ({cell['fixed'].get('novelty_auroc', float('nan')):.2f}) | {par} | "
                f"{yn[t['finite']]}"
                + (f" (diverged: {', '.join(t['baselines_diverged'])})" if t["baselines_diverged"] else "")
                + " |"
            )
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``edge-mesu bench sensors``."""
    p.add_argument("--data", required=True, help="the sensor data pack (e.g. ../shared/data/sensors)")
    p.add_argument("--sets", default=None, help="comma list (default: every set present)")
    p.add_argument("--protocols", default=None, help="comma list of domain,class,drift (default: all that fit)")
    p.add_argument("--learners", default=",".join(DEFAULT_LEARNERS), help="comma list of learners")
    p.add_argument("--seeds", default="0,1,2", help="comma list of seeds (default 0,1,2)")
    p.add_argument("--preset", default="sensor", choices=sorted(PRESETS), help="preset of the MESU learners")
    p.add_argument("--hapt-users", type=int, default=None, help="only this many hapt users (quick runs)")
    p.add_argument("--json", default=None, metavar="OUT.json", help="write the results here")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def handler(a: argparse.Namespace) -> int:
    """Run the benchmark; print the table and the target checks."""

    def split(s: str | None) -> list[str] | None:
        return [t.strip() for t in s.split(",") if t.strip()] if s else None

    opts = {"users": a.hapt_users} if a.hapt_users else None
    if a.json and not Path(a.json).resolve().parent.is_dir():
        raise ValueError(f"--json {a.json}: directory {Path(a.json).parent} does not exist")
    seeds = [int(s) for s in split(a.seeds) or []]
    res = run_sensor_bench(
        a.data,
        split(a.sets),
        split(a.protocols),
        split(a.learners) or list(DEFAULT_LEARNERS),
        seeds,
        a.json,
        preset=a.preset,
        stream_options=opts,
        log=None if a.quiet else (lambda s: print(s, file=sys.stderr, flush=True)),
    )
    print(format_sensor_table(res))
    print("\n" + format_targets(res))
    return 0
