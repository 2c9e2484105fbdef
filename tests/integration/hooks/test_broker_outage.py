"""A real broker outage: a second Kafka, started by this test on its own port and run
directory through `scripts/services` (the shared broker on 9092 is never touched), is
stopped and started again under a running service edge. During the outage the connection
errors are aggregated (one warning per interval with a count) and `kafka` is not ready;
after it, one recovery line and ready again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from alloy_scripting.connection_log import ConnectionLog, source_of

from .conftest import make_settings, start_service

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

SERVICES = Path(__file__).resolve().parents[3] / "scripts" / "services"
INTERVAL = 4.0
OUTAGE = 14.0


def free_port_pair() -> int:
    """A port whose successor (the KRaft controller's) is free too."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port >= 65535:
            continue
        with socket.socket() as other:
            try:
                other.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


def services(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [str(SERVICES), *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"scripts/services {' '.join(args)}: {done.stdout}{done.stderr}"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def wait_for(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.5)


async def test_outage_is_quiet_and_readiness_follows_it(
    tmp_path: Path, mongodb_url: str, mongo_db: Any, unique_name: str
) -> None:
    port = free_port_pair()
    assert port != 9092
    env = {
        **os.environ,
        "ALLOY_KAFKA_PORT": str(port),
        "ALLOY_KAFKA_CONTROLLER_PORT": str(port + 1),
        "ALLOY_SERVICES_RUN_DIR": str(tmp_path / "run"),
        "ALLOY_SERVICES_MODE": "local",
    }
    await asyncio.to_thread(services, env, "up", "kafka")
    quiet, raw = Lines(), Lines()
    connections = ConnectionLog(INTERVAL)
    quiet.addFilter(connections)
    root = logging.getLogger()
    root.addHandler(quiet)
    root.addHandler(raw)
    service = None
    watcher = None
    try:
        settings = make_settings(f"127.0.0.1:{port}", mongodb_url, unique_name)
        service = await start_service(settings, mongo_db)
        runtime = service.runtime
        assert await runtime.readiness() == {"kafka": True, "mongodb": True}
        watcher = asyncio.create_task(connections.watch(runtime.health_checks, period=0.5))

        await asyncio.to_thread(services, env, "down", "kafka")
        stopped = time.monotonic()
        not_ready = False
        while time.monotonic() - stopped < OUTAGE:
            not_ready = not_ready or not (await runtime.readiness())["kafka"]
            await asyncio.sleep(1.0)
        assert not_ready, "/health/ready stayed true while the broker was down"
        assert (await runtime.readiness())["mongodb"]

        await asyncio.to_thread(services, env, "up", "kafka")

        async def ready_again() -> bool:
            return (await runtime.readiness())["kafka"]

        await wait_for(ready_again, 180)

        async def recovery_logged() -> bool:
            return any("recovered" in r.getMessage() for r in quiet.records)

        await wait_for(recovery_logged, 30)
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if service is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(service.edge.stop(), 60)
        root.removeHandler(quiet)
        root.removeHandler(raw)
        await asyncio.to_thread(services, env, "down", "--purge", "kafka")

    raw_errors = [r for r in raw.records if source_of(r) == "kafka"]
    shown = [r for r in quiet.records if source_of(r) == "kafka"]
    recoveries = [r for r in quiet.records if "kafka connection recovered" in r.getMessage()]
    outage_seconds = OUTAGE + 30  # the stop, the outage and the restart
    assert len(raw_errors) > len(shown), (len(raw_errors), len(shown))
    assert 1 <= len(shown) <= outage_seconds / INTERVAL + 2, [r.getMessage() for r in shown]
    assert "repeats are counted" in shown[0].getMessage()
    assert len(recoveries) == 1
    assert "connection errors" in recoveries[0].getMessage()
    print(f"kafka connection error records: {len(raw_errors)} raised, {len(shown)} logged")
