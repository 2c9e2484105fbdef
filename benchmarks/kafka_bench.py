"""What the Kafka round-trip benchmarks (`hooks.py`, `workers.py`) share: the service under
test in a child process of the benchmark's own file (started with ``--serve ...``, ready when
it prints ``ready``), its topic, and the figures (percentiles, sustained throughput)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

BOOTSTRAP = os.environ.get("ALLOY_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
MONGO = os.environ.get("ALLOY_MONGODB_URL", "mongodb://127.0.0.1:27017")

Figures = TypeVar("Figures")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def throughput(call: Callable[[int], Awaitable[object]], total: int, in_flight: int) -> float:
    """Calls per second of ``call(0..total-1)`` with at most ``in_flight`` at a time."""
    semaphore = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        async with semaphore:
            await call(i)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(total)))
    return total / (time.perf_counter() - started)


def run_server(script: str, name: str, *serve_args: str) -> subprocess.Popen[str]:
    """``python script --serve ...`` in a child process, once it said ``ready``."""
    proc = subprocess.Popen(
        [sys.executable, script, "--serve", *serve_args], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise RuntimeError(f"{name} server did not start: {line!r}")
    return proc


async def create_topics(prefix: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(f"{prefix}entity.before_create", 1, 1)])
    finally:
        await admin.close()


def measure_each(
    kinds: Sequence[str],
    start: Callable[[str, str], subprocess.Popen[str]],
    measure: Callable[[str], Awaitable[Figures]],
) -> dict[str, Figures]:
    """For each kind of server, on fresh topics: ``start(kind, prefix)``, ``measure(prefix)``."""
    results: dict[str, Figures] = {}
    for kind in kinds:
        prefix = f"bench{uuid.uuid4().hex[:8]}."
        asyncio.run(create_topics(prefix))
        proc = start(kind, prefix)
        try:
            results[kind] = asyncio.run(measure(prefix))
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return results
