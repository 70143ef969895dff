"""A shard: one worker's contiguous range of devices, stepped window by window as one vectorised fleet.

The shard owns its devices' streams, timing (firmware_sim's queue replay at each device's own rate), the
batched learner and the metrics. The coordinator (:mod:`edge_mesu_app.fleet.engine`) drives it in rounds:
``advance(T)``, then optionally the fusion calls ``exponents`` / ``sums`` / ``set_state``, and finally
``report``. Every method's result is plain numpy data (cheap to send between processes or Ray actors).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from edge_mesu.fleet.batched import Fleet
from edge_mesu.fleet.fusion import FusionTables

from .config import FleetConfig
from .streams import device_seed, device_stream, device_variant, probe_set

__all__ = ["ShardRunner", "novelty_delays"]


def _marker(mask: np.ndarray) -> Callable[[int], None]:
    """The replay's processing callback: mark sample k of ``mask`` as processed."""

    def mark(k: int) -> None:
        mask[k] = True

    return mark


def _timing(config: FleetConfig, template: Any, rate_factors: np.ndarray) -> dict[str, Any]:
    """Service time from firmware_sim's latency model and each device's queue replay at its own rate."""
    from firmware_sim import load_device, memory_map, replay_queue, step_latency

    dev = load_device(config.device)
    service_s = step_latency(template, dev, "learn")["us"] / 1e6
    mem = memory_map(template, dev, "learn")
    processed = np.zeros((rate_factors.size, config.samples), dtype=bool)
    misses, dropped, waiting = (np.zeros(rate_factors.size, dtype=np.int64) for _ in range(3))
    for i, f in enumerate(rate_factors):
        q = replay_queue(range(config.samples), service_s, config.rate * float(f), config.queue, _marker(processed[i]))
        misses[i], dropped[i], waiting[i] = q.deadline_misses, q.dropped, q.max_waiting
    return {
        "processed": processed,
        "misses": misses,
        "dropped": dropped,
        "max_waiting": waiting,
        "service_us": service_s * 1e6,
        "ram": mem.ram_bytes,
        "flash": mem.flash_bytes,
        "ram_budget": dev.sram_bytes,
        "flash_budget": dev.flash_bytes,
    }


class ShardRunner:
    """Devices ``start..stop-1`` of a fleet (see the module docstring)."""

    def __init__(self, config: FleetConfig, start: int, stop: int) -> None:
        if not 0 <= start < stop <= config.devices:
            raise ValueError(f"device range [{start}, {stop}) is empty or outside [0, {config.devices})")
        self.config, self.start, self.stop = config, start, stop
        self._cpu0 = time.process_time()  # this process's CPU time: the shard's work on a dedicated core
        variants = [device_variant(config.seed, d, config.n_classes, config.window) for d in range(start, stop)]
        data = [device_stream(v, config.samples) for v in variants]
        self.X = np.stack([d[0] for d in data])
        self.y = np.stack([d[1] for d in data])
        self.onset = np.array([d[2] for d in data], dtype=np.int64)
        self.rate_factor = np.array([v.rate_factor for v in variants])
        template = config.template()
        self.fleet = Fleet(template, [device_seed(config.seed, d) for d in range(start, stop)])
        self.timing = _timing(config, template, self.rate_factor)
        self.tables = FusionTables.of_plan(template.plan)
        self.Xp, self.yp = probe_set(config.seed, config.n_classes, config.window)
        D, S, C = stop - start, config.samples, config.n_classes
        self.correct = np.zeros((D, S), dtype=bool)
        self.mi = np.full((D, S), np.nan)
        self.seen = np.zeros((D, C), dtype=np.int64)
        self.probe = {k: np.zeros(D) for k in ("unseen_sum", "unseen_n", "seen_sum", "seen_n")}
        self.t = 0

    @property
    def n_devices(self) -> int:
        return self.stop - self.start

    # -- stepping --------------------------------------------------------------------------------------------
    def advance(self, ticks: int) -> int:
        """Run the next ``ticks`` windows (fewer at the end of the stream); return the new time."""
        for k in range(self.t, min(self.t + int(ticks), self.config.samples)):
            self._tick(k)
            self.t = k + 1
        return self.t

    def _tick(self, k: int) -> None:
        cfg = self.config
        act = self.timing["processed"][:, k]
        yk = self.y[:, k]
        x_q, saturated = self.fleet.quantize_counted(self.X[:, k])  # each window quantised once
        self.correct[:, k] = act & (self.fleet.predict_q(x_q) == yk)
        near = act & (k >= self.onset - cfg.calib) & (k < self.onset + cfg.detect_horizon)
        if near.any():
            idx = np.flatnonzero(near)
            self.mi[idx, k] = self.fleet.mutual_info_q(x_q[idx], idx, cfg.mi_samples)
        self.fleet.learn_q(x_q, yk, act, saturated)
        np.add.at(self.seen, (np.flatnonzero(act), yk[act]), 1)
        if (k + 1) % cfg.eval_period == 0:
            self._evaluate()

    def _evaluate(self) -> None:
        """Mean-network accuracy on the probe set, split by classes each device has / has not seen yet."""
        D, C = self.n_devices, self.config.n_classes
        Xb = np.broadcast_to(self.Xp, (D, *self.Xp.shape))
        pred = self.fleet.predict_q15(Xb).argmax(axis=-1)
        hit = pred == self.yp[None, :]
        acc = np.stack([hit[:, self.yp == c].mean(axis=1) for c in range(C)], axis=1)
        unseen = self.seen == 0
        self.probe["unseen_sum"] += (acc * unseen).sum(axis=1)
        self.probe["unseen_n"] += unseen.sum(axis=1)
        self.probe["seen_sum"] += (acc * ~unseen).sum(axis=1)
        self.probe["seen_n"] += (~unseen).sum(axis=1)

    # -- fusion ----------------------------------------------------------------------------------------------
    def exponents(self) -> np.ndarray:
        """Per parameter (flat, layer after layer) the largest precision exponent among the shard's devices."""
        return self.tables.exponent(self.fleet.state.code).max(axis=0)

    def sums(self, e_star: np.ndarray, ref_code: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per parameter Σ over the shard's devices of the aligned (λ, η) terms.

        With ``ref_code``, a device's precision below the reference's counts as the reference's: its σ grew
        by Monte-Carlo noise of the σ step, which is not evidence (evidence never lowers precision).
        """
        code = self.fleet.state.code
        if ref_code is not None:
            code = np.maximum(code, ref_code[None, :])
        lam, eta = self.tables.terms(self.fleet.state.mu, code, e_star[None, :])
        return lam.sum(axis=0), eta.sum(axis=0)

    def set_state(self, mu: np.ndarray, code: np.ndarray) -> None:
        """Give every device of the shard the fused flat state."""
        self.fleet.set_all(mu, code)

    def device_state(self, d: int) -> dict[str, Any]:
        """State dict of fleet device ``d`` (global index) as a FixedMESULearner."""
        return self.fleet.device_state(d - self.start)

    # -- results -----------------------------------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        """Per-device metrics (arrays over the shard's devices) and the shard's saturation counters."""
        cfg, tm = self.config, self.timing
        proc = tm["processed"]
        blocks = np.array_split(np.arange(cfg.samples), cfg.blocks)
        block_acc = np.stack(
            [self.correct[:, b].sum(axis=1) / np.maximum(proc[:, b].sum(axis=1), 1) for b in blocks], axis=1
        )
        detect, learned = novelty_delays(self.mi, self.correct, proc, self.y, self.onset, cfg)
        peak_ram = tm["ram"] + (tm["max_waiting"] + 1) * 2 * 3 * cfg.window  # queued raw int16 windows
        over = (
            (peak_ram > tm["ram_budget"])
            | (tm["flash"] > tm["flash_budget"])
            | (tm["misses"] > 0)
            | (tm["dropped"] > 0)
        )
        return {
            "index": np.arange(self.start, self.stop),
            "processed": proc.sum(axis=1),
            "accuracy": self.correct.sum(axis=1) / np.maximum(proc.sum(axis=1), 1),
            "block_accuracy": block_acc,
            "deadline_misses": tm["misses"],
            "dropped": tm["dropped"],
            "peak_ram": peak_ram,
            "over_budget": over,
            "detect_delay": detect,
            "learned_delay": learned,
            "rate_hz": cfg.rate * self.rate_factor,
            **{k: v.copy() for k, v in self.probe.items()},
            "service_us": tm["service_us"],
            "flash_bytes": tm["flash"],
            "ram_budget": tm["ram_budget"],
            "counters": self.fleet.counters.as_dict(),
            "cpu_s": time.process_time() - self._cpu0,
        }


def novelty_delays(
    mi: np.ndarray, correct: np.ndarray, processed: np.ndarray, y: np.ndarray, onset: np.ndarray, cfg: FleetConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Windows from the late class's onset until it is flagged (MI above threshold), and until learned.

    The threshold of a device is the ``mi_quantile`` of its mutual information on the known-class windows
    among the ``calib`` windows before its onset. NaN when it never happens (within ``detect_horizon`` for
    the flag, within the stream for learning).
    """
    D, S = mi.shape
    late = cfg.n_classes - 1
    k = np.arange(S)
    detect, learned = np.full(D, np.nan), np.full(D, np.nan)
    for d in range(D):
        calib = processed[d] & (k >= onset[d] - cfg.calib) & (k < onset[d]) & (y[d] != late)
        values = mi[d, calib]
        values = values[np.isfinite(values)]
        is_late = processed[d] & (k >= onset[d]) & (y[d] == late)
        if values.size:
            thr = np.quantile(values, cfg.mi_quantile)
            flagged = np.flatnonzero(is_late & (k < onset[d] + cfg.detect_horizon) & (mi[d] > thr))
            if flagged.size:
                detect[d] = flagged[0] - onset[d]
        late_k = np.flatnonzero(is_late)
        if late_k.size >= cfg.learned_run:
            run = np.convolve(correct[d, late_k].astype(float), np.ones(cfg.learned_run), "valid") / cfg.learned_run
            ok = np.flatnonzero(run >= cfg.learned_accuracy)
            if ok.size:
                learned[d] = late_k[ok[0] + cfg.learned_run - 1] - onset[d]
    return detect, learned
