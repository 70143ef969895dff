"""A negative result kept reproducible: the "labels trick" for streams on class-incremental sensor cells.

Class-incremental retention is near 0 for every learner without a buffer (docs/sensor_streams.md): the softmax
gradient of the classes being learned pushes the logits of every absent class down. The labels trick of
task-free Bayesian continual learning restricts the loss's softmax to the classes present; for a stream this
is a recency mask, the classes whose label was seen in the last W learning steps. This script wraps the
float MESU learner and SGD so their learning step sees the logits of inactive classes at -inf (prediction keeps
every class) and runs the class protocol of ``edge-mesu bench sensors``; W = 0 is the plain learner.

    python benchmarks/sensor_recency_mask.py --data ../shared/data/sensors \\
        --sets basic_motions,wiimote_pickup,japanese_vowels --windows 0,50,300 --learners mesu,sgd@0.03

Measured on 2026-12-07 (seeds 0-2): the mask lowers prequential accuracy and retention of MESU on all three
sets (basic_motions 97.3 / 61.1 -> 93.6 / 47.2 at W = 50, wiimote_pickup 90.3 / 37.0 -> 78.5 / 11.1,
japanese_vowels 97.2 / 16.8 -> 87.1 / 19.9) and SGD's retention on two of three; not adopted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

import edge_mesu.mesu as mesu_module
import edge_mesu.sgd as sgd_module
from edge_mesu_app.bench import sensors as bench

_ACTIVE: dict[str, np.ndarray | None] = {"mask": None}


def _masked(backward: Any) -> Any:
    def bw(weights: Any, acts: Any, logits: np.ndarray, y: np.ndarray, with_bias: bool) -> Any:
        mask = _ACTIVE["mask"]
        if mask is not None:
            logits = np.where(mask, logits, -1e30)
        return backward(weights, acts, logits, y, with_bias)

    return bw


class RecencyMasked:
    """A learner whose learning step sees only the classes labelled in the last ``window`` steps."""

    def __init__(self, learner: Any, n_classes: int, window: int) -> None:
        self.learner, self.window, self.t = learner, window, 0
        self.last = np.full(n_classes, -(10**9))

    def learn_one(self, x: np.ndarray, y: int) -> None:
        self.last[y] = self.t
        _ACTIVE["mask"] = (self.t - self.last) < self.window
        try:
            self.learner.learn_one(x, y)
        finally:
            _ACTIVE["mask"] = None
        self.t += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.learner, name)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="the sensor data pack (e.g. ../shared/data/sensors)")
    p.add_argument("--sets", default="basic_motions,wiimote_pickup,japanese_vowels")
    p.add_argument("--windows", default="0,50,300", help="recency windows W in learning steps (0: no mask)")
    p.add_argument("--learners", default="mesu,sgd@0.03", help="float learners of bench sensors (mesu, sgd@LR)")
    p.add_argument("--seeds", default="0,1,2")
    args = p.parse_args(argv)
    if not Path(args.data).is_dir():
        p.error(f"--data {args.data!r} is not a directory")
    try:
        windows = [int(w) for w in args.windows.split(",")]
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError as exc:
        p.error(f"--windows and --seeds take comma lists of integers ({exc})")
    mesu_module.backward = _masked(mesu_module.backward)  # type: ignore[assignment]
    sgd_module.backward = _masked(sgd_module.backward)  # type: ignore[assignment]
    cache: dict[str, Any] = {}
    print("| set | learner | W | prequential | retention | final |\n|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        for lname in args.learners.split(","):
            for w in windows:

                def make(n_in: int, k: int, s: int, lname: str = lname, w: int = w) -> Any:
                    m = bench.make_learner(lname, n_in, k, s)
                    return RecencyMasked(m, k, w) if w else m

                runs = [
                    bench.run_learner(bench.build_stream(args.data, name, "class", s, cache), make, s) for s in seeds
                ]
                pre, ret, fin = (100 * np.mean([r[k] for r in runs]) for k in ("prequential", "retention", "final"))
                print(f"| {name} | {lname} | {w} | {pre:.1f} | {ret:.1f} | {fin:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
