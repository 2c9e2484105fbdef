"""Prometheus metrics of the worker pool."""

from __future__ import annotations

import bisect
import functools
import weakref
from collections.abc import Iterator
from typing import Protocol

from prometheus_client import REGISTRY, Counter, Gauge, Metric
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

_WAIT_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5)


class RunTimings(Collector):
    """A histogram observed on every run, kept as plain counters and exposed as a
    Prometheus histogram when scraped: `Histogram.observe` takes two locks and walks its
    buckets in Python, twice per run on the service's event loop. Meant for one writer at
    a time (the loop); a pool on another thread (`blocking.py`, for tools) could lose an
    increment to a race, which is metrics, not books."""

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = buckets
        self.counts = [0] * (len(buckets) + 1)  # the last: above every bound (+Inf)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation)
        counts, cumulative = list(self.counts), 0
        buckets: list[tuple[str, float]] = []
        for bound, count in zip((*map(floatToGoString, self.bounds), "+Inf"), counts, strict=True):
            cumulative += count
            buckets.append((bound, cumulative))
        family.add_metric([], buckets, self.total)
        yield family


QUEUE_WAIT = RunTimings(
    "alloy_worker_queue_wait_seconds",
    "Time a script run waited for a worker (per-tenant queues, round-robin).",
    _WAIT_BUCKETS,
)
BUSY = RunTimings(
    "alloy_worker_busy_seconds",
    "Time a script run held its worker (sending, running, host calls, answer).",
    _WAIT_BUCKETS,
)
REGISTRY.register(QUEUE_WAIT)
REGISTRY.register(BUSY)
QUEUE_TIMEOUTS = Counter(
    "alloy_worker_queue_timeouts_total",
    "Runs answered without running because no worker was free before their deadline.",
)
RESTARTS = Counter(
    "alloy_worker_restarts_total",
    "Worker processes replaced, by reason (timeout, memory, crash, protocol, recycle).",
    ["reason"],
)
WORKERS = Gauge("alloy_workers", "Live worker processes.")
WAITING = Gauge("alloy_worker_waiting_runs", "Script runs waiting for a worker.")


class _Queue(Protocol):
    def waiting(self) -> int: ...


_QUEUES: weakref.WeakSet[_Queue] = weakref.WeakSet()
WAITING.set_function(lambda: sum(queue.waiting() for queue in list(_QUEUES)))


def count_waiting(queue: _Queue) -> None:
    """`WAITING` counts this pool's queue, when scraped (not set on every run)."""
    _QUEUES.add(queue)


HOST_CALLS = Counter(
    "alloy_worker_host_calls_total", "Host calls made by scripts, by function and result.",
    ["function", "result"],
)  # fmt: skip


@functools.cache
def host_calls(function: str, result: str) -> Counter:
    """`HOST_CALLS` of one host function and result (its children cached: `labels()`
    takes a lock and builds a key on every call). Host functions are a fixed set."""
    return HOST_CALLS.labels(function, result)
