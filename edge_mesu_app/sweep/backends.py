"""Execution engines: a local process pool (default) and Ray (a local instance or an existing cluster).

Both run the same pure function on whole units of work (a sweep trial, a fleet shard's round), never single
samples. Ray is imported only inside :func:`ray_session`, never at import time of ``edge_mesu``.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

__all__ = ["BACKENDS", "check_backend", "ray_session", "map_unordered", "mp_context"]

BACKENDS = ("local", "ray")


def check_backend(backend: str, workers: int, address: str | None = None) -> None:
    """Refuse an unknown backend, a worker count < 1 or an address without Ray, before anything runs."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if address is not None and backend != "ray":
        raise ValueError("--address needs --backend ray")
    if backend == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ValueError("the ray backend needs Ray: pip install 'edge-mesu[ray]' (or 'ray>=2.9')") from None


def mp_context() -> Any:
    """Fresh interpreter workers (spawn): no inherited threads or locks, the same semantics as Ray workers."""
    return multiprocessing.get_context("spawn")


@contextmanager
def ray_session(workers: int, address: str | None = None) -> Iterator[Any]:
    """Yield the ``ray`` module, connected: a local instance with ``workers`` CPUs, or the cluster at ``address``.

    Whatever this function started (a local instance, or this driver's connection) is shut down on exit;
    an already initialised Ray session is used as it is and left running.
    """
    import ray

    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": "ERROR",
            "configure_logging": False,
        }
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=workers, **kwargs)
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def map_unordered(
    fn: Callable[[Any], Any], items: list[Any], backend: str = "local", workers: int = 1, address: str | None = None
) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, fn(items[index]))`` as results complete (order varies; the values do not).

    ``local`` with one worker runs in this process; otherwise a spawn process pool or Ray tasks
    (``workers`` CPUs for a local Ray instance; a cluster's own size with ``address``).
    """
    check_backend(backend, workers, address)
    if not items:
        return
    if backend == "ray":
        yield from _ray_map(fn, items, workers, address)
    elif workers == 1:
        for i, item in enumerate(items):
            yield i, fn(item)
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp_context()) as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield futures[f], f.result()


def _ray_map(
    fn: Callable[[Any], Any], items: list[Any], workers: int, address: str | None
) -> Iterator[tuple[int, Any]]:
    with ray_session(workers, address) as ray:
        remote = ray.remote(num_cpus=1, max_retries=0)(fn)
        refs = {remote.remote(item): i for i, item in enumerate(items)}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield refs[ref], ray.get(ref)
