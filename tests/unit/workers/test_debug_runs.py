"""Debug runs in a worker: the same report as in this process, no host call, and a worker
that sends a hostile debug part is treated like any other bad result."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from alloy_scripting.engine import EngineConfig, create_default_engine
from alloy_scripting.model.debug import DebugSample, HttpFixture
from alloy_scripting.model.enums import ExecutionPhase, ExecutionStatus
from alloy_scripting.model.fixtures import Fixture
from alloy_scripting.model.script import EventTrigger, Script
from alloy_scripting.runner.debugger import debug_in_pool, debug_run, fixtures_in_pool
from alloy_scripting.runner.workers import PoolConfig, WorkerPool
from alloy_scripting.runner.workers.debug_runs import DebugRun, fit
from alloy_scripting.runner.workers.protocol import MAX_RESPONSE_FRAME, ProtocolError, encode

SOURCE = """\
total = 0
for i in range(3):
    total += i
    log("step", i)
emit("deal.scored", {"id": entity["id"], "total": total})
answer = http_post("https://hooks.example/score", json={"t": total})
entity["total"] = total
entity["echo"] = answer["json"]["ok"]
"""
FIXTURE = HttpFixture(method="POST", url="https://hooks.example/score", body={"ok": "yes"})
SAMPLE = DebugSample(entity={"id": "d1"}, http_fixtures=[FIXTURE])


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[WorkerPool]:
    async with WorkerPool(config=PoolConfig(size=1)) as started:
        yield started


async def test_a_debug_run_in_a_worker_reports_what_one_in_process_does(
    pool: WorkerPool,
) -> None:
    runs_before = sum(worker.runs for worker in pool._workers)
    pooled = await debug_in_pool(pool, SOURCE, SAMPLE, phase=ExecutionPhase.AFTER)
    local = debug_run(create_default_engine(), SOURCE, SAMPLE, phase=ExecutionPhase.AFTER)
    assert sum(worker.runs for worker in pool._workers) == runs_before + 1  # a worker ran it
    assert pooled.result.status is ExecutionStatus.SUCCESS, pooled.result.error
    assert pooled.result.changes == local.result.changes == {"total": 3, "echo": "yes"}
    assert [(e.event_type, e.payload) for e in pooled.result.emitted] == [
        ("deal.scored", {"id": "d1", "total": 3})
    ]
    assert [i.to_dict() for i in pooled.intents] == [i.to_dict() for i in local.intents]
    assert [i.kind for i in pooled.intents] == ["emit", "http"]
    pooled_steps = [(s.line, s.names, s.changes, s.logs) for s in pooled.trace.steps]
    local_steps = [(s.line, s.names, s.changes, s.logs) for s in local.trace.steps]
    assert pooled_steps == local_steps and len(pooled_steps) > 8
    assert pooled.trace.executed == local.trace.executed
    # the pool has no HTTP client: the answer came from the fixture, inside the worker
    assert pool.http is None and pool.restarts == {}


async def test_a_debug_run_performs_no_effect_without_a_fixture(pool: WorkerPool) -> None:
    sample = DebugSample(entity={"id": "d1"})
    report = await debug_in_pool(pool, SOURCE, sample, phase=ExecutionPhase.AFTER)
    assert report.result.status is ExecutionStatus.ERROR
    assert "no http_fixture for POST https://hooks.example/score" in report.result.error.message
    assert report.result.changes == {}


async def test_fixtures_run_in_workers_and_are_judged() -> None:
    script = Script(
        name="gate",
        source="if entity['amount'] < 100:\n    abort('too small')\nentity['ok'] = True\n",
        trigger=EventTrigger(entity_type="deal", event="before_create"),
        fixtures=[
            Fixture.model_validate(
                {"name": "small", "entity": {"amount": 5}, "expect": {"outcome": "rejected"}}
            ),
            Fixture.model_validate(
                {
                    "name": "big",
                    "entity": {"amount": 500},
                    "expect": {"outcome": "continue", "changes": {"ok": False}},
                }
            ),
        ],
    )
    async with WorkerPool(config=PoolConfig(size=1)) as pool:
        reports = await fixtures_in_pool(pool, script)
        assert [(r.name, r.passed) for r in reports] == [("small", True), ("big", False)]
        assert pool.restarts == {}


async def test_a_c_level_overrun_under_debug_holds_a_worker_not_the_service() -> None:
    source = "xs = [i * (2**61 - 1) for i in range(10000)]\nys = set(xs)"
    async with WorkerPool(EngineConfig(timeout=0.1), PoolConfig(size=1)) as pool:
        sample = DebugSample(entity={})
        warm = source.replace("set(", "len(")
        await debug_in_pool(pool, warm, sample, trace=False)
        started = time.perf_counter()
        report = await debug_in_pool(pool, source, sample, trace=False)
        took = time.perf_counter() - started
        assert (report.result.status, report.result.limit) == (ExecutionStatus.TIMEOUT, "timeout")
        assert took < 0.1 + pool.config.kill_grace + 0.5, f"answered after {took:.2f} s"


def valid_part() -> dict[str, Any]:
    return {
        "trace": {
            "steps": [
                {
                    "line": 1,
                    "operations": 2,
                    "names": {"x": "1"},
                    "changes": {},
                    "removed": [],
                    "logs": [],
                }
            ],
            "executed": 1,
            "truncated": None,
        },
        "intents": [{"kind": "emit", "event_type": "e", "payload": {"a": 1}}],
    }


def test_a_valid_debug_part_is_taken() -> None:
    debug = DebugRun()
    emitted = debug.take(valid_part())
    assert [(e.event_type, e.payload) for e in emitted] == [("e", {"a": 1})]
    assert debug.steps.steps[0].names == {"x": "1"} and debug.steps.executed == 1


def _set(part: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    target: Any = part
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return part


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("trace", "steps"),
        ("trace.steps", [{}] * 1001),
        ("trace.truncated", "because"),
        ("trace.executed", -1),
        ("trace.steps.0.line", "1"),
        ("trace.steps.0.names", {"x": 1}),
        ("trace.steps.0.names", {"x": "y" * 5000}),
        ("trace.steps.0.logs", ["\ud800"]),
        ("trace.steps.0.removed", "x"),
        ("intents", [{"kind": "exec"}]),
        ("intents", [{"kind": "emit", "event_type": 1, "payload": {}}]),
        ("intents", [{"kind": "http", "body": float("nan")}]),
        ("intents", [{"kind": "emit"}] * 1001),
    ],
)
def test_a_hostile_debug_part_is_a_protocol_error(path: str, value: Any) -> None:
    with pytest.raises(ProtocolError):
        DebugRun().take(_set(valid_part(), path, value))


def test_no_debug_part_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        DebugRun().take(None)


def test_a_trace_too_large_for_a_frame_is_cut_and_says_so() -> None:
    step = {"line": 1, "operations": 1, "names": {}, "changes": {}, "removed": [], "logs": []}
    step["logs"] = ["x" * 4000] * 20  # 80 KB a step, 8 MB in all
    frame = {"t": "result", "debug": {"trace": {"steps": [step] * 100}, "intents": []}}
    fitted = fit(frame)
    assert len(encode(fitted)) <= MAX_RESPONSE_FRAME
    assert 0 < len(fitted["debug"]["trace"]["steps"]) < 100
    assert fitted["debug"]["trace"]["truncated"] == "size"
