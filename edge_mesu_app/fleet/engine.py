"""The fleet coordinator: shards device ranges across workers, drives rounds, fuses posteriors.

Workers are actors holding a :class:`ShardRunner`: the calling process itself (local, one worker), spawned
processes talking over pipes (local, several workers) or Ray actors (``backend="ray"``). The coordinator
sends whole rounds (``advance(T)``) to every shard at once and waits for all of them; with ``fuse_every``
it then fuses the devices' posteriors (:mod:`edge_mesu.fleet.fusion`) and sends the result back as every
device's new state. Shards are contiguous device ranges and every per-device result depends only on
(seed, device index) and the fused states, so results do not depend on the backend or the worker count.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from edge_mesu.fleet.fusion import FusionTables, decay_reference

from .config import FleetConfig
from .report import aggregate
from .shard import ShardRunner

__all__ = ["run_fleet", "shard_ranges"]


def shard_ranges(devices: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous, balanced device ranges, one per worker (fewer when there are fewer devices)."""
    n = min(devices, workers)
    bounds = np.linspace(0, devices, n + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds, bounds[1:])]


class _InProcess:
    def __init__(self, config: FleetConfig, start: int, stop: int) -> None:
        self.runner = ShardRunner(config, start, stop)
        self._result: Any = None

    def submit(self, name: str, *args: Any) -> None:
        self._result = getattr(self.runner, name)(*args)

    def result(self) -> Any:
        return self._result

    def close(self) -> None:
        pass


def _serve(conn: Any, config: FleetConfig, start: int, stop: int) -> None:
    """Worker process loop: build the shard, then answer (method, args) messages until None."""
    try:
        runner = ShardRunner(config, start, stop)
        conn.send(("ok", None))
    except Exception:  # reported to the coordinator, which raises it
        conn.send(("err", traceback.format_exc()))
        return
    while True:
        msg = conn.recv()
        if msg is None:
            return
        try:
            conn.send(("ok", getattr(runner, msg[0])(*msg[1])))
        except Exception:
            conn.send(("err", traceback.format_exc()))


class _Process:
    def __init__(self, config: FleetConfig, start: int, stop: int) -> None:
        from ..sweep.backends import mp_context

        ctx = mp_context()
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, config, start, stop), daemon=True)
        self.proc.start()
        child.close()
        self._pending = True  # the construction acknowledgement

    def submit(self, name: str, *args: Any) -> None:
        if self._pending:
            self.result()
        self.conn.send((name, args))
        self._pending = True

    def result(self) -> Any:
        try:
            status, value = self.conn.recv()
        except EOFError:
            raise RuntimeError(f"fleet worker process exited unexpectedly (exit code {self.proc.exitcode})") from None
        self._pending = False
        if status == "err":
            raise RuntimeError(f"fleet worker failed:\n{value}")
        return value

    def close(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.terminate()


class _RayActor:
    def __init__(self, ray: Any, actor_cls: Any, config: FleetConfig, start: int, stop: int) -> None:
        self.ray, self.actor, self.ref = ray, actor_cls.remote(config, start, stop), None

    def submit(self, name: str, *args: Any) -> None:
        self.ref = getattr(self.actor, name).remote(*args)

    def result(self) -> Any:
        return self.ray.get(self.ref)

    def close(self) -> None:
        self.ray.kill(self.actor)


def _call_all(handles: list[Any], name: str, args: list[tuple] | None = None) -> list[Any]:
    """Send ``name`` to every shard first, then collect: shards work in parallel."""
    for i, h in enumerate(handles):
        h.submit(name, *(args[i] if args else ()))
    return [h.result() for h in handles]


class _Fusion:
    """The fusion state of the coordinator: the reference (last fused state) and the tables."""

    def __init__(self, config: FleetConfig) -> None:
        self.template = config.template()
        self.tables = FusionTables.of_plan(self.template.plan)
        params = self.template.int_params()
        self.mu = np.concatenate([m.ravel() for m, _ in params.values()])
        self.code = np.concatenate([c.ravel() for _, c in params.values()])
        self.seed, self.rounds, self.clipped = config.seed, 0, 0
        self.average = config.fusion == "average"

    def fuse(self, handles: list[Any], devices: int, elapsed: int) -> None:
        ref_mu, ref_code = decay_reference(self.template, self.mu, self.code, elapsed, self.seed, self.rounds)
        e_star = np.max(_call_all(handles, "exponents") + [self.tables.exponent(ref_code)], axis=0)
        parts = _call_all(handles, "sums", [(e_star, ref_code)] * len(handles))
        sum_lam = np.sum([p[0] for p in parts], axis=0)
        sum_eta = np.sum([p[1] for p in parts], axis=0)
        mu, code, clipped = self.tables.fuse(sum_lam, sum_eta, devices, ref_mu, ref_code, e_star, average=self.average)
        _call_all(handles, "set_state", [(mu, code)] * len(handles))
        self.mu, self.code = mu, code
        self.rounds += 1
        self.clipped += clipped


def _open(config: FleetConfig, backend: str, workers: int, ray: Any) -> list[Any]:
    ranges = shard_ranges(config.devices, workers)
    if backend == "ray":
        actor_cls = ray.remote(num_cpus=1)(ShardRunner)
        return [_RayActor(ray, actor_cls, config, a, b) for a, b in ranges]
    if len(ranges) == 1:
        return [_InProcess(config, *ranges[0])]
    return [_Process(config, a, b) for a, b in ranges]


def _drive(config: FleetConfig, handles: list[Any], progress: Callable[[int, int], None] | None) -> dict:
    fusion = _Fusion(config) if config.fuse_every else None
    period = config.fuse_every or config.samples
    t = 0
    chunk = max(1, config.samples // 50)  # progress granularity; results do not depend on it
    while t < config.samples:
        end = min(t + period, config.samples)
        while t < end:
            step = min(chunk, end - t)
            _call_all(handles, "advance", [(step,)] * len(handles))
            t += step
            if progress is not None:
                progress(t, config.samples)
        if fusion is not None and t < config.samples:
            fusion.fuse(handles, config.devices, period)
    reports = _call_all(handles, "report")
    extra = {"fusion_rounds": fusion.rounds if fusion else 0, "fusion_clipped": fusion.clipped if fusion else 0}
    return {"reports": reports, **extra}


def run_fleet(
    config: FleetConfig,
    backend: str = "local",
    workers: int = 1,
    address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Simulate the fleet; return the report dict (percentiles over devices, see :func:`aggregate`)."""
    from ..sweep.backends import check_backend, ray_session

    check_backend(backend, workers, address)
    t0 = time.perf_counter()
    session = ray_session(workers, address) if backend == "ray" else contextlib.nullcontext(None)
    with session as ray:
        handles = _open(config, backend, workers, ray)
        try:
            out = _drive(config, handles, progress)
        finally:
            for h in handles:
                h.close()
    wall = time.perf_counter() - t0
    return aggregate(
        config,
        out["reports"],
        wall_s=wall,
        backend=backend,
        workers=len(handles),
        fusion_rounds=out["fusion_rounds"],
        fusion_clipped=out["fusion_clipped"],
    )
