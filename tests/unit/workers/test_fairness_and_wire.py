"""Pure parts of the worker tier: the fair queue, the frame codec, result checking."""

from __future__ import annotations

import asyncio
import math
import os
import struct

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from alloy_scripting.engine import EngineConfig
from alloy_scripting.model.enums import ExecutionPhase, ExecutionStatus
from alloy_scripting.runner.workers import default_per_tenant, protocol
from alloy_scripting.runner.workers.fairness import FairQueue, Waiter
from alloy_scripting.runner.workers.metrics import RunTimings
from alloy_scripting.runner.workers.protocol import ProtocolError
from alloy_scripting.runner.workers.results import to_result


def waiter(tenant: str) -> Waiter:
    return Waiter(tenant, asyncio.get_running_loop().create_future(), 0.0)


async def test_tenants_are_served_in_turn_and_capped() -> None:
    queue = FairQueue(per_tenant=2)
    for tenant in ["a", "a", "a", "a", "b", "c"]:
        queue.push(waiter(tenant))
    served = []
    while (next_one := queue.next_waiter()) is not None:
        queue.started(next_one.tenant)
        served.append(next_one.tenant)
    assert served == ["a", "b", "c", "a"]  # a's third waits: a holds 2 workers
    assert queue.waiting() == 2 and not queue.may_start("a") and queue.may_start("d")
    queue.finished("a")
    assert queue.next_waiter().tenant == "a"


def test_the_default_cap_leaves_workers_for_others() -> None:
    assert [default_per_tenant(n) for n in (1, 2, 4, 8, 16)] == [1, 1, 3, 6, 12]


def test_frames_carry_json_only() -> None:
    frame = protocol.encode({"t": "x", "text": "é\ud800", "n": 2**70})
    assert protocol.decode(frame[4:]) == {"t": "x", "text": "é\ud800", "n": 2**70}
    with pytest.raises(ValueError):
        protocol.encode({"t": "x", "f": float("nan")})
    for body in (b"NaN", b'{"t": 1}', b"[]", b'{"t": "x", "f": Infinity}', b"\xff"):
        with pytest.raises(ProtocolError):
            protocol.decode(body)
    with pytest.raises(ProtocolError):
        protocol.frame_size(
            struct.pack(">I", protocol.MAX_RESPONSE_FRAME + 1), protocol.MAX_RESPONSE_FRAME
        )


def read_back(frame: bytes) -> dict[str, object]:
    """A frame as a worker reads it from its pipe."""
    read, write = os.pipe()
    try:
        os.write(write, frame)
        return protocol.read_frame_blocking(read, protocol.MAX_REQUEST_FRAME)
    finally:
        os.close(read)
        os.close(write)


def test_run_frames_are_messagepack_and_json_where_it_cannot_carry_a_value() -> None:
    message = {"t": "run", "id": 7, "entity": {"a": [1, 2.5, None, True, "é"]}, "n": -(2**63)}
    frame = protocol.encode_run(message)
    assert frame[protocol.HEADER.size] != ord("{")  # MessagePack
    assert read_back(frame) == message
    nan = read_back(protocol.encode_run({"t": "run", "x": float("nan")}))["x"]
    assert isinstance(nan, float) and math.isnan(nan)  # the engine in the worker refuses it
    for awkward in ({"t": "run", "n": 2**70}, {"t": "run", "s": "\ud800"}):
        frame = protocol.encode_run(awkward)
        assert frame[protocol.HEADER.size] == ord("{")  # JSON
        assert read_back(frame) == awkward
    with pytest.raises(ValueError):  # neither carries it: the run is refused as before
        protocol.encode_run({"t": "run", "n": 2**70, "x": float("inf")})
    with pytest.raises(TypeError):
        protocol.encode_run({"t": "run", "x": object()})
    for body in (b"\xc1", b"\x93\x01\x02\x03", b"\x81\xa1t\x01"):  # not an object with a type
        with pytest.raises(ProtocolError):
            read_back(struct.pack(">I", len(body)) + body)


def test_run_timings_are_exposed_as_a_prometheus_histogram() -> None:
    timings = RunTimings("alloy_test_timings_seconds", "test", (0.001, 0.01))
    registry = CollectorRegistry()
    registry.register(timings)
    for seconds in (0.0005, 0.001, 0.002, 3.0):
        timings.observe(seconds)
    text = generate_latest(registry).decode()
    assert 'alloy_test_timings_seconds_bucket{le="0.001"} 2.0' in text  # le: 0.001 included
    assert 'alloy_test_timings_seconds_bucket{le="0.01"} 3.0' in text
    assert 'alloy_test_timings_seconds_bucket{le="+Inf"} 4.0' in text
    assert "alloy_test_timings_seconds_count 4.0" in text
    assert "alloy_test_timings_seconds_sum 3.0035" in text


def _result(**fields: object) -> dict[str, object]:
    frame: dict[str, object] = {
        "t": "result", "status": "success", "changes": {}, "removed": [], "reason": None,
        "error": None, "limit": None, "logs": [], "operations": 3, "duration_ms": 0.5,
    }  # fmt: skip
    frame.update(fields)
    return frame


def check(frame: dict[str, object]):
    return to_result(
        frame,
        config=EngineConfig(),
        phase=ExecutionPhase.BEFORE,
        entity={"a": 1, "b": 2},
        emitted=[],
    )


def test_a_result_is_rebuilt_from_the_services_own_entity() -> None:
    result = check(_result(changes={"c": [1, {"d": "x"}]}, removed=["b"]))
    assert result.status is ExecutionStatus.SUCCESS
    assert result.entity == {"a": 1, "c": [1, {"d": "x"}]}
    failed = check(_result(status="error", error={"type": "KeyError", "message": "'x'", "line": 2}))
    assert failed.entity == {"a": 1, "b": 2} and failed.error.line == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "owned"},
        {"changes": {"x": 2**64}},
        {"changes": {"x": "nul\x00"}},
        {"changes": {"x": "\ud800"}},
        {"changes": []},
        {"removed": ["zzz"]},
        {"status": "error", "changes": {"x": 1}},
        {"logs": [["info", "x"]] * 101},
        {"logs": [["debug", "x"]]},
        {"reason": "r" * 5000},
        {"error": {"type": 1, "message": "m"}},
        {"operations": -1},
        {"duration_ms": "fast"},
    ],
)
def test_a_result_that_is_off_in_any_way_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ProtocolError):
        check(_result(**bad))
