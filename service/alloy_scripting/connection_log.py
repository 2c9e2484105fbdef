"""Quiet failure modes: repeated broker or database connection errors become one warning
per interval with a count, and one line when the connection is back.

Without it a 15-second Kafka outage wrote thousands of lines (aiokafka logs every
reconnect attempt of every client; our loops log each failed batch). `ConnectionLog` is a
`logging.Filter` on the root handlers: a record it recognises as a connection error of
`kafka` or `mongodb` passes the first time (as the outage's first line), is counted and
dropped within the interval, and after it a summary line replaces the next one. `watch`
probes a failing dependency's readiness check and logs its recovery.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

logger = logging.getLogger("alloy.connections")

_KAFKA_ERRORS = ("KafkaConnectionError", "NodeNotReadyError", "KafkaTimeoutError")
_MONGO_ERRORS = ("ServerSelectionTimeoutError", "AutoReconnect", "NetworkTimeout")
_CONNECTION_WORDS = (
    "connect",
    "connection",
    "unable to update metadata",
    "coordinator dead",
    "node not ready",
    "broker not available",
)


def source_of(record: logging.LogRecord) -> str | None:
    """`kafka` or `mongodb` when the record reports a lost connection to it, else None."""
    if record.name == logger.name:
        return None
    if record.exc_info and record.exc_info[1] is not None:
        kind = type(record.exc_info[1]).__name__
        if kind in _KAFKA_ERRORS:
            return "kafka"
        if kind in _MONGO_ERRORS:
            return "mongodb"
    if record.levelno < logging.WARNING:
        return None
    if record.name.startswith(("aiokafka", "faststream")):
        text = record.getMessage().lower()
        return "kafka" if any(w in text for w in _CONNECTION_WORDS) else None
    if record.name.startswith("pymongo"):
        return "mongodb"
    return None


@dataclass
class _Outage:
    started: float
    reported: float
    suppressed: int = 0
    total: int = 1


class ConnectionLog(logging.Filter):
    """Aggregates connection errors per dependency; see the module docstring."""

    def __init__(self, interval: float = 30.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.interval = interval
        self.clock = clock
        self.outages: dict[str, _Outage] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        source = source_of(record)
        if source is None:
            return True
        now = self.clock()
        outage = self.outages.get(source)
        if outage is None:
            self.outages[source] = _Outage(started=now, reported=now)
            record.msg = f"{source} connection error (repeats are counted, reported every " + (
                f"{self.interval:g} s): {record.getMessage()}"
            )
            record.args = None
            return True
        outage.total += 1
        if now - outage.reported < self.interval:
            outage.suppressed += 1
            return False
        record.msg = (
            f"{source} still unreachable after {now - outage.started:.0f} s: "
            f"{outage.suppressed + 1} connection errors in the last {now - outage.reported:.0f} s"
            f"; latest: {record.getMessage()}"
        )
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        outage.reported, outage.suppressed = now, 0
        return True

    def recovered(self, source: str) -> None:
        """Log the end of `source`'s outage (if there was one)."""
        outage = self.outages.pop(source, None)
        if outage is not None:
            logger.warning(
                "%s connection recovered after %.1f s (%d connection errors)",
                source,
                self.clock() - outage.started,
                outage.total,
            )

    async def watch(
        self, checks: Mapping[str, Callable[[], Awaitable[bool]]], period: float = 1.0
    ) -> None:
        """Until cancelled: probe each failing dependency's check; log its recovery."""
        while True:
            await asyncio.sleep(period)
            for source in list(self.outages):
                check = checks.get(source)
                if check is None:
                    continue
                try:
                    ok = await check()
                except Exception:
                    ok = False
                if ok:
                    self.recovered(source)

    def install(self) -> None:
        """On every handler of the root logger (filters on loggers miss their children)."""
        for handler in logging.getLogger().handlers:
            if self not in handler.filters:
                handler.addFilter(self)

    def uninstall(self) -> None:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self)
