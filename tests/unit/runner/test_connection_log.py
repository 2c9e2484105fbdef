"""`ConnectionLog`: repeated connection errors become one line per interval with a count,
then one recovery line (fake clock; the real outage is tests/integration/hooks)."""

from __future__ import annotations

import logging

import pytest

from alloy_scripting.connection_log import ConnectionLog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def kafka_error(
    message: str = "Unable connect to node with id 1: [Errno 111] Connect call failed",
) -> logging.LogRecord:
    return logging.LogRecord("aiokafka.conn", logging.ERROR, __file__, 1, message, None, None)


def test_an_outage_is_one_line_per_interval_then_one_on_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    connections = ConnectionLog(10.0, clock)
    passed = []
    for step in range(300):  # 30 s of errors, ten a second
        clock.now = step / 10
        record = kafka_error()
        if connections.filter(record):
            passed.append(record.getMessage())
    assert len(passed) == 3, passed  # at 0 s, 10 s, 20 s
    assert passed[0].startswith("kafka connection error (repeats are counted, reported every 10 s)")
    assert "100 connection errors in the last 10 s" in passed[1]
    assert "Unable connect" in passed[2]

    unrelated = logging.LogRecord("alloy.runner", logging.ERROR, __file__, 1, "boom", None, None)
    assert connections.filter(unrelated) and unrelated.getMessage() == "boom"
    quiet_info = logging.LogRecord("aiokafka", logging.INFO, __file__, 1, "connect", None, None)
    assert connections.filter(quiet_info)

    clock.now = 31.0
    with caplog.at_level(logging.WARNING, logger="alloy.connections"):
        connections.recovered("kafka")
        connections.recovered("kafka")  # no outage any more: nothing
    lines = [r.getMessage() for r in caplog.records if r.name == "alloy.connections"]
    assert lines == ["kafka connection recovered after 31.0 s (300 connection errors)"]
    clock.now = 40.0
    assert connections.filter(kafka_error())  # a new outage starts a new count


def test_mongodb_errors_are_recognised_by_their_exception() -> None:
    from pymongo.errors import ServerSelectionTimeoutError

    clock = Clock()
    connections = ConnectionLog(5.0, clock)
    try:
        raise ServerSelectionTimeoutError("127.0.0.1:27017: connection refused")
    except ServerSelectionTimeoutError:
        import sys

        info = sys.exc_info()
    first = logging.LogRecord(
        "alloy.storage", logging.ERROR, __file__, 1, "flush failed", None, info
    )
    second = logging.LogRecord(
        "alloy.storage", logging.ERROR, __file__, 1, "flush failed", None, info
    )
    assert connections.filter(first) and "mongodb connection error" in first.getMessage()
    assert not connections.filter(second)
    assert connections.outages["mongodb"].total == 2
