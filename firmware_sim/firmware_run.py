"""The whole device library of a sensor pipeline on an emulated Cortex-M4, against the pipeline in Python.

:func:`run_firmware` writes the library of a fixed-point :class:`~edge_mesu.pipeline.SensorPipeline`
(:func:`edge_mesu.device.package.write_library`; its factory state is the pipeline's own), cross-compiles
it with ``arm-none-eabi-gcc -mcpu=cortex-m4 -O2`` and runs its device loop on unicorn, one raw sample per
push (:func:`firmware_sim.emulate_device.emulate_library`), while the same pipeline runs in Python. It
reports:

* **bit-exactness** at every window (end, prediction, label, learned, saved, the integer mutual information
  and the novelty flag) and of the final state bytes;
* **instructions per window** (measured): all pushes over the windows, and by part — the front end alone
  over the same samples, the learner's predict, uncertainty (k weight samples) and learn_one alone
  (:func:`firmware_sim.emulate.emulate`), a save as the difference between learned windows that save and
  those that do not, the rest (the device loop, copies) as what is left;
* **flash and RAM**: the library's objects measured with ``arm-none-eabi-size`` beside
  :func:`firmware_sim.memory.memory_map`'s model;
* **energy** per window and battery life from the profile's ``[power]`` currents (:mod:`firmware_sim.energy`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge_mesu.device.flash import SlotLayout, read_slots
from edge_mesu.device.package import NOVELTY_THRESHOLD_BITS, novelty_q16, pipeline_sources, write_library
from edge_mesu.fixed.cblob import state_blob
from edge_mesu.fixed.entropy import ENTROPY_FRAC
from edge_mesu.frontend.cblob import frontend_blob
from edge_mesu.pipeline import SensorPipeline

from .calibration import cpi_of
from .device import Device
from .emulate import emulate
from .emulate_device import Row, emulate_frontend, emulate_library
from .energy import window_energy
from .memory import memory_map

__all__ = ["FirmwareRun", "python_rows", "run_firmware"]

_LIB = "emsu_dev"


@dataclass(frozen=True)
class FirmwareRun:
    """What :func:`run_firmware` measured (instructions and bytes) and modelled (cycles, energy)."""

    device: str
    windows: int
    samples: int
    rows: list[Row]
    python: list[Row]
    state_exact: bool
    first_mismatch: int | None  # index of the first window that differs, None when all agree
    boot: int
    split: dict[str, float | None]  # instructions per window by part (measured); None where not separable
    per_window: float  # all pushes' instructions / windows (measured)
    memory: dict[str, dict[str, int]]  # {"measured": {...}, "modelled": {...}}
    energy: dict[str, Any] = field(default_factory=dict)
    uncertainty_samples: int = 0  # k of the device's uncertainty step (0: none)
    uncertainty_windows: str = "all"  # the windows it scores: "all" or "unlabelled"
    novelty_q16: int = 0  # the novelty flag's threshold, Q16 bits

    @property
    def bit_exact(self) -> bool:
        return self.first_mismatch is None and self.state_exact and len(self.rows) == len(self.python)

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "windows": self.windows,
            "samples": self.samples,
            "bit_exact": self.bit_exact,
            "windows_equal": self.first_mismatch is None and len(self.rows) == len(self.python),
            "state_equal": self.state_exact,
            "first_mismatch": self.first_mismatch,
            "boot": self.boot,
            "uncertainty_samples": self.uncertainty_samples,
            "uncertainty_windows": self.uncertainty_windows,
            "novelty_threshold_bits": self.novelty_q16 / (1 << ENTROPY_FRAC),
            "novel_windows": sum(r[6] for r in self.rows),
            "instructions_per_window": {"total": self.per_window, **self.split},
            "memory": self.memory,
            "energy": self.energy,
        }


def python_rows(
    pipe: SensorPipeline,
    samples: np.ndarray,
    codes: np.ndarray,
    save_every: int,
    uncertainty: bool = True,
    novelty: int | None = None,
    uncertainty_windows: str = "all",
) -> tuple[list[Row], bytes]:
    """``pipe`` (changed in place) over the samples: the device loop's rows and its final state bytes.

    ``uncertainty``: the library has an uncertainty step (with ``pipe.uncertainty_samples``); its rows then
    carry the integer MI (Q16 bits) and the flag MI >= ``novelty`` (Q16; default: the library's default
    threshold), else −1 and 0."""
    threshold = novelty_q16(NOVELTY_THRESHOLD_BITS) if novelty is None else novelty
    out = pipe.process(samples, codes, uncertainty=uncertainty_windows if uncertainty else "none")
    rows, since = [], 0
    for end, pred, label, learned, mi in zip(out.end, out.pred, out.label, out.learned, out.mi):
        since += int(learned)
        saved = int(save_every > 0 and since >= save_every)
        since = 0 if saved else since
        scored = uncertainty and not np.isnan(mi)
        mi_q = int(round(float(mi) * (1 << ENTROPY_FRAC))) if scored else -1  # exact: a multiple of 2**-16
        rows.append((int(end), int(pred), int(label), int(learned), saved, mi_q, int(scored and mi_q >= threshold)))
    n_classes = pipe.learner.n_classes
    return rows, state_blob(pipe.learner) + frontend_blob(pipe.frontend, n_classes)


def _split(
    res: Any, rows: list[Row], fe: float, predict: float, learn: float, uncertainty: float | None = None
) -> dict[str, float | None]:
    """Instructions per window by part: the front end, predict, uncertainty (× the windows it scored) and learn measured
    alone (same samples, same learner), save by difference between saving and non-saving learned windows,
    the rest the device loop."""
    counts = np.asarray(res.push_counts, dtype=np.float64)
    at = np.asarray(res.window_pushes, dtype=np.int64)
    w = counts[at]
    learned = np.array([r[3] for r in rows], dtype=bool)
    saved = np.array([r[4] for r in rows], dtype=bool)
    learn_only, with_save = w[learned & ~saved], w[saved]
    save = float(with_save.mean() - learn_only.mean()) if with_save.size and learn_only.size else None
    n = max(at.size, 1)
    per_window = float(counts.sum()) / n
    scored = np.array([r[5] >= 0 for r in rows], dtype=bool)  # mi_q16 is -1 where the step did not run
    scored_fraction = float(scored.sum()) / n if uncertainty is not None else 0.0
    parts = (
        fe
        + predict
        + (uncertainty or 0.0) * scored_fraction
        + learn * learned.sum() / n
        + (save or 0.0) * saved.sum() / n
    )
    return {
        "front_end": fe,
        "predict": predict,
        "uncertainty": uncertainty,  # None: the library has no uncertainty step
        "learn": learn,
        "save": save,
        "scored_fraction": scored_fraction,  # windows the uncertainty step ran on
        "learned_fraction": float(learned.sum()) / n,
        "saved_fraction": float(saved.sum()) / n,
        "loop_and_rest": per_window - parts,
    }


def _memory(res: Any, pipe: SensorPipeline, device: Device) -> dict[str, dict[str, int]]:
    sizes = res.object_sizes
    text = sum(v["text"] for v in sizes.values())
    data = sum(v["data"] for v in sizes.values())
    bss = sum(v["bss"] for v in sizes.values())
    struct = int(res.device_struct_bytes)
    mm = memory_map(pipe, device, "learn")
    flash = {k: v for k, v in mm.flash.items() if k != "state_image"}
    ram = {k: v for k, v in mm.ram.items() if k != "stack"}
    return {
        "measured": {
            "flash": text + data,
            "ram": data + bss + struct,
            "text": text,
            "data": data,
            "bss": bss,
            "device_struct": struct,
        },
        "modelled": {
            "flash": sum(flash.values()),
            "ram": sum(ram.values()),
            **flash,
            **{f"ram_{k}": v for k, v in ram.items()},
        },
    }


def run_firmware(
    pipe: SensorPipeline,
    samples: np.ndarray,
    codes: np.ndarray,
    device: Device,
    save_every: int = 100,
    window_s: float | None = None,
    battery: str | float = "CR2032",
    prog_unit: int = 8,
    uncertainty_samples: int | None = None,
    novelty_threshold: float = NOVELTY_THRESHOLD_BITS,
    uncertainty_windows: str = "all",
) -> FirmwareRun:
    """Run ``pipe``'s device library over int16 ``samples`` ``(n, channels)`` with class ``codes`` ``(n,)``
    (−1: none) on the emulated core of ``device``, and ``pipe`` itself (a copy) in Python.

    ``uncertainty_samples``: k of the library's uncertainty step (default ``pipe.uncertainty_samples``; 0:
    none); ``novelty_threshold``: its novelty flag's threshold in bits; ``uncertainty_windows``: ``"all"`` or
    ``"unlabelled"`` (the windows the step scores).

    ``window_s``: seconds between windows for the energy figures (default: the state's sensor rate / hop;
    none without it). Raises ``ValueError`` for a core that is not emulated, a pipeline without a fixed-point
    learner or a front end with no C form; ``EmulatorUnavailableError`` without the toolchain or unicorn.
    """
    cpi = cpi_of(device)
    n_classes = pipe.learner.n_classes
    ref = SensorPipeline.from_bytes(pipe.to_bytes())  # a copy: Python runs on it, the library is made of pipe
    k = pipe.uncertainty_samples if uncertainty_samples is None else int(uncertainty_samples)
    if k:
        ref.uncertainty_samples = k
    threshold = novelty_q16(novelty_threshold)
    sources, fe_blob = pipeline_sources(pipe)
    page = device.flash_write.page_bytes if device.flash_write is not None else 2048
    x = np.ascontiguousarray(samples, dtype=np.int16).reshape(-1, pipe.spec.channels)
    lab = np.asarray(codes, dtype=np.int64)
    with tempfile.TemporaryDirectory(prefix="edge_mesu_firmware_") as tmp:
        lib = write_library(
            Path(tmp) / _LIB,
            sources,
            name=_LIB,
            page_bytes=page,
            prog_unit=prog_unit,
            save_every=save_every,
            frontend_state=fe_blob,
            uncertainty_samples=k,
            novelty_threshold=novelty_threshold,
            uncertainty_windows=uncertainty_windows,
        )
        assert lib.slot_pages is not None and lib.config_hash is not None
        layout = SlotLayout(lib.page_bytes, lib.slot_pages, lib.prog_unit)
        res = emulate_library(
            lib.root, _LIB, pipe.spec.channels, n_classes, layout, lib.config_hash, x, lab, save_every,
            count=True, save_at_end=True,
        )  # fmt: skip
        flash_state = read_slots(res.flash, layout, lib.config_hash).payload
    py_rows, py_state = python_rows(
        ref, x, lab, save_every, uncertainty=k > 0, novelty=threshold, uncertainty_windows=uncertainty_windows
    )
    mismatch = next((i for i, (a, b) in enumerate(zip(res.rows, py_rows)) if a != b), None)
    if mismatch is None and len(res.rows) != len(py_rows):
        mismatch = min(len(res.rows), len(py_rows))
    fe = emulate_frontend(pipe.spec, x, lab, n_classes, initial_blob=fe_blob, count=True)
    alone = emulate(pipe.learner, steps=3, uncertainty_samples=k)  # predict, uncertainty, learn_one alone
    windows = max(len(res.rows), 1)
    split = _split(
        res, res.rows, fe.instructions / windows, alone.predict_mean, alone.learn_mean, alone.uncertainty_mean
    )
    per_window = float(np.sum(np.asarray(res.push_counts))) / windows
    energy: dict[str, Any] = {}
    period = window_s if window_s is not None else (1.0 / pipe.window_rate_hz if pipe.window_rate_hz else None)
    if device.power is None:
        energy = {"note": f"{device.name} has no [power] section: energy not modelled"}
    elif period is None:
        energy = {"note": "no sensor rate in the state (learn --sensor-hz) and none given: energy not modelled"}
    else:
        e = window_energy(per_window, device, period, cpi)
        energy = {**e.to_dict(), "cpi": cpi, "battery": battery, "battery_years": e.battery_years(battery)}
    return FirmwareRun(
        device=device.name,
        windows=len(res.rows),
        samples=int(x.shape[0]),
        rows=res.rows,
        python=py_rows,
        state_exact=flash_state == py_state,
        first_mismatch=mismatch,
        boot=res.boot,
        split=split,
        per_window=per_window,
        memory=_memory(res, pipe, device),
        energy=energy,
        uncertainty_samples=k,
        uncertainty_windows=uncertainty_windows,
        novelty_q16=threshold,
    )
