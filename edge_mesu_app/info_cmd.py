"""``edge-mesu info S``: what a state file holds, for a person deciding what to do with it next."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from edge_mesu.interface import NetworkDescription, describe
from edge_mesu.loading import load_learner
from edge_mesu.pipeline import SensorPipeline
from edge_mesu.statefile import load_state

__all__ = ["add_commands", "cmd_info", "state_info"]

DESCRIPTION = """\
Describe a state file: its kind, the learner's layers, number formats and size, the step count and
saturation counters; for a sensor pipeline also its channels, window and hop, sample rate and classes.
With --json, the same as JSON.
"""


def add_commands(subparsers: Any) -> None:
    """Register ``info`` on an argparse sub-parser collection."""
    p = subparsers.add_parser(
        "info",
        help="describe a state file (kind, layers, formats, bytes, front end, classes, counters)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("state", help="the state file (.emsu) to describe")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_info)


def _formats(desc: NetworkDescription) -> dict[str, Any]:
    if desc.fixed is None:
        return {"arithmetic": "float32" if desc.arithmetic.is_float else "integer", "bits": desc.arithmetic.to_dict()}
    plan, net = desc.fixed.plan, desc.fixed
    return {
        "arithmetic": "fixed point",
        "input": f"{plan.input_fmt.qstring} (int{plan.input_fmt.bits})",
        "activations": f"{plan.act_fmt.qstring} (int{plan.act_fmt.bits})",
        "mu": [f"{f.qstring} (int{f.bits})" for f in plan.mu_fmts],
        "sigma": f"uint{plan.sigma_bits} code, {plan.sigma_per_octave} per octave below {plan.sigma_max:g}",
        "rounding": net.rounding.value,
    }


def state_info(path: str) -> dict[str, Any]:
    """Everything ``info`` shows, as JSON-ready data."""
    loaded = load_learner(path)
    _kind, meta, arrays = load_state(path)
    desc = describe(loaded)
    learner = loaded.learner if isinstance(loaded, SensorPipeline) else loaded
    out: dict[str, Any] = {
        "path": str(path),
        "kind": type(loaded).__name__,
        "bytes": Path(path).stat().st_size,
        "learner": type(learner).__name__,
        "layers": list(desc.layers),
        "parameters": desc.n_params,
        "learning_state_bytes": desc.state_nbytes,
        "formats": _formats(desc),
        "step": int(learner.step),
        "saturation": dict(desc.fixed.counters) if desc.fixed is not None else None,
        "arrays": {name: f"{a.dtype.name} {tuple(a.shape)}" for name, a in arrays.items()},
    }
    if isinstance(loaded, SensorPipeline):
        spec, fe = loaded.spec, loaded.frontend
        out["frontend"] = {
            "channels": loaded.channel_names or spec.channels,
            "window": spec.window,
            "hop": spec.hop_samples,
            "decimate": spec.decimate,
            "output": "mean/RMS/min/max per channel" if spec.features else "the normalised window",
            "inputs": f"{spec.n_outputs} x {spec.out_fmt.qstring} (int8)",
            "normaliser": f"time constant 2^{spec.tau_log2} samples, clip ±{spec.clip:g} std, warmup {spec.warmup}",
            "frozen": fe.frozen,
            "samples_seen": fe.samples_seen,
            "state_bytes": fe.state_nbytes(),
            "saturation": fe.counters.as_dict(),
        }
        out["sample_rate_hz"] = loaded.sample_rate_hz
        out["window_rate_hz"] = loaded.window_rate_hz
        out["classes"] = loaded.classes
    else:
        out["init"] = meta.get("init", {})
    return out


def _text(info: dict[str, Any]) -> list[str]:
    f = info["formats"]
    if f["arithmetic"] == "fixed point":
        formats = (
            f"input {f['input']}, activations {f['activations']}, mu {' / '.join(f['mu'])}, sigma {f['sigma']}, "
            f"rounding {f['rounding']}"
        )
    else:
        formats = f["arithmetic"]
    lines = [
        f"{info['path']}: {info['kind']} state, {info['bytes']:,} bytes",
        f"learner:     {info['learner']} {'-'.join(map(str, info['layers']))}, {info['parameters']:,} parameters, "
        f"learning state {info['learning_state_bytes']:,} B, step {info['step']:,}",
        f"formats:     {formats}",
    ]
    if info["saturation"] is not None:
        lines.append(f"saturation:  learner {_counters(info['saturation'])}")
    fe = info.get("frontend")
    if fe is not None:
        chans = fe["channels"]
        names = ", ".join(chans) if isinstance(chans, list) else f"{chans} (unnamed)"
        rate = info["sample_rate_hz"]
        lines += [
            f"channels:    {names}",
            f"front end:   window {fe['window']}, hop {fe['hop']}, decimate {fe['decimate']}, {fe['output']} -> "
            f"{fe['inputs']}; {fe['normaliser']}; {'frozen' if fe['frozen'] else 'adapting'}; "
            f"{fe['samples_seen']:,} samples seen; state {fe['state_bytes']:,} B",
            "sample rate: "
            + (
                f"{rate:g} Hz -> {info['window_rate_hz']:.4g} windows/s"
                if rate is not None
                else "not recorded (give it with 'edge-mesu learn ... --sensor-hz HZ')"
            ),
            f"classes:     {', '.join(info['classes']) or '(none named yet)'}",
            f"saturation:  front end {_counters(fe['saturation'])}",
        ]
    else:
        lines.append(f"settings:    {json.dumps(info['init'], sort_keys=True)}")
    lines.append("arrays:      " + ", ".join(f"{k} {v}" for k, v in info["arrays"].items()))
    return lines


def _counters(counters: dict[str, int]) -> str:
    shown = {k: v for k, v in counters.items() if v}
    return ", ".join(f"{k} {v:,}" for k, v in shown.items()) if shown else "none"


def cmd_info(args: argparse.Namespace) -> int:
    info = state_info(args.state)
    print(json.dumps(info, indent=1) if args.json else "\n".join(_text(info)))
    return 0
