"""The result of a simulation: budgets, sections, latency, stream counts; as a dict (JSON) or a table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edge_mesu.errors import BudgetExceededError

__all__ = ["SimReport"]


def _b(n: float) -> str:
    return f"{int(n):,} B"


def _tflm_line(tflm: dict[str, Any]) -> str:
    """The TFLM arena: estimate beside measurement (two lines), and which one the RAM budget uses."""
    e, m = tflm["estimated"], tflm.get("measured")
    line = (
        f"TFLM arena:     estimated {_b(e['required'])} (bookkeeping {e['tail']:,} + max(activations "
        f"{e['head']:,}, prepare peak {e['prepare']:,}))"
    )
    if not m:
        return line + ", not measured"
    split = f" = head {m['head']:,} + tail {m['tail']:,}" if m.get("head") is not None else ""
    smallest = "smallest that runs; " if m.get("smallest") is not None else ""
    return (
        f"{line}\n{'':16}measured {_b(m['required'])} ({smallest}total {m['total']:,}{split}); "
        f"RAM budget uses the {tflm['budgeted']} arena"
    )


def _pct(share: float) -> str:
    """A share as a percentage with the digits that matter (0.0044 -> '0.44 %', 2.29 -> '229 %')."""
    pct = 100 * share
    return f"{pct:.0f} %" if pct >= 10 else f"{pct:.2g} %"


def _us(us: float) -> str:
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.1f} us"


@dataclass
class SimReport:
    """What :func:`firmware_sim.simulate` found. ``ok`` is true when every budget holds.

    ``ram``/``flash`` give bytes per section; ``cycles`` the cycles of each pass run per sample (``infer``,
    or ``predict`` + ``learn``, plus ``frontend``); ``top_ops`` the costliest ops; ``violations`` one message
    per violated budget, naming the budget and its largest consumer (and one if the real learner failed on
    the stream, ``learner_error``).
    """

    device: str
    description: str
    mode: str
    flash_bytes: int
    flash_budget: int
    ram_bytes: int
    ram_budget: int
    flash: dict[str, int]
    ram: dict[str, int]
    memory_plan: dict[str, Any]
    cycles_per_step: float
    us_per_step: float
    cycles: dict[str, float]
    top_ops: list[dict[str, Any]]
    rate_hz: float
    queue: int
    utilisation: float
    samples: int
    processed: int
    deadline_misses: int
    dropped: int
    max_waiting: int
    max_latency_us: float
    accuracy: float | None
    checkpoint_ms: float | None
    violations: list[str]
    learner_error: str | None = None
    sources: dict[str, str] = field(
        default_factory=lambda: {"flash": "modelled", "RAM": "modelled", "latency": "modelled"}
    )
    lateness_s: list[float] = field(default_factory=list, repr=False)
    waiting: list[int] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (per-sample traces left out)."""
        keys = (
            "device",
            "description",
            "mode",
            "flash_bytes",
            "flash_budget",
            "ram_bytes",
            "ram_budget",
            "flash",
            "ram",
            "memory_plan",
            "cycles_per_step",
            "us_per_step",
            "cycles",
            "top_ops",
            "rate_hz",
            "queue",
            "utilisation",
            "samples",
            "processed",
            "deadline_misses",
            "dropped",
            "max_waiting",
            "max_latency_us",
            "accuracy",
            "checkpoint_ms",
            "violations",
            "learner_error",
            "sources",
        )
        out = {k: getattr(self, k) for k in keys}
        out["ok"] = self.ok
        return out

    def raise_for_budget(self) -> None:
        """Raise :class:`edge_mesu.BudgetExceededError` listing the violations, if any."""
        if self.violations:
            raise BudgetExceededError("; ".join(self.violations))

    def _budget_rows(self) -> list[tuple[str, str, str, str]]:
        period_us = 1e6 / self.rate_hz
        lat_ok = self.utilisation <= 1.0 and self.deadline_misses == 0 and self.dropped == 0
        return [
            (
                "flash",
                _b(self.flash_bytes),
                _b(self.flash_budget),
                "ok" if self.flash_bytes <= self.flash_budget else "OVER",
            ),
            ("RAM", _b(self.ram_bytes), _b(self.ram_budget), "ok" if self.ram_bytes <= self.ram_budget else "OVER"),
            (
                "latency/sample",
                _us(self.us_per_step),
                f"{_us(period_us)} @ {self.rate_hz:g} Hz",
                f"{'ok' if lat_ok else 'OVER'} (utilisation {_pct(self.utilisation)})",
            ),
        ]

    def format_table(self) -> str:
        """A human-readable summary table."""
        lines = [
            f"firmware_sim: {self.device} ({self.description}), mode {self.mode}",
            f"{'budget':<16}{'used':>16}  {'limit':>22}  status",
        ]
        for name, used, limit, status in self._budget_rows():
            lines.append(f"{name:<16}{used:>16}  {limit:>22}  {status}")
        lines.append("RAM sections:   " + ", ".join(f"{k} {v:,}" for k, v in self.ram.items()))
        lines.append("flash sections: " + ", ".join(f"{k} {v:,}" for k, v in self.flash.items()))
        if self.memory_plan.get("tflm"):
            lines.append(_tflm_line(self.memory_plan["tflm"]))
        lines.append(
            "cycles/sample:  "
            + ", ".join(f"{k} {v:,.0f}" for k, v in self.cycles.items())
            + f" (total {self.cycles_per_step:,.0f})"
        )
        if self.top_ops:
            lines.append(
                "top ops:        " + ", ".join(f"{o['pass']}:{o['name']} {o['share']:.0%}" for o in self.top_ops[:4])
            )
        acc = "n/a" if self.accuracy is None else f"{self.accuracy:.3f}"
        lines.append(
            f"stream:         {self.samples} samples, {self.processed} processed, "
            f"{self.deadline_misses} deadline misses, {self.dropped} dropped (queue {self.queue}), "
            f"accuracy {acc}"
        )
        if self.checkpoint_ms is not None:
            lines.append(f"checkpoint:     {self.checkpoint_ms:,.1f} ms to persist the state to flash")
        lines.append("sources:        " + "; ".join(f"{k} {v}" for k, v in self.sources.items()) + "; stream measured")
        lines.append("result:         " + ("OK, every budget holds" if self.ok else "VIOLATED"))
        lines.extend(f"  - {v}" for v in self.violations)
        return "\n".join(lines)
