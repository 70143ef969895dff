"""``edge-mesu emulate``: the exported device library over a recording on an emulated Cortex-M4.

Builds the library ``export --firmware`` writes (front end → predict and uncertainty → learn when labelled →
periodic save; its factory state is the state file's pipeline), runs it on unicorn one raw sample at a time,
runs the same pipeline in Python, and reports: bit-exact or not (every window — prediction, mutual information
and novelty flag included — and the final state), instructions per window by part, flash and RAM measured
against firmware_sim's model, energy per window and battery life.
Exit 0 bit-exact, 1 not bit-exact, 2 bad input or a missing tool.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from edge_mesu.errors import EdgeMesuError
from edge_mesu.statefile import atomic_write_bytes

from .device_uncertainty_args import add_uncertainty_arguments, check_uncertainty_options
from .outputs import check_file, user_error
from .recording import add_source_arguments, check_numbers, file_columns, open_recording

__all__ = ["add_commands", "handler"]


def add_commands(subparsers: Any) -> None:
    """Register ``emulate``."""
    p = subparsers.add_parser(
        "emulate",
        help="run the device library of a pipeline state on an emulated Cortex-M4 over a recording",
        description="Build the device library of a fixed-point pipeline state (what export --firmware writes) "
        "for a Cortex-M4, run it on an emulated core over a recording's raw samples, run the same pipeline "
        "in Python, and report: bit-exact at every window and in the final state, instructions per window "
        "by part, flash and RAM measured against firmware_sim's model, energy per window and battery life. "
        "Needs arm-none-eabi-gcc and unicorn (the emu extra). Exit 0 bit-exact, 1 not, 2 bad input.",
    )
    p.add_argument("--state", required=True, help="pipeline state file ('learn --fixed', the demo's)")
    add_source_arguments(p)
    p.add_argument("--device", default="stm32l4", help="device profile (a Cortex-M4 core; default stm32l4)")
    p.add_argument(
        "--save-every", dest="save_every", type=int, default=100, help="learned windows between saves (default 100)"
    )
    p.add_argument(
        "--max-windows",
        dest="max_windows",
        type=int,
        default=500,
        help="emulate at most this many windows (default 500; 0: the whole recording; about 1 ms per raw sample)",
    )
    p.add_argument(
        "--sensor-hz",
        dest="sensor_hz",
        type=float,
        default=None,
        help="sensor rate for the energy figures (default: the rate stored in the state)",
    )
    add_uncertainty_arguments(p)
    p.add_argument("--battery", default="CR2032", help="CR2032, CR2450, 2xAA or a capacity in mAh (default CR2032)")
    p.set_defaults(func=handler)


def _battery(text: str) -> str | float:
    from firmware_sim.energy import BATTERIES

    if text in BATTERIES:
        return text
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"--battery must be one of {', '.join(BATTERIES)} or a capacity in mAh > 0, got {text!r}")
    return value


def _checks(args: argparse.Namespace) -> tuple[Any, str | float]:
    """Every option and tool, before any work: ``(device, battery)``."""
    from firmware_sim.calibration import cpi_of
    from firmware_sim.device import load_device
    from firmware_sim.emulate import emulator_available

    if args.json:
        check_file(args.json, "--json")
    check_numbers(args)
    if args.freeze:
        raise ValueError("--freeze does not apply: the device runs the front end as the state saved it")
    if args.save_every < 0:
        raise ValueError(f"--save-every must be >= 0, got {args.save_every}")
    if args.max_windows < 0:
        raise ValueError(f"--max-windows must be >= 0, got {args.max_windows}")
    check_uncertainty_options(args)
    if args.sensor_hz is not None and not 0 < args.sensor_hz < float("inf"):
        raise ValueError(f"--sensor-hz must be > 0, got {args.sensor_hz}")
    battery = _battery(args.battery)
    device = load_device(args.device)
    try:
        cpi_of(device)  # a core this emulator runs
    except ValueError as exc:
        raise ValueError(f"--device {args.device}: {exc}") from None
    reason = emulator_available()
    if reason is not None:
        raise ValueError(f"emulate needs the Cortex-M toolchain and unicorn: {reason}")
    return device, battery


def _recording(args: argparse.Namespace, pipe: Any) -> tuple[np.ndarray, np.ndarray]:
    """The recording's samples and class codes (−1: none), cut after ``--max-windows`` windows."""
    channels = file_columns(args, pipe, lambda line: print(line, file=sys.stderr))
    xs, ls = [], []
    for chunk in open_recording(args, channels, args.label):
        xs.append(np.asarray(chunk.samples))
        n = len(chunk.samples)
        ls.append(np.full(n, None, dtype=object) if chunk.labels is None else np.asarray(chunk.labels, dtype=object))
    if not xs:
        raise ValueError("the recording has no rows")
    x = np.concatenate(xs)
    labels = np.concatenate(ls) if args.label else None
    codes = np.asarray(pipe.class_map.encode(labels, x.shape[0])[0], dtype=np.int64)
    if args.max_windows:
        probe = type(pipe).from_bytes(pipe.to_bytes())
        used = probe.frontend.push(x, codes, args.max_windows).consumed
        x, codes = x[:used], codes[:used]
    return x, codes


def _text(run: Any, how: str) -> list[str]:
    d = run.to_dict()
    ipw, mem, en = d["instructions_per_window"], d["memory"], d["energy"]
    boot = "from the factory state (the exported pipeline)" if run.boot == 1 else f"code {run.boot}"
    lines = [
        f"device: {run.device} (emulated Cortex-M4, arm-none-eabi-gcc -O2), {run.samples:,} raw samples, "
        f"{run.windows:,} windows; first boot {boot}",
        f"bit-exact with SensorPipeline: {'yes' if run.bit_exact else 'NO'} (windows "
        f"{'equal' if d['windows_equal'] else f'differ from window {run.first_mismatch}'}, final state "
        f"{'equal' if run.state_exact else 'differs'})",
        (
            f"uncertainty: mutual information over {run.uncertainty_samples} weight samples on "
            f"{'every window' if run.uncertainty_windows == 'all' else 'unlabelled windows'} "
            f"({ipw['scored_fraction']:.0%} of windows; compared bit-exact, Q16 bits); novelty flag (MI >= "
            f"{d['novelty_threshold_bits']:.4g} bits) on "
            f"{d['novel_windows']:,} of {run.windows:,} windows"
            if run.uncertainty_samples
            else "uncertainty: none (--uncertainty-samples 0)"
        ),
        f"instructions per window (measured): {ipw['total']:,.0f}",
    ]
    for part in ("front_end", "predict", "uncertainty", "learn", "save"):
        v = ipw[part]
        extra = {
            "uncertainty": f" (k = {run.uncertainty_samples} sampled forward passes) x {ipw['scored_fraction']:.0%} "
            "of windows",
            "learn": f" x {ipw['learned_fraction']:.0%} of windows",
            "save": f" x {ipw['saved_fraction']:.1%} of windows",
        }
        shown = "none" if v is None and part == "uncertainty" else ("n/a" if v is None else f"{v:,.0f}")
        lines.append(f"  {part.replace('_', ' '):<12} {shown}{extra.get(part, '') if v is not None else ''}")
    lines.append(f"  {'loop, rest':<12} {ipw['loop_and_rest']:,.0f}")
    m, mo = mem["measured"], mem["modelled"]
    lines.append(
        f"flash: measured {m['flash']:,} B (text + data of the library's objects) vs modelled {mo['flash']:,} B "
        f"({m['flash'] / mo['flash'] - 1:+.0%}); the two state slots in flash come on top"
    )
    lines.append(
        f"RAM: measured {m['ram']:,} B (data + bss + the device struct) vs modelled {mo['ram']:,} B "
        f"({m['ram'] / mo['ram'] - 1:+.0%}); stack not measured"
    )
    if "note" in en:
        lines.append(f"energy: {en['note']}")
    else:
        lines.append(
            f"energy (modelled: CPI {en['cpi']}, datasheet currents): {en['active_us']:,.0f} us active, "
            f"{en['energy_uj']:.1f} uJ per window; one window every {en['window_s'] * 1e3:.0f} ms ({how}) -> "
            f"{en['average_ua']:.1f} uA average, {en['battery_years']:.2f} years on {en['battery']} "
            "(the MCU alone: no sensor, radio or regulator)"
        )
    return lines


def handler(args: argparse.Namespace) -> int:
    """Run the emulation; print the report (and JSON); exit 0 bit-exact, 1 not, 2 bad input."""
    from edge_mesu.device.package import NOVELTY_THRESHOLD_BITS
    from edge_mesu.fixed.cgen import fixed_network
    from edge_mesu.loading import load_learner
    from edge_mesu.pipeline import SensorPipeline
    from firmware_sim.emulate import EmulatorUnavailableError
    from firmware_sim.firmware_run import run_firmware

    try:
        device, battery = _checks(args)
        pipe = load_learner(args.state)
        if not isinstance(pipe, SensorPipeline):
            raise ValueError(f"{args.state} holds a bare {type(pipe).__name__}: emulate needs a sensor-pipeline state")
        fixed_network(pipe.learner)
        x, codes = _recording(args, pipe)
        if args.sensor_hz is not None:
            window_s, how = (
                pipe.spec.hop_samples / args.sensor_hz,
                f"--sensor-hz {args.sensor_hz:g} / hop {pipe.spec.hop_samples}",
            )
        elif pipe.window_rate_hz:
            window_s, how = 1.0 / pipe.window_rate_hz, f"the state's sensor rate / hop {pipe.spec.hop_samples}"
        else:
            window_s, how = None, ""
        run = run_firmware(
            pipe,
            x,
            codes,
            device,
            args.save_every,
            window_s=window_s,
            battery=battery,
            uncertainty_samples=args.uncertainty_samples,
            novelty_threshold=NOVELTY_THRESHOLD_BITS if args.novelty_threshold is None else args.novelty_threshold,
            uncertainty_windows=args.uncertainty_windows,
        )
    except (ValueError, OSError, EdgeMesuError, EmulatorUnavailableError) as exc:
        print(f"error: {user_error(exc)}", file=sys.stderr)
        return 2
    for line in _text(run, how):
        print(line)
    if args.json:
        payload = {"state": args.state, **run.to_dict()}
        atomic_write_bytes(args.json, (json.dumps(payload, indent=1) + "\n").encode("utf-8"))
        print(f"wrote {args.json}")
    return 0 if run.bit_exact else 1
