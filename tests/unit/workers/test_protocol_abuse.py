"""A compromised worker (`rogue_worker.py`) abusing the wire: each abuse ends that run as
`error`, the worker is replaced, and the next run is served."""

from __future__ import annotations

import asyncio
import time

import pytest

from alloy_scripting.bridge.state import StateContext
from alloy_scripting.model.enums import EventType, ExecutionPhase, ExecutionStatus
from alloy_scripting.runner.workers import PoolConfig, RunRequest, WorkerPool
from alloy_scripting.runner.workers.debug_runs import DebugRun
from alloy_scripting.storage.state_memory import InMemoryStateStore

pytestmark = pytest.mark.usefixtures("rogue_boot")


def request(
    source: str, phase: ExecutionPhase = ExecutionPhase.MANUAL, *, n: int = 7
) -> RunRequest:
    event = EventType.BEFORE_CREATE if phase is ExecutionPhase.BEFORE else None
    return RunRequest(source, phase, event=event, entity={"n": n}, tenant_id="t")


ABUSES = [
    "oversized", "garbage", "not-object", "big-int", "nan", "unknown-removed",
    "too-many-logs", "bad-status", "deep", "host-unknown", "started-spam", "half-frame",
    "exit", "pickle",
]  # fmt: skip


async def test_an_abusive_answer_is_an_error_and_a_fresh_worker() -> None:
    async with WorkerPool(config=PoolConfig(size=1)) as pool:
        for count, abuse in enumerate(ABUSES, start=1):
            before = pool.pids()
            assert (await pool.run(request("ok"))).changes == {"seen": 7}
            result = await pool.run(request(abuse))
            assert result.status is ExecutionStatus.ERROR, (abuse, result)
            assert result.error is not None and result.error.type == "WorkerError", abuse
            assert result.changes == {} and result.entity == {"n": 7}
            assert sum(pool.restarts.values()) == count, abuse
            served = await pool.run(request("ok"))  # waits for the replacement
            assert served.changes == {"seen": 7}
            assert pool.pids() != before, abuse


async def test_a_frame_sent_between_runs_ends_the_worker_not_the_next_run() -> None:
    async with WorkerPool(config=PoolConfig(size=1)) as pool:
        assert (await pool.run(request("double"))).status is ExecutionStatus.SUCCESS
        # The unsolicited frame is never the next run's answer: either the worker is found
        # unhealthy before the run (which then runs on its successor) or the frame's id
        # does not match (that run fails).
        nxt = await pool.run(request("ok"))
        assert "forged" not in nxt.changes
        assert nxt.status in (ExecutionStatus.SUCCESS, ExecutionStatus.ERROR)
        assert pool.restarts == {"crash": 1}
        assert (await pool.run(request("ok"))).changes == {"seen": 7}


async def test_a_host_call_outside_its_phase_is_refused() -> None:
    async with WorkerPool(config=PoolConfig(size=1)) as pool:
        result = await pool.run(request("host-wrong-phase", ExecutionPhase.BEFORE))
        assert result.status is ExecutionStatus.ERROR and pool.restarts == {"crash": 1}


async def test_a_silent_worker_is_stopped_at_the_deadline() -> None:
    async with WorkerPool(config=PoolConfig(size=1)) as pool:
        await pool.run(request("silence-warmup"))
        started = time.perf_counter()
        result = await pool.run(request("silence"))
        assert (result.status, result.limit) == (ExecutionStatus.TIMEOUT, "timeout")
        assert time.perf_counter() - started <= 0.1 + 0.05 + pool.config.compile_allowance
        first = pool.pids()
        assert (await pool.run(request("ok"))).changes == {"seen": 7}  # a fresh worker
        assert pool.restarts == {"timeout": 1} and pool.pids() != first


async def test_a_silent_run_pipelined_behind_another_is_stopped_at_its_own_deadline() -> None:
    """Its clock starts when the run ahead is over (here after 60 ms); the timer that run
    left (kept, not added and cancelled per run) neither ends it early nor lets it run on."""
    async with WorkerPool(config=PoolConfig(size=1)) as pool:
        for _ in range(3):  # quick so far: the next runs of this source are pipelined
            assert (await pool.run(request("silence-if-one", n=0))).status.value == "success"
        started = time.perf_counter()
        ahead = asyncio.ensure_future(pool.run(request("silence-if-one", n=2)))
        await asyncio.sleep(0)
        result = await asyncio.wait_for(pool.run(request("silence-if-one", n=1)), 3)
        took = time.perf_counter() - started
        assert (await ahead).status is ExecutionStatus.SUCCESS
        assert (result.status, result.limit) == (ExecutionStatus.TIMEOUT, "timeout")
        deadline = 0.06 + pool.timing.timeout + pool.timing.kill_grace
        assert deadline <= took <= deadline + 0.1, f"answered after {took * 1000:.0f} ms"


async def test_the_worker_starts_clean() -> None:
    """No service settings or secrets in its environment, no descriptor but its pipes."""
    import os

    os.environ["ALLOY_MONGODB_URL"] = "mongodb://secret@db"
    try:
        async with WorkerPool(config=PoolConfig(size=1)) as pool:
            ready = next(iter(pool._workers)).ready
    finally:
        del os.environ["ALLOY_MONGODB_URL"]
    assert set(ready["env"]) <= {"PATH", "LANG", "LC_ALL"}
    assert set(ready["fds"]) <= {0, 1, 2, 3}  # its pipes, and the one listing the fds
    await asyncio.sleep(0)


async def test_a_debug_run_makes_no_host_call_even_when_its_worker_asks() -> None:
    """A replay or debug run has no side effects: a lying worker's `store.put` is refused
    (the worker is replaced); the same call in an ordinary run writes, so the check bites."""
    store = InMemoryStateStore()

    def put(debug: DebugRun | None) -> RunRequest:
        state = StateContext.for_run(store, "t", ExecutionPhase.MANUAL)
        return RunRequest(
            "host-store-put", ExecutionPhase.MANUAL, entity={"n": 7}, tenant_id="t",
            state=state, debug=debug,
        )  # fmt: skip

    async with WorkerPool(config=PoolConfig(size=1)) as pool:
        lied = await pool.run(put(DebugRun(trace=False)))
        assert lied.status is ExecutionStatus.ERROR and pool.restarts == {"crash": 1}
        assert lied.error is not None and lied.error.type == "WorkerError"
        assert await store.get("t", "c", "k") is None
        ordinary = await pool.run(put(None))
        assert ordinary.changes == {"reply_ok": True}
        assert await store.get("t", "c", "k") is not None
