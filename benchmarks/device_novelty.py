"""The device's mutual information as a novelty score, measured on the emulated Cortex-M4 (issue 19, deliverable 2).

The demo's pipeline (front end: window 32, features; learner 12-32-5 fixed point) learns the demo's stream in
Python up to ``--start`` (200 windows before the late class 'tremor' appears at window 1500); its device library
(uncertainty over ``--samples`` weight samples, every window) then runs on the emulated core over the next
windows, every window labelled as in the demo (predict and score, then learn), against the pipeline in Python.
Reported: bit-exactness of every window (prediction, MI, novelty flag) and the final state; the AUROC of the
device's MI on the new class's first 10 / 20 / 50 windows against the known classes' windows just before it
appears; the novelty flag's rates at the default threshold. No instruction counting (see device_loop.py).
``--unlabelled-new N`` leaves the new class's first N windows unlabelled (a device meeting a class nobody has
named yet: it scores them but cannot learn them), the protocol of pure novelty detection.

    python benchmarks/device_novelty.py --json benchmarks/results/device_novelty.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from edge_mesu.data import make_sensor_stream
from edge_mesu.device.flash import SlotLayout
from edge_mesu.device.package import NOVELTY_THRESHOLD_BITS, novelty_q16, pipeline_sources, write_library
from edge_mesu.metrics import auroc
from edge_mesu.pipeline import SensorPipeline
from edge_mesu_app.demo import _make_pipeline
from firmware_sim.emulate_device import emulate_library
from firmware_sim.firmware_run import python_rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--start", type=int, default=1300, help="windows learned in Python first")
    ap.add_argument("--windows", type=int, default=500, help="windows on the emulated device")
    ap.add_argument("--samples", type=int, default=8, help="weight samples of the MI")
    ap.add_argument("--unlabelled-new", type=int, default=0, help="new-class windows left unlabelled first")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    stream = make_sensor_stream(n_windows=3000, seed=0)
    w = stream.window
    pipe = _make_pipeline("fixed", stream, 0)
    pipe.uncertainty_samples = args.samples
    pipe.process(stream.samples[: args.start * w], stream.labels[: args.start * w], uncertainty="none")
    lo, hi = args.start * w, (args.start + args.windows) * w
    x = np.asarray(stream.samples[lo:hi], dtype=np.int16)
    codes = np.asarray(pipe.class_map.encode(stream.labels[lo:hi], hi - lo)[0], dtype=np.int64)
    held = np.flatnonzero(stream.window_labels() == stream.late_class)[: args.unlabelled_new]
    codes[np.isin(np.arange(lo, hi) // w, held)] = -1  # the new class's first windows come without a label
    threshold = novelty_q16(NOVELTY_THRESHOLD_BITS)
    ref = SensorPipeline.from_bytes(pipe.to_bytes())
    sources, fe_blob = pipeline_sources(pipe)
    with tempfile.TemporaryDirectory() as tmp:
        lib = write_library(
            Path(tmp) / "dev", sources, name="dev", save_every=0, frontend_state=fe_blob,
            uncertainty_samples=args.samples,
        )  # fmt: skip
        assert lib.slot_pages is not None and lib.config_hash is not None
        layout = SlotLayout(lib.page_bytes, lib.slot_pages, lib.prog_unit)
        res = emulate_library(lib.root, "dev", 3, pipe.learner.n_classes, layout, lib.config_hash, x, codes, 0)
    py, _ = python_rows(ref, x, codes, 0, uncertainty=True, novelty=threshold)
    y = stream.window_labels()
    win = np.array([r[0] // w for r in res.rows])  # the stream's window (ends count from the pipeline's start)
    mi = np.array([r[5] for r in res.rows]) / 65536.0
    novel = np.array([r[6] for r in res.rows], dtype=bool)
    labels = y[win]
    onset, late = stream.late_onset_window, stream.late_class
    known = (labels != late) & (win >= onset - 200) & (win < onset)
    known_all = labels != late
    new_idx = np.flatnonzero(labels == late)
    out = {
        "windows": len(res.rows),
        "start": args.start,
        "uncertainty_samples": args.samples,
        "unlabelled_new": args.unlabelled_new,
        "bit_exact_windows": res.rows == py,
        "late_onset_window": onset,
        "known_windows_before_onset": int(known.sum()),
        "auroc": {f"first_{n}": auroc(mi[known], mi[new_idx[:n]]) for n in (10, 20, 50)},
        "mi_mean": {
            "known_before_onset": float(mi[known].mean()),
            **{f"new_first_{n}": float(mi[new_idx[:n]].mean()) for n in (10, 20, 50)},
        },
        "novelty_threshold_bits": threshold / 65536.0,
        "flagged": {
            "known_before_onset": float(novel[known].mean()),
            "known_all": float(novel[known_all].mean()),
            **{f"new_first_{n}": float(novel[new_idx[:n]].mean()) for n in (10, 20, 50)},
        },
        "seconds": time.perf_counter() - t0,
    }
    a, f = out["auroc"], out["flagged"]
    print(
        f"{out['windows']} windows on the emulated Cortex-M4 (from window {args.start}, the late class at {onset}), "
        f"k = {args.samples}, new class's first {args.unlabelled_new} windows unlabelled: bit-exact with "
        f"SensorPipeline {out['bit_exact_windows']}; AUROC of the device's MI, "
        f"new class vs the {out['known_windows_before_onset']} known windows before it: first 10 {a['first_10']:.3f}, "
        f"first 20 {a['first_20']:.3f}, first 50 {a['first_50']:.3f}; novelty flag (MI >= "
        f"{out['novelty_threshold_bits']:g} bit) on {f['known_all']:.0%} of known windows, "
        f"{f['new_first_10']:.0%} / {f['new_first_20']:.0%} / {f['new_first_50']:.0%} of the new class's first "
        f"10 / 20 / 50; {out['seconds']:.0f} s"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
