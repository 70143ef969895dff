"""``simulate``: memory map + latency + stream replay of the real learner, checked against device budgets."""

from __future__ import annotations

import itertools
import os
from typing import Any

from edge_mesu.interface import NetworkDescription

from .device import Device, load_device
from .latency import step_latency
from .measured import Measured
from .memory import MemoryMap, memory_map
from .report import SimReport
from .stream import QueueResult, check_queue, check_rate, iter_stream, replay_queue

__all__ = ["simulate", "budget_violations"]


def _top_ops(passes: dict, total: float, n: int = 8) -> list[dict[str, Any]]:
    rows = [dict(c.to_dict(), **{"pass": name}) for name, est in passes.items() for c in est.ops]
    rows.sort(key=lambda r: -r["cycles"])
    for r in rows:
        r["share"] = r["cycles"] / total if total else 0.0
    return rows[:n]


def budget_violations(mem: MemoryMap, device: Device, latency: dict, queue: QueueResult, rate_hz: float) -> list[str]:
    """One message per violated budget (flash, RAM, latency), each naming its largest consumer."""
    out = []
    for region, used, limit in (
        ("flash", mem.flash_bytes, device.flash_bytes),
        ("RAM", mem.ram_bytes, device.sram_bytes),
    ):
        if used > limit:
            name, size = mem.largest("flash" if region == "flash" else "ram")
            out.append(
                f"{region} budget exceeded on {device.name}: {used:,} B > {limit:,} B "
                f"(largest consumer: {name}, {size:,} B)"
            )
    utilisation = latency["us"] * rate_hz / 1e6
    if utilisation > 1.0 or queue.deadline_misses or queue.dropped:
        top = _top_ops(latency["passes"], latency["cycles"], 1)
        where = f"{top[0]['pass']}:{top[0]['name']}, {top[0]['share']:.0%} of cycles" if top else "n/a"
        out.append(
            f"latency budget exceeded on {device.name}: {latency['us']:,.1f} us per sample > "
            f"{1e6 / rate_hz:,.1f} us period at {rate_hz:g} Hz (utilisation {utilisation:.2f}; "
            f"{queue.deadline_misses} deadline misses, {queue.dropped} dropped; "
            f"largest consumer: {where})"
        )
    return out


class _Prequential:
    """Runs the real learner on each processed sample: predict (and score), then learn.

    A learner that raises an arithmetic error (e.g. a diverging float learner) is recorded and not called
    again; the replay's timing goes on, since it comes from the model, not from the learner.
    """

    def __init__(self, learner: Any, learn: bool) -> None:
        self.learner, self.learn = learner, learn
        self.correct = self.scored = self.seen = 0
        self.error: str | None = None

    def __call__(self, item: tuple[Any, Any]) -> None:
        x, y = item
        self.seen += 1
        if self.learn and y is None:
            raise ValueError("learn mode needs labels: the stream gave a sample with y=None")
        if self.error is not None:
            return
        try:
            pred = self.learner.predict_one(x)
            if self.learn:
                self.learner.learn_one(x, y)
        except ArithmeticError as exc:
            self.error = f"learner failed at processed sample {self.seen}: {type(exc).__name__}: {exc}"
            return
        if y is not None:
            self.scored += 1
            self.correct += int(pred == int(y))


def simulate(
    learner: Any,
    device: str | os.PathLike | Device,
    stream: Any,
    rate_hz: float,
    queue: int = 4,
    mode: str = "learn",
    max_samples: int | None = None,
    tflm_arena: Any = None,
    description: NetworkDescription | None = None,
    measured: Measured | None = None,
) -> SimReport:
    """Check ``learner`` against ``device``: will it fit, will it keep up with ``rate_hz``?

    Parameters
    ----------
    learner : an edge-mesu learner (:class:`~edge_mesu.interface.StreamingLearner`). In ``"learn"`` mode it
        is trained on the processed samples (prequentially: predict, then learn), in place.
    device : a :class:`Device`, a shipped profile name or the path of a TOML profile.
    stream : an iterable of ``(x, y)`` or a tuple of arrays ``(X, y)`` (``y`` may be None in infer mode).
    rate_hz : sensor rate; sample k arrives at ``k / rate_hz`` and must be done by the next arrival.
    queue : how many samples may wait while one is processed; arrivals beyond are dropped.
    mode : ``"learn"`` (state in RAM; predict + learn per sample) or ``"infer"`` (int8 mean weights in
        flash; the real learner's ``predict_one`` stands in for the int8 network's answers).
    max_samples : replay at most this many samples.
    tflm_arena : infer mode only: TFLM's measured arena for the exported network (bytes, or an
        :class:`export.tflm.ArenaMeasurement` / its dict); the memory map shows it beside the estimate and
        budgets the larger (see :func:`firmware_sim.memory_map`).
    description : what to cost (default ``learner.describe()``): e.g. a sensor pipeline's description, which
        adds its front end, or :func:`firmware_sim.assume_fixed_point` of a float learner's.
    measured : learn mode, a Cortex-M4 profile: figures of the firmware run on an emulated core
        (:class:`firmware_sim.measured.Measured`, from ``edge-mesu emulate --json``) replace the model's —
        instructions per window × the core's CPI (modelled), the library's flash and RAM; the state slots and
        the stack stay modelled. The report marks each figure (``sources``).

    Returns
    -------
    SimReport
    """
    rate = check_rate(rate_hz)
    bound = check_queue(queue)
    if mode not in ("learn", "infer"):
        raise ValueError(f"mode must be 'learn' or 'infer', got {mode!r}")
    if max_samples is not None and (
        isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 0
    ):
        raise ValueError(f"max_samples must be None or an integer >= 0, got {max_samples!r}")
    dev = load_device(device)
    desc = learner.describe() if description is None else description
    mem = memory_map(desc, dev, mode, tflm_arena=tflm_arena)
    lat = step_latency(desc, dev, mode)
    sources = {"flash": "modelled", "RAM": "modelled", "latency": "modelled"}
    if measured is not None:
        mem, lat, sources = _use_measured(measured, mem, lat, dev, mode)
    runner = _Prequential(learner, learn=(mode == "learn"))
    items = iter_stream(stream)
    if max_samples is not None:
        items = itertools.islice(items, max_samples)
    q = replay_queue(items, lat["us"] / 1e6, rate, bound, runner)
    report = _report(desc, dev, mode, mem, lat, q, runner, rate, bound)
    report.sources = sources
    return report


def _use_measured(m: Measured, mem: MemoryMap, lat: dict, dev: Device, mode: str) -> tuple[MemoryMap, dict, dict]:
    """The memory map and latency with ``m``'s figures in place of the model's (see :func:`simulate`)."""
    from .calibration import cpi_of

    if mode != "learn":
        raise ValueError("measured figures are of the learning device loop: use mode 'learn'")
    if not dev.cpu.startswith(m.core):
        raise ValueError(
            f"the measured instructions ran on an emulated {m.core}; {dev.name} has a {dev.cpu} core "
            "(simulate it without measured figures)"
        )
    cpi = cpi_of(dev)
    flash = {"library (measured)": m.flash_bytes}
    if "state_image" in mem.flash:
        flash["state_image"] = mem.flash["state_image"]
    ram = {"library (measured)": m.ram_bytes, "stack": mem.ram["stack"]}
    mem = MemoryMap(mem.mode, flash, ram, mem.plans, mem.tflm)
    cycles = {"predict": m.predict * cpi, "learn": m.learn * cpi}
    if m.uncertainty:
        cycles["uncertainty"] = m.uncertainty * cpi
    total = sum(cycles.values()) + m.frontend * cpi
    lat = {
        **lat,
        "measured_cycles": cycles,
        "frontend_cycles": m.frontend * cpi,
        "cycles": total,
        "us": total * 1e6 / dev.clock_hz,
    }
    sources = {
        "flash": f"library measured ({m.source}), state slots modelled",
        "RAM": f"library measured ({m.source}), stack modelled",
        "latency": f"instructions measured on an emulated {m.core} ({m.source}) x CPI {cpi} (modelled)",
    }
    return mem, lat, sources


def _report(
    desc: NetworkDescription,
    dev: Device,
    mode: str,
    mem: MemoryMap,
    lat: dict,
    q: QueueResult,
    runner: _Prequential,
    rate: float,
    bound: int,
) -> SimReport:
    cycles = dict(lat.get("measured_cycles") or {name: est.cycles for name, est in lat["passes"].items()})
    if lat["frontend_cycles"]:
        cycles["frontend"] = lat["frontend_cycles"]
    checkpoint = None
    if mode == "learn" and dev.flash_write is not None:
        checkpoint = dev.flash_write.persist_us(desc.state_nbytes) / 1000
    return SimReport(
        device=dev.name,
        description=dev.description,
        mode=mode,
        flash_bytes=mem.flash_bytes,
        flash_budget=dev.flash_bytes,
        ram_bytes=mem.ram_bytes,
        ram_budget=dev.sram_bytes,
        flash=dict(mem.flash),
        ram=dict(mem.ram),
        memory_plan=mem.plan_dict(),
        cycles_per_step=lat["cycles"],
        us_per_step=lat["us"],
        cycles=cycles,
        top_ops=[] if "measured_cycles" in lat else _top_ops(lat["passes"], lat["cycles"]),
        rate_hz=rate,
        queue=bound,
        utilisation=lat["us"] * rate / 1e6,
        samples=q.samples,
        processed=q.processed,
        deadline_misses=q.deadline_misses,
        dropped=q.dropped,
        max_waiting=q.max_waiting,
        max_latency_us=q.max_latency_s * 1e6,
        accuracy=runner.correct / runner.scored if runner.scored else None,
        checkpoint_ms=checkpoint,
        violations=budget_violations(mem, dev, lat, q, rate) + ([runner.error] if runner.error else []),
        learner_error=runner.error,
        lateness_s=q.lateness_s,
        waiting=q.waiting,
    )
