"""The fleet report: per-device metrics gathered from the shards, summarised as percentiles over devices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .config import FleetConfig

__all__ = ["aggregate", "format_fleet", "plot_fleet"]


def _pct(values: np.ndarray, prefix: str, digits: int = 4) -> dict[str, float | None]:
    """``{prefix_p5, prefix_p50, prefix_p95}`` over the finite values (None when there are none)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    out: dict[str, float | None] = {}
    for p in (5, 50, 95):
        out[f"{prefix}_p{p}"] = round(float(np.percentile(v, p)), digits) if v.size else None
    return out


def _cat(reports: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.concatenate([np.asarray(r[key]) for r in reports])


def _counters(reports: list[dict[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for r in reports:
        for k, v in r["counters"].items():
            total[k] = total.get(k, 0) + int(v)
    return dict(sorted(total.items()))


def _ratio(num: np.ndarray, den: np.ndarray) -> float | None:
    return round(float(num.sum() / den.sum()), 4) if den.sum() else None


def aggregate(config: FleetConfig, reports: list[dict[str, Any]], **run: Any) -> dict[str, Any]:
    """The JSON-ready fleet report (see docs/fleet.md for every key)."""
    order = np.argsort(_cat(reports, "index"))
    get = {
        k: _cat(reports, k)[order]
        for k in (
            "accuracy",
            "deadline_misses",
            "dropped",
            "peak_ram",
            "over_budget",
            "detect_delay",
            "learned_delay",
            "unseen_sum",
            "unseen_n",
            "seen_sum",
            "seen_n",
            "processed",
            "rate_hz",
        )
    }
    blocks = np.concatenate([r["block_accuracy"] for r in reports])[order]
    rate = get["rate_hz"]
    detected = np.isfinite(get["detect_delay"])
    unseen_dev = np.where(get["unseen_n"] > 0, get["unseen_sum"] / np.maximum(get["unseen_n"], 1), np.nan)
    out: dict[str, Any] = {
        "devices": config.devices,
        "samples_per_device": config.samples,
        "device": config.device,
        "rate_hz": config.rate,
        "fuse_every": config.fuse_every,
        "seed": config.seed,
        **_pct(get["accuracy"], "accuracy"),
        "accuracy_over_time": [{"block": i, **_pct(blocks[:, i], "accuracy")} for i in range(blocks.shape[1])],
        "deadline_misses_total": int(get["deadline_misses"].sum()),
        **_pct(get["deadline_misses"], "deadline_misses"),
        "dropped_total": int(get["dropped"].sum()),
        "devices_over_budget": int(get["over_budget"].sum()),
        **_pct(get["peak_ram"], "peak_ram_bytes", 0),
        "novelty_detected_fraction": round(float(detected.mean()), 4),
        **_pct(get["detect_delay"], "novelty_detect_delay"),
        **_pct(get["detect_delay"] / rate, "novelty_detect_delay_s"),
        "novelty_learned_fraction": round(float(np.isfinite(get["learned_delay"]).mean()), 4),
        **_pct(get["learned_delay"], "novelty_learned_delay"),
        "unseen_class_accuracy": _ratio(get["unseen_sum"], get["unseen_n"]),
        **_pct(unseen_dev, "unseen_class_accuracy"),
        "seen_class_accuracy": _ratio(get["seen_sum"], get["seen_n"]),
        "service_us": round(float(reports[0]["service_us"]), 2),
        "flash_bytes": int(reports[0]["flash_bytes"]),
        "ram_budget": int(reports[0]["ram_budget"]),
        "device_samples": int(get["processed"].sum()),
        "counters": _counters(reports),
        **run,
    }
    out["shard_cpu_s"] = [round(float(r["cpu_s"]), 2) for r in sorted(reports, key=lambda r: int(r["index"][0]))]
    wall = run.get("wall_s")
    if wall:
        out["device_samples_per_s"] = round(out["device_samples"] / wall, 1)
    return out


def format_fleet(report: dict[str, Any]) -> str:
    """A short human-readable summary of a fleet report."""

    def f(key: str, scale: float = 1.0, fmt: str = "{:.1f}") -> str:
        vals = [report.get(f"{key}_p{p}") for p in (5, 50, 95)]
        return " / ".join("n/a" if v is None else fmt.format(v * scale) for v in vals)

    unseen = report.get("unseen_class_accuracy")
    lines = [
        f"fleet: {report['devices']} devices x {report['samples_per_device']} windows on {report['device']} at "
        f"{report['rate_hz']:g} Hz (fuse every {report['fuse_every'] or 'never'}), "
        f"service {report['service_us']:.0f} us/window",
        "percentiles over devices          p5 / p50 / p95",
        f"  prequential accuracy (%)        {f('accuracy', 100)}",
        f"  deadline misses                 {f('deadline_misses', 1, '{:.0f}')}   (total "
        f"{report['deadline_misses_total']}, dropped {report['dropped_total']})",
        f"  peak RAM (bytes)                {f('peak_ram_bytes', 1, '{:.0f}')}   (budget {report['ram_budget']:,})",
        f"  late class flagged after (win)  {f('novelty_detect_delay', 1, '{:.0f}')}   "
        f"(flagged on {100 * report['novelty_detected_fraction']:.0f}% of devices)",
        f"  late class learned after (win)  {f('novelty_learned_delay', 1, '{:.0f}')}   "
        f"(learned on {100 * report['novelty_learned_fraction']:.0f}% of devices)",
        f"  accuracy on classes not yet seen by the device: "
        f"{'n/a' if unseen is None else f'{100 * unseen:.1f}%'}"
        f"  (seen classes {100 * (report['seen_class_accuracy'] or 0):.1f}%)",
        f"devices over budget: {report['devices_over_budget']}; "
        f"{report['device_samples']:,} device-samples in {report.get('wall_s', 0):.1f} s"
        f" ({report.get('device_samples_per_s', 0):,.0f}/s, {report.get('workers')} worker(s), "
        f"{report.get('backend')})",
    ]
    return "\n".join(lines)


def plot_fleet(report: dict[str, Any], path: str | Path) -> Path:
    """Prequential accuracy over time (p5-p95 band and median over devices) as a PNG."""
    from ..plotting import pyplot, save_png

    plt = pyplot("--plot")
    rows = report["accuracy_over_time"]
    x = np.arange(len(rows)) + 0.5
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.fill_between(
        x, [r["accuracy_p5"] for r in rows], [r["accuracy_p95"] for r in rows], alpha=0.3, label="p5-p95 over devices"
    )
    ax.plot(x, [r["accuracy_p50"] for r in rows], marker="o", label="median")
    ax.set_xlabel(f"time block (of {len(rows)})")
    ax.set_ylabel("prequential accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"{report['devices']} devices, fuse every {report['fuse_every'] or 'never'}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    out = Path(path)
    save_png(fig, out)
    return out
