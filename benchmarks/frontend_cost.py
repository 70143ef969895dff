"""Instructions per window of the C front end on an emulated Cortex-M4 against its cost model
(``edge_mesu.frontend.costs``), over a grid of specs, and the least-squares fit the model's
``MEASURED_INSTRUCTIONS`` come from.

Each spec runs 30 windows of the generated IMU stream (channels repeated as needed) after a Python front end
warmed the normaliser over 2**14 + 64 decimated samples (its state loaded into the device first): the
steady state a deployed device runs in.

    python benchmarks/frontend_cost.py --json benchmarks/results/frontend_cost.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.data import make_sensor_stream
from edge_mesu.frontend import FrontEnd, FrontEndSpec, costs
from edge_mesu.frontend.cblob import frontend_blob
from edge_mesu.frontend.spec import LabelRule
from firmware_sim.calibration import CPI
from firmware_sim.emulate_device import emulate_frontend

TERMS = ("sample", "sample_channel", "frame_channel", "output", "channel", "feature_value", "majority_label")


def specs() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in (1, 3, 6):
        for w, h, d in ((32, None, 1), (64, None, 1), (64, 16, 1), (64, None, 4), (64, 32, 2), (32, None, 2)):
            for f in (False, True):
                out.append({"channels": c, "window": w, "hop": h, "decimate": d, "features": f})
    return out + [{"channels": 3, "window": w, "label_rule": "majority"} for w in (32, 64)]


def units(spec: FrontEndSpec) -> dict[str, int]:
    """Units of work per window of each term of ``costs.MEASURED_INSTRUCTIONS``."""
    c = spec.channels
    return {
        "sample": spec.hop_samples,
        "sample_channel": spec.hop_samples * c,
        "frame_channel": spec.frame_hop * c,
        "output": spec.frames * c,
        "channel": c,
        "feature_value": spec.frames * c if spec.features else 0,
        "majority_label": spec.window if spec.label_rule is LabelRule.MAJORITY else 0,
    }


def measure(kw: dict[str, Any], base: np.ndarray, windows: int = 30) -> dict[str, Any]:
    spec = FrontEndSpec(**kw)
    majority = spec.label_rule is LabelRule.MAJORITY
    n_classes = 4 if majority else None
    wide = np.concatenate([base] * 3, axis=1)[:, : spec.channels]
    warm_n = (2**14 + 64) * spec.decimate
    warm = np.tile(wide, (-(-warm_n // len(wide)), 1))[:warm_n].astype(np.int16)
    fe = FrontEnd(spec)
    fe.push(warm, np.zeros(warm_n, dtype=np.int64) if majority else None)
    n = spec.window * windows
    x = wide[:n].astype(np.int16)
    labels = np.random.default_rng(0).integers(0, 4, n).astype(np.int32) if majority else None
    res = emulate_frontend(
        spec, x, labels=labels, n_classes=n_classes, count=True, initial_blob=frontend_blob(fe, n_classes)
    )
    measured = res.instructions / res.windows_counted
    model = costs.cycles(costs.operation_list(spec))
    return {"spec": kw, "instructions": measured, "model_cycles": model, "units": units(spec)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    base = np.asarray(make_sensor_stream(n_windows=300, seed=0).samples)
    cpi = CPI["cortex-m4"]
    rows = []
    print(f"{'spec':62s} {'instr/window':>12s} {'x CPI':>9s} {'model':>9s} {'ratio':>6s}")
    for kw in specs():
        r = measure(kw, base)
        r["ratio"] = r["model_cycles"] / (r["instructions"] * cpi)
        rows.append(r)
        spec_txt = ", ".join(f"{k}={v}" for k, v in kw.items() if v is not None)
        print(
            f"{spec_txt:62s} {r['instructions']:12,.0f} {r['instructions'] * cpi:9,.0f} "
            f"{r['model_cycles']:9,.0f} {r['ratio']:6.3f}"
        )
    X = np.array([[r["units"][t] for t in TERMS] for r in rows], dtype=float)
    y = np.array([r["instructions"] for r in rows])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    fit = X @ coef / y
    print("least-squares instructions per unit: " + ", ".join(f"{t} {v:.1f}" for t, v in zip(TERMS, coef)))
    print(
        f"fit / measured: {fit.min():.3f} .. {fit.max():.3f}; model cycles / (instructions x CPI {cpi}): "
        f"{min(r['ratio'] for r in rows):.3f} .. {max(r['ratio'] for r in rows):.3f}"
    )
    if args.json:
        out = {"cpi": cpi, "fit": dict(zip(TERMS, coef.tolist())), "rows": rows}
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
