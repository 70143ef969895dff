"""Replay a stream at a sensor rate through a single-server queue with a bounded waiting line.

Sample k arrives at ``k / rate_hz``; its deadline is the next arrival. The server (the MCU) takes a fixed
modelled service time per sample, first come first served. ``queue`` is how many samples may wait while
one is being processed (0: no buffering). A sample that arrives with the line full is dropped (never
processed); a processed sample whose processing ends after its deadline is a deadline miss.

Example
-------
>>> r = replay_queue(range(10), service_s=0.15, rate_hz=10.0, queue=1)
>>> r.processed, r.dropped, r.deadline_misses
(8, 2, 8)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["QueueResult", "check_rate", "check_queue", "iter_stream", "replay_queue"]


def check_rate(rate_hz: object) -> float:
    """Return the rate as a float, or raise ``ValueError`` unless it is a finite number > 0."""
    if isinstance(rate_hz, bool) or not isinstance(rate_hz, (int, float, np.integer, np.floating)):
        raise ValueError(f"rate_hz must be a number > 0, got {rate_hz!r}")
    if not math.isfinite(float(rate_hz)) or float(rate_hz) <= 0:
        raise ValueError(f"rate_hz must be a finite number > 0, got {rate_hz!r}")
    return float(rate_hz)


def check_queue(queue: object) -> int:
    """Return the queue bound, or raise ``ValueError`` unless it is an integer >= 0."""
    if isinstance(queue, bool) or not isinstance(queue, (int, np.integer)) or int(queue) < 0:
        raise ValueError(f"queue must be an integer >= 0 (samples that may wait), got {queue!r}")
    return int(queue)


def iter_stream(stream: Any) -> Iterator[tuple[Any, Any]]:
    """Yield ``(x, y)`` from an iterable of pairs or from a pair of arrays ``(X, y)`` (y may be None)."""
    if isinstance(stream, tuple) and len(stream) == 2 and np.ndim(stream[0]) == 2:
        X, y = stream
        labels = [None] * len(X) if y is None else y
        if len(labels) != len(X):
            raise ValueError(f"stream arrays disagree: {len(X)} inputs but {len(labels)} labels")
        yield from zip(X, labels, strict=True)
        return
    for item in stream:
        try:
            x, y = item
        except (TypeError, ValueError):
            raise ValueError("stream items must be (x, y) pairs, or pass arrays as a tuple (X, y)") from None
        yield x, y


@dataclass
class QueueResult:
    """Counts of a replay; ``lateness_s`` (finish − deadline per processed sample) and ``waiting`` (line
    length seen by each arrival) are kept for plots."""

    samples: int = 0
    processed: int = 0
    deadline_misses: int = 0
    dropped: int = 0
    max_waiting: int = 0
    max_latency_s: float = 0.0
    lateness_s: list[float] = field(default_factory=list, repr=False)
    waiting: list[int] = field(default_factory=list, repr=False)


def replay_queue(
    items: Iterable[Any], service_s: float, rate_hz: float, queue: int, on_sample: Callable[[Any], None] | None = None
) -> QueueResult:
    """Run ``items`` through the queue; call ``on_sample(item)`` for each processed one, in order."""
    rate = check_rate(rate_hz)
    bound = check_queue(queue)
    if not (math.isfinite(service_s) and service_s >= 0):
        raise ValueError(f"service_s must be a finite number >= 0, got {service_s!r}")
    period = 1.0 / rate
    tol = 1e-9 * period
    finishes: deque[float] = deque()
    last_finish = 0.0
    res = QueueResult()
    for k, item in enumerate(items):
        t = k * period
        while finishes and finishes[0] <= t + tol:
            finishes.popleft()
        waiting = max(len(finishes) - 1, 0)
        res.samples += 1
        res.waiting.append(waiting)
        res.max_waiting = max(res.max_waiting, waiting)
        if finishes and waiting >= bound:
            res.dropped += 1
            continue
        start = max(t, last_finish)
        last_finish = start + service_s
        finishes.append(last_finish)
        res.processed += 1
        res.lateness_s.append(last_finish - (t + period))
        res.max_latency_s = max(res.max_latency_s, last_finish - t)
        if last_finish > t + period + tol:
            res.deadline_misses += 1
        if on_sample is not None:
            on_sample(item)
    return res
