"""``edge-mesu demo``: the whole product on a stream the package generates, in well under a minute.

1. a 3-axis accelerometer stream of raw int16 ADC counts (several activities, slow gain drift, a class that
   appears half-way);
2. the integer sensor front end (windows, running normalisation, per-window features) feeds the fixed-point
   MESU learner, which learns prequentially (predict, then learn), with no task boundaries;
3. its uncertainty (mutual information over weight samples, in integers as the device computes it) flags the
   new class, then drops as it is learned;
4. the state (front end and learner) is saved (crash-safe file) and checked against a device's memory and
   latency budgets, front end included, at the stream's window rate (sensor rate / hop);
5. the mean network is exported to int8 ONNX and TFLite and compared with the package's own reference;
6. a plot (accuracy and mutual information over the stream, the new class marked) is written.

The report says which figures are measured (by running something here) and which are modelled; it ends with
the commands that do the same on the user's own recording.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu import SensorPipeline
from edge_mesu.data import make_sensor_stream
from edge_mesu.frontend import FrontEndSpec

from .plotting import pyplot, save_png

__all__ = ["run_demo", "DEMO_HIDDEN", "DEMO_FRONTEND"]

DEMO_HIDDEN = 32
#: the demo's front end: one window per generated 32-sample window, (mean, RMS, min, max) per axis; the rest
#: are FrontEndSpec's defaults (see docs/frontend.md for the measurements behind them)
DEMO_FRONTEND: dict[str, Any] = {"features": True}


def _make_pipeline(kind: str, stream: Any, seed: int) -> SensorPipeline:
    spec = FrontEndSpec(channels=stream.samples.shape[1], window=stream.window, **DEMO_FRONTEND)
    return SensorPipeline.create(
        spec,
        stream.class_names,
        fixed=kind == "fixed",
        hidden=(DEMO_HIDDEN,),
        seed=seed,
        channel_names=["x", "y", "z"],
        sample_rate_hz=stream.rate_hz,
    )


def _prequential(pipe: Any, stream: Any) -> dict[str, Any]:
    """Raw samples through the pipeline (predict, then learn), mutual information of every window.

    Returns per-window arrays aligned with the stream's windows (a window the front end skipped during its
    warm-up counts as wrong) and the learner inputs of every window.
    """
    n = stream.n_windows
    out = pipe.process(stream.samples, stream.labels, uncertainty="all")
    correct, mi = np.zeros(n, dtype=bool), np.full(n, np.nan)
    X = np.zeros((n, pipe.learner.n_features))
    idx = out.end // stream.window
    correct[idx], mi[idx], X[idx] = out.correct, out.mi, pipe.frontend.to_float(out.inputs)
    return {"correct": correct, "mi": mi, "X": X}


def _uncertainty_lines(res: dict[str, Any], y: np.ndarray, onset: int, late: int, name: str) -> list[str]:
    late_idx = np.flatnonzero(y == late)
    known_before = [i for i in range(max(0, onset - 200), onset) if y[i] != late]
    first, last = late_idx[:20], late_idx[-20:]
    mi, correct = res["mi"], res["correct"]
    return [
        f"new class {name!r} appears at window {onset} (mutual information, bits, 8 weight samples):",
        f"  known classes just before it      MI {np.nanmean(mi[known_before]):.3f}",
        f"  its first 20 windows (unlearned)  MI {np.nanmean(mi[first]):.3f}   "
        f"accuracy {100 * correct[first].mean():5.1f}%",
        f"  its last 20 windows (learned)     MI {np.nanmean(mi[last]):.3f}   "
        f"accuracy {100 * correct[last].mean():5.1f}%",
    ]


def run_demo(
    windows: int = 3000,
    seed: int = 0,
    out_dir: Path = Path("edge-mesu-demo"),
    device: str = "stm32l4",
    learner_kind: str = "fixed",
    export: bool = True,
    write: Callable[[str], Any] = print,
    plot: bool = True,
) -> int:
    """Run the demo, writing lines with ``write``; return 0 on success, 1 if a budget is violated."""
    stream = make_sensor_stream(n_windows=windows, seed=seed)
    pipe = _make_pipeline(learner_kind, stream, seed)
    learner, spec, y = pipe.learner, pipe.spec, stream.window_labels()
    late_name = stream.class_names[stream.late_class]
    write(
        f"edge-mesu demo: {windows} windows of {stream.window} raw int16 samples x 3 axes at "
        f"{stream.rate_hz:g} Hz, {stream.n_classes} classes ({', '.join(stream.class_names)}); gain drifts, "
        f"{late_name!r} appears at window {stream.late_onset_window}"
    )
    write(
        f"front end: window {spec.window}, hop {spec.hop}, running normalisation (time constant "
        f"2^{spec.tau_log2} samples, clip ±{spec.clip:g} std), "
        f"{'mean/RMS/min/max per axis' if spec.features else 'raw window'} -> {spec.n_outputs} int8 inputs "
        f"({spec.out_fmt.qstring}); {pipe.frontend.ram_bytes()} B RAM"
    )
    nbytes, n_params = learner.state_nbytes(), learner.n_params()
    write(
        f"learner: {type(learner).__name__} {'-'.join(map(str, pipe.learner.layers))}, {n_params:,} parameters, "
        f"learning state {nbytes:,} bytes ({nbytes / n_params:.1f} B/param)"
    )
    res = _prequential(pipe, stream)
    write("prequential accuracy (predict, then learn; no task boundaries) [measured]:")
    for block in np.array_split(np.arange(windows), 10):
        write(f"  windows {block[0]:5d}-{block[-1]:5d}  {100 * res['correct'][block].mean():5.1f}%")
    write(f"  overall {100 * res['correct'].mean():.1f}%")
    for line in _uncertainty_lines(res, y, stream.late_onset_window, stream.late_class, late_name):
        write(line)
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path = out_dir / "state.emsu"
    size = pipe.save(state_path)
    write(f"state saved to {state_path} ({size:,} bytes: learner and front end, CRC32-protected, written atomically)")
    if plot:
        _plot_step(res, y, stream, out_dir / "demo.png", write)
    X = res["X"]
    status, c_arena = _simulate_step(pipe, device, X, y, write)
    if export:
        _export_step(learner, X, y, out_dir, c_arena, write)
        _firmware_step(pipe, device, seed, write)
    for line in _next_steps(spec, device):
        write(line)
    return status


def _plot_step(res: dict[str, Any], y: np.ndarray, stream: Any, path: Path, write: Callable[[str], Any]) -> None:
    """Accuracy (running mean over 50 windows) and mutual information over the stream, the new class marked."""
    try:
        plt = pyplot("the demo's plot")
    except ImportError as exc:
        write(f"plot: not written ({exc})")
        return
    k = np.arange(len(y))
    acc = _trailing_mean(res["correct"].astype(float), 50)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    ax1.plot(k, 100 * acc, lw=1)
    ax1.set_ylabel("accuracy (%)\nlast 50 windows")
    ax1.set_ylim(0, 105)
    late = y == stream.late_class
    name = stream.class_names[stream.late_class]
    ax2.plot(k[~late], res["mi"][~late], ".", ms=2, alpha=0.5, label="known classes")
    ax2.plot(k[late], res["mi"][late], ".", ms=2, alpha=0.5, color="C3", label=f"new class {name!r}")
    ax2.plot(k, _trailing_mean(np.nan_to_num(res["mi"]), 50), color="k", lw=1, label="mean, last 50 windows")
    ax2.set_ylabel("mutual information (bits)")
    ax2.set_xlabel("window (prequential: predicted, then learned)")
    ax2.legend(loc="upper right", markerscale=4)
    for ax in (ax1, ax2):
        ax.axvline(stream.late_onset_window, color="C3", ls="--", lw=1)
    ax1.set_title(f"edge-mesu demo: the new class appears at window {stream.late_onset_window} (dashed)")
    fig.tight_layout()
    save_png(fig, path)
    write(f"plot: {path} (accuracy and mutual information over the stream, the new class marked)")


def _trailing_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Mean of the last ``n`` values at each point (fewer at the start)."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    k = np.arange(1, len(x) + 1)
    lo = np.maximum(0, k - n)
    return (c[k] - c[lo]) / (k - lo)


def _simulate_step(
    pipe: SensorPipeline, device: str, X: np.ndarray, y: np.ndarray, write: Callable[[str], Any]
) -> tuple[int, int]:
    """The budget check at the stream's window rate; (exit status, the C arena's bytes)."""
    import firmware_sim

    replica = SensorPipeline.from_bytes(pipe.to_bytes())  # the simulator runs a copy of the real learner
    rate_hz = pipe.window_rate_hz
    assert rate_hz is not None and pipe.sample_rate_hz is not None
    report = firmware_sim.simulate(
        replica.learner,
        firmware_sim.load_device(device),
        (X[:300], y[:300]),
        rate_hz=rate_hz,
        mode="learn",
        description=replica.describe(),
    )
    write(
        f"device budget: {device}, learning on the device at {rate_hz:.4g} windows/s (sensor "
        f"{pipe.sample_rate_hz:g} Hz / hop {pipe.spec.hop_samples} samples) [modelled]"
    )
    write(report.format_table())
    c_arena = int(report.ram.get("arena", 0))
    write("what is measured and what is modelled:")
    write("  measured (run here): accuracy and mutual information of the real learner on this stream, the state's")
    write("    bytes, and the table's 'stream' line (a copy of the learner predicting and learning 300 windows)")
    write("  modelled (computed, no hardware run): flash, RAM and latency, from firmware_sim's memory map of the")
    write(f"    generated C for {device} and a cycle table per operation, calibrated against instruction counts")
    write("    of the C on an emulated Cortex-M4")
    write(
        f"  utilisation = latency / window period = {report.us_per_step / 1000:.3g} ms every "
        f"{1000 / rate_hz:.4g} ms = {100 * report.utilisation:.2g} % of the CPU"
    )
    return (0 if report.ok else 1), c_arena


def _export_step(
    learner: Any, X: np.ndarray, y: np.ndarray, out_dir: Path, c_arena: int, write: Callable[[str], Any]
) -> None:
    try:
        import export

        calib, test = X[:500], slice(len(X) // 2, len(X))
        onnx_rep = export.to_onnx_int8(learner, out_dir / "model.int8.onnx", calibration=calib)
        tfl_rep = export.to_tflite_int8(learner, out_dir / "model.tflite", calibration=calib)
        fid = export.fidelity_report(learner, X[test], y[test], onnx_int8=onnx_rep.path, tflite=tfl_rep.path)
    except ImportError as exc:  # a missing extra names itself: pip install 'edge-mesu[onnx]' / [tflite]
        write(f"export: skipped ({exc})")
        return
    write(f"exported {onnx_rep.path} ({onnx_rep.size_bytes:,} B) and {tfl_rep.path} ({tfl_rep.size_bytes:,} B)")
    write(fid.format_table())
    from .arena import arena_figures, explain_arenas  # TFLM's measured arena beside firmware_sim's estimate

    for line in explain_arenas(arena_figures(tfl_rep.path), c_arena, fixed=learner.input_format is not None):
        write(line)


FIRMWARE_WINDOWS = 200


def firmware_stream(windows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """More of the demo's generated stream for a firmware run: int16 samples and class codes, labelled in
    alternate stretches of 20 windows (−1 elsewhere), so some windows are learned and some only predicted."""
    more = make_sensor_stream(n_windows=windows, seed=seed)
    codes = np.where((np.arange(len(more.labels)) // (20 * more.window)) % 2 == 0, more.labels, -1)
    return np.asarray(more.samples), codes


def _firmware_step(pipe: SensorPipeline, device: str, seed: int, write: Callable[[str], Any]) -> None:
    """The device library of the saved state, built for a Cortex-M4 and run on an emulated core over the
    next windows of the stream (half of them labelled), against the pipeline in Python."""
    from firmware_sim.calibration import cpi_of
    from firmware_sim.device import load_device
    from firmware_sim.emulate import emulator_available

    reason = emulator_available()
    prof = load_device(device)
    skip = None
    if pipe.learner.input_format is None:
        skip = "the float learner has no device C (run the demo with --learner fixed)"
    elif reason is not None:
        skip = reason
    else:
        try:
            cpi_of(prof)
        except ValueError:
            skip = f"{device} has a {prof.cpu} core; only Cortex-M4 code is emulated here"
    if skip is not None:
        write(f"firmware: skipped ({skip})")
        return
    from firmware_sim.firmware_run import run_firmware

    samples, codes = firmware_stream(FIRMWARE_WINDOWS, seed + 1)
    run = run_firmware(pipe, samples, codes, prof, save_every=25)
    ipw = run.split
    write(
        f"firmware [measured]: the device library of the saved state (what 'export --firmware' writes) built for "
        f"a Cortex-M4 and run on an emulated core over {run.windows} more windows: "
        f"{'bit-exact with the pipeline in Python' if run.bit_exact else 'NOT bit-exact with Python'} at every "
        f"window (prediction, mutual information, novelty flag) and in the final flash state"
    )
    write(
        f"  instructions per window {run.per_window:,.0f}: front end {ipw['front_end']:,.0f}, predict "
        f"{ipw['predict']:,.0f}, uncertainty {ipw['uncertainty'] or 0:,.0f} (MI over {run.uncertainty_samples} "
        f"weight samples, every window), learn {ipw['learn']:,.0f} (on {ipw['learned_fraction']:.0%} of windows); "
        f"novelty flag (MI >= {run.novelty_q16 / 65536:g} bit) on {sum(r[6] for r in run.rows)} windows"
    )
    if "energy_uj" in run.energy:
        e = run.energy
        write(
            f"  {device} [modelled]: {e['energy_uj']:.1f} uJ per window, {e['average_ua']:.1f} uA average, "
            f"{e['battery_years']:.2f} years on a CR2032 (the MCU alone)"
        )


def _next_steps(spec: FrontEndSpec, device: str) -> list[str]:
    """The same job on the user's own recording, command by command."""
    feats = " --features" if spec.features else ""
    return [
        "your own recording: a CSV with a header, one column of raw integer samples per axis and a label column",
        "(empty cells where unknown); the same front end and learner as this demo:",
        f"  edge-mesu learn --csv my.csv --channels ax,ay,az --label label --window {spec.window}{feats} "
        "--sensor-hz 50 --fixed --state my.emsu",
        f"  edge-mesu simulate --state my.emsu --device {device}",
        "  edge-mesu export --state my.emsu --tflite my.tflite --firmware my_firmware",
        "  edge-mesu emulate --state my.emsu --csv my.csv --label label --device "
        f"{device if device in ('stm32l4', 'nrf52840') else 'stm32l4'}",
        "  edge-mesu predict --csv new.csv --state my.emsu --label label > predictions.csv",
    ]
