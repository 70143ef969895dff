"""Check the latency model against the generated C executed on an emulated Cortex-M4.

The emulator (:mod:`firmware_sim.emulate`) *measures* instructions per ``predict`` and ``learn_one``; it has
no timing. Cycles are *modelled* as instructions × a cycles-per-instruction figure of the core
(:data:`CPI`); the latency model (:func:`firmware_sim.estimate_latency`) is then compared with those cycles,
pass by pass. The cost numbers marked "calibrated against the emulator" in ``edge_mesu/ops.py`` and the
device profiles (the Cortex-M4 ones; the Cortex-M0+ rp2040's ``mac_int16``, ``alu`` on the weight-sampling
learn and ``alu_update_lrt`` on the LRT learn) were set on the 784-50-10 network; the 96-32-5 network (with
biases) is the independent check.

Example (skipped without the toolchain or unicorn)
-------
>>> rows = calibrate([((96, 32, 5), True)], device="stm32l4", steps=1)   # doctest: +SKIP
>>> {r.mode for r in rows}                                                 # doctest: +SKIP
{'predict', 'learn'}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .device import Device, load_device
from .emulate import EmulationResult, emulate
from .latency import estimate_latency

__all__ = ["CPI", "DEFAULT_NETWORKS", "CalibrationRow", "calibrate", "cpi_of", "emulated_cycles", "format_calibration"]

#: Cycles per executed instruction of the generated C, per core (``Device.cpu``). Estimate from the
#: Cortex-M4 TRM instruction timings and the instruction mix of the MESU kernels (mostly 1-cycle ALU and
#: multiplies incl. UMULL/SMLAL, LDR/LDRSH 2 cycles or 1 when pipelined, taken branches 1+P with P≈1-3,
#: IT-skipped instructions 1 each; code in flash behind ST's ART accelerator / nRF's cache, data in
#: zero-wait SRAM): 1.3. Cortex-M0+ (ARMv6-M, emulated since state format 2): 1.4 — ALU and single-cycle
#: MULS 1, LDR/STR 2, taken branches 2, code and data in SRAM (the RP2040 runs hot code from SRAM). Not
#: measured on hardware.
CPI: dict[str, float] = {"cortex-m4": 1.3, "cortex-m4f": 1.3, "cortex-m0plus": 1.4}

#: The two networks of the calibration: (layers, bias). The first sets the calibrated costs, the second
#: checks them.
DEFAULT_NETWORKS: tuple[tuple[tuple[int, ...], bool], ...] = (((784, 50, 10), False), ((96, 32, 5), True))
TOLERANCE = 0.25


def cpi_of(device: Device) -> float:
    """The documented CPI of ``device``'s core; ``ValueError`` for a core whose code is not emulated."""
    if device.cpu not in CPI:
        raise ValueError(
            f"no emulator CPI for core {device.cpu!r} ({device.name}); emulated cores: {', '.join(sorted(CPI))}"
        )
    return CPI[device.cpu]


def emulated_cycles(instructions: float, device: Device) -> float:
    """Modelled cycles of a measured instruction count on ``device``'s core."""
    return float(instructions) * cpi_of(device)


@dataclass(frozen=True)
class CalibrationRow:
    """One pass of one network: the model's cycles against emulated instructions × CPI."""

    layers: tuple[int, ...]
    bias: bool
    mode: str
    instructions: float  # measured (mean over the emulated steps)
    emulated_cycles: float  # instructions × CPI
    model_cycles: float  # firmware_sim's op-by-op estimate
    clock_hz: float
    sampling: str = "weights"  # the learn path: weight sampling or local reparameterisation

    @property
    def ratio(self) -> float:
        """model / emulated (1.0 = perfect agreement)."""
        return self.model_cycles / self.emulated_cycles

    @property
    def within(self) -> bool:
        return abs(self.ratio - 1.0) <= TOLERANCE

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "layers": list(self.layers),
            "ratio": self.ratio,
            "within_25pct": self.within,
            "emulated_ms": self.emulated_cycles / self.clock_hz * 1e3,
            "model_ms": self.model_cycles / self.clock_hz * 1e3,
        }


def calibrate(
    networks: Any = DEFAULT_NETWORKS,
    device: str | Device = "stm32l4",
    steps: int = 2,
    seed: int = 0,
    sampling: str | None = None,
) -> tuple[list[CalibrationRow], list[EmulationResult]]:
    """Emulate each ``(layers, bias)`` network and compare with the latency model on ``device``
    (``sampling``: the learners' learn step, ``"weights"`` or ``"lrt"``; None: the learner's default).

    Returns the rows (predict and learn per network) and the raw emulation results. Raises
    :class:`~firmware_sim.emulate.EmulatorUnavailableError` when the toolchain or unicorn is missing.
    """
    from edge_mesu.fixed import FixedMESULearner
    from edge_mesu.presets import DEFAULT

    dev = load_device(device)
    cpi_of(dev)
    cpu = "cortex-m0plus" if dev.cpu == "cortex-m0plus" else "cortex-m4"
    rows, results = [], []
    for layers, bias in networks:
        learner = FixedMESULearner(tuple(layers), bias=bool(bias), seed=seed, sampling=sampling or DEFAULT)
        res = emulate(learner, steps=steps, seed=seed, cpu=cpu)
        results.append(res)
        for mode, instr in (("predict", res.predict_mean), ("learn", res.learn_mean)):
            model = estimate_latency(learner, dev, mode).cycles
            rows.append(
                CalibrationRow(
                    tuple(layers),
                    bool(bias),
                    mode,
                    instr,
                    emulated_cycles(instr, dev),
                    model,
                    dev.clock_hz,
                    learner.sampling,
                )
            )
    return rows, results


def format_calibration(rows: list[CalibrationRow], device: str = "") -> str:
    """A table: measured instructions, emulated and modelled cycles and milliseconds, their ratio."""
    head = (
        f"{'network':>14s} {'pass':>8s} {'instr (meas.)':>14s} {'cycles emu':>12s} {'cycles model':>13s} "
        f"{'ms emu':>8s} {'ms model':>9s} {'model/emu':>9s}"
    )
    title = f"model vs emulator{' on ' + device if device else ''} (emulated cycles = instructions x CPI)"
    lines = [title, head]
    for r in rows:
        d = r.to_dict()
        net = "-".join(map(str, r.layers)) + ("" if r.bias else " nb")
        lines.append(
            f"{net:>14s} {r.mode:>8s} {r.instructions:14,.0f} {r.emulated_cycles:12,.0f} "
            f"{r.model_cycles:13,.0f} {d['emulated_ms']:8.2f} {d['model_ms']:9.2f} {r.ratio:8.2f}"
            f"{'' if r.within else ' !'}"
        )
    return "\n".join(lines)
