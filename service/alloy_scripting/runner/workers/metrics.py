"""Prometheus metrics of the worker pool."""

from __future__ import annotations

import functools

from prometheus_client import Counter, Gauge, Histogram

_WAIT_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5)

QUEUE_WAIT = Histogram(
    "alloy_worker_queue_wait_seconds",
    "Time a script run waited for a worker (per-tenant queues, round-robin).",
    buckets=_WAIT_BUCKETS,
)
BUSY = Histogram(
    "alloy_worker_busy_seconds",
    "Time a script run held its worker (sending, running, host calls, answer).",
    buckets=_WAIT_BUCKETS,
)
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
HOST_CALLS = Counter(
    "alloy_worker_host_calls_total", "Host calls made by scripts, by function and result.",
    ["function", "result"],
)  # fmt: skip


@functools.cache
def host_calls(function: str, result: str) -> Counter:
    """`HOST_CALLS` of one host function and result (its children cached: `labels()`
    takes a lock and builds a key on every call). Host functions are a fixed set."""
    return HOST_CALLS.labels(function, result)
