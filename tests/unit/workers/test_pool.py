"""The worker pool with real worker processes: results, deadlines, deaths, recycling, fairness."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from alloy_scripting.engine import EngineConfig, create_default_engine
from alloy_scripting.model.enums import EventType, ExecutionPhase, ExecutionStatus
from alloy_scripting.runner.workers import PoolConfig, RunRequest, WorkerPool

#: One C call (`sorted` of 3,000 distinct 60 KB strings, ~300 ms) inside every size limit,
#: after ~130 ms of building them: in-process the engine sees the clock again only after it.
#: `set()` of 10,000 colliding keys: one C-level step of ~0.7 s, with little memory.
C_OVERRUN = "xs = [i * (2**61 - 1) for i in range(10000)]\nys = set(xs)"
OVERRUN_DEADLINE = 0.1
OVERRUN_LIMITS = EngineConfig(timeout=OVERRUN_DEADLINE, max_memory=1 << 30, warn_after=5)
#: ~30 ms of sandboxed Python, inside every limit.
BUSY = "total = 0\nfor i in range(20000):\n    total += i * i % 7\nentity['t'] = total"


def manual(source: str, *, tenant: str | None = None, **fields: object) -> RunRequest:
    entity = fields.pop("entity", {"n": 1})
    return RunRequest(
        source,
        ExecutionPhase.MANUAL,
        entity=entity,  # type: ignore[arg-type]
        ctx={"entity_id": "e-1", "entity_type": "deal", "tenant_id": tenant},
        tenant_id=tenant,
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    async with WorkerPool(config=PoolConfig(size=2)) as started:
        yield started


async def settled(pool: WorkerPool, size: int) -> None:
    for _ in range(200):
        if pool.workers == size and not pool._starting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the pool did not get back to {size} workers")


async def test_a_run_in_a_worker_gives_the_inline_result(pool: WorkerPool) -> None:
    source = "entity['total'] = entity['n'] * 3\ndel entity['gone']\nlog('hi', ctx.entity_id)"
    request = manual(source, entity={"n": 2, "gone": True, "keep": "x"})
    result = await pool.run(request)
    inline = create_default_engine().execute(
        source, phase="manual", entity={"n": 2, "gone": True, "keep": "x"}, ctx=request.ctx
    )
    assert result.status is ExecutionStatus.SUCCESS
    assert (
        (result.changes, result.removed)
        == (inline.changes, inline.removed)
        == ({"total": 6}, ["gone"])
    )
    assert result.entity == {"n": 2, "keep": "x", "total": 6}
    assert [(e.level, e.message) for e in result.logs] == [("info", "hi e-1")]
    aborted = await pool.run(
        RunRequest("abort('no')", ExecutionPhase.BEFORE, event=EventType.BEFORE_CREATE, entity={})
    )
    assert (aborted.status, aborted.reason) == (ExecutionStatus.ABORTED, "no")


async def test_emit_goes_through_the_host_and_only_its_record_counts(pool: WorkerPool) -> None:
    result = await pool.run(manual("emit('deal.big', {'n': entity['n']})\nemit('x')"))
    assert result.status is ExecutionStatus.SUCCESS
    assert [(e.event_type, e.payload) for e in result.emitted] == [
        ("deal.big", {"n": 1}),
        ("x", {}),
    ]
    over = await pool.run(manual("for i in range(101):\n    emit('e', {'i': i})"))
    assert (over.status, over.limit) == (ExecutionStatus.LIMIT_EXCEEDED, "emits")
    before = await pool.run(
        RunRequest("emit('x')", ExecutionPhase.BEFORE, event=EventType.BEFORE_CREATE, entity={})
    )
    assert before.status is ExecutionStatus.ERROR and "not available" in before.error.message


async def test_a_c_level_overrun_ends_at_the_deadline() -> None:
    # `set(xs)` is one C-level step: measured bare, it outlasts the deadline (~0.7 s here),
    # so an in-process engine would see its clock again only after it.
    xs = [i * (2**61 - 1) for i in range(10000)]
    step_started = time.perf_counter()
    set(xs)
    step_took = time.perf_counter() - step_started
    async with WorkerPool(OVERRUN_LIMITS, PoolConfig(size=1)) as pool:
        await pool.run(manual(C_OVERRUN.replace("set(", "len(")))  # compiled, warm
        started = time.perf_counter()
        result = await pool.run(manual(C_OVERRUN))
        took = time.perf_counter() - started
        # The pool answers at the deadline whatever the worker does.
        assert step_took > 1.5 * OVERRUN_DEADLINE, f"one step: {step_took * 1000:.0f} ms"
        assert (result.status, result.limit) == (ExecutionStatus.TIMEOUT, "timeout")
        assert took <= OVERRUN_DEADLINE + 0.05, f"answered after {took * 1000:.0f} ms"
        # The worker was either killed (`kill_after` later) or came back by itself.
        await asyncio.sleep(pool.config.kill_after + 0.5)
        await settled(pool, 1)
        assert set(pool.restarts) <= {"timeout"}
        assert (await pool.run(manual("entity['ok'] = True"))).changes == {"ok": True}


async def test_a_worker_killed_during_a_run_fails_that_run_only() -> None:
    slow_script = BUSY.replace("20000", "45000")
    async with WorkerPool(EngineConfig(timeout=5), PoolConfig(size=2)) as pool:
        await asyncio.gather(*(pool.run(manual(slow_script, tenant=t)) for t in "ab"))  # warm
        first = asyncio.ensure_future(pool.run(manual(slow_script, tenant="a")))
        second = asyncio.ensure_future(pool.run(manual(slow_script, tenant="b")))
        await asyncio.sleep(0.01)
        busy = [w for w in pool._workers if w not in pool._idle]
        assert len(busy) == 2
        os.kill(busy[0].pid, signal.SIGKILL)
        results = await asyncio.gather(first, second)
        statuses = sorted(r.status.value for r in results)
        assert statuses == ["error", "success"]
        failed = next(r for r in results if r.status is ExecutionStatus.ERROR)
        assert failed.error is not None and failed.error.type == "WorkerError"
        assert pool.restarts == {"crash": 1}
        await settled(pool, 2)
        assert busy[0].pid not in pool.pids()
        assert (await pool.run(manual("entity['n'] = 5"))).changes == {"n": 5}


async def test_memory_exhaustion_is_a_limit_and_a_fresh_worker() -> None:
    config = PoolConfig(size=1, memory_limit=64 * 1024 * 1024)
    engine = EngineConfig(max_memory=1 << 30, timeout=2)  # the OS limit comes first
    async with WorkerPool(engine, config) as pool:
        before = pool.pids()
        result = await pool.run(manual('xs = ["a" * 60000 + str(i) for i in range(3000)]'))
        assert (result.status, result.limit) == (ExecutionStatus.LIMIT_EXCEEDED, "memory")
        assert pool.restarts == {"memory": 1}
        await settled(pool, 1)
        assert pool.pids() != before
        assert (await pool.run(manual("entity['n'] = 2"))).status is ExecutionStatus.SUCCESS


async def test_workers_are_recycled_without_losing_capacity() -> None:
    async with WorkerPool(config=PoolConfig(size=1, recycle_after=3)) as pool:
        first = pool.pids()
        results = [await pool.run(manual(f"entity['m'] = {i}")) for i in range(3)]
        for _ in range(200):  # the old worker serves on until its successor is ready
            if pool.restarts:
                break
            await asyncio.sleep(0.05)
        await settled(pool, 1)
        second = pool.pids()
        results += [await pool.run(manual(f"entity['m'] = {i}")) for i in range(3, 5)]
        assert [r.changes["m"] for r in results] == [0, 1, 2, 3, 4]
        assert first != second and pool.restarts == {"recycle": 1}


async def test_a_saturating_tenant_does_not_hold_the_others_back() -> None:
    # A generous timeout: the noisy runs must not time out on a busy machine.
    async with WorkerPool(EngineConfig(timeout=2), PoolConfig(size=2, per_tenant=1)) as pool:
        noisy = [asyncio.ensure_future(pool.run(manual(BUSY, tenant="noisy"))) for _ in range(6)]
        await asyncio.sleep(0.01)
        started = time.perf_counter()
        quiet = await pool.run(manual("entity['q'] = 1", tenant="quiet"))
        quiet_took = time.perf_counter() - started
        assert quiet.status is ExecutionStatus.SUCCESS
        # The noisy tenant's runs go one at a time (its cap): most of them still wait.
        assert sum(f.done() for f in noisy) <= 2, "the quiet run waited behind the noisy queue"
        waiting = REGISTRY.get_sample_value("alloy_worker_waiting_runs")  # read when scraped
        assert waiting == pool.queue.waiting() >= 3
        assert quiet_took < 0.5
        assert all(r.status is ExecutionStatus.SUCCESS for r in await asyncio.gather(*noisy))
        assert pool.queue.busy == {}
        assert REGISTRY.get_sample_value("alloy_worker_waiting_runs") == 0


async def test_a_run_waiting_past_its_deadline_is_answered_timeout() -> None:
    async with WorkerPool(EngineConfig(timeout=2), PoolConfig(size=1)) as pool:
        holding = asyncio.ensure_future(pool.run(manual(BUSY, tenant="a")))
        await asyncio.sleep(0.005)
        started = time.perf_counter()
        late = await pool.run(manual("entity['n'] = 2", tenant="b", wait_limit=0.01))
        assert (late.status, late.limit) == (ExecutionStatus.TIMEOUT, "queue")
        assert time.perf_counter() - started < 0.5  # far below the 2 s the held run takes
        assert (await holding).status is ExecutionStatus.SUCCESS
        assert pool.queue.waiting() == 0 and pool.restarts == {}


async def test_host_calls_wait_on_their_own_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiting on the service is not CPU time: three 40 ms emits fit a 100 ms deadline; the
    host-call budget is what bounds them."""
    from alloy_scripting.bridge import host_calls

    original = host_calls.HOST_FUNCTIONS["emit"]

    async def slow_emit(run: host_calls.HostRun, arguments: list[object]) -> None:
        await asyncio.sleep(0.04)
        await original.handle(run, arguments)

    slow = host_calls.HostFunction("emit", original.prepare, slow_emit)
    monkeypatch.setitem(host_calls.HOST_FUNCTIONS, "emit", slow)  # type: ignore[index]
    script = "for i in range(3):\n    emit('e', {'i': i})"
    async with WorkerPool(config=PoolConfig(size=1, host_call_budget=0.5)) as pool:
        result = await pool.run(manual(script))
        assert result.status is ExecutionStatus.SUCCESS, result
        assert [e.payload for e in result.emitted] == [{"i": 0}, {"i": 1}, {"i": 2}]
    async with WorkerPool(config=PoolConfig(size=1, host_call_budget=0.06)) as pool:
        result = await pool.run(manual(script))
        assert (result.status, result.limit) == (ExecutionStatus.LIMIT_EXCEEDED, "host_time")
        assert pool.restarts == {}  # a budget breach is the script's, the worker is fine


async def test_a_worker_that_died_while_idle_is_replaced_before_a_run() -> None:
    async with WorkerPool(config=PoolConfig(size=1)) as pool:
        (victim,) = pool.pids()
        os.kill(victim, signal.SIGKILL)
        await asyncio.sleep(0.2)
        result = await pool.run(manual("entity['m'] = 1"))
        assert result.status is ExecutionStatus.SUCCESS and result.changes == {"m": 1}
        assert pool.restarts == {"crash": 1} and victim not in pool.pids()


async def test_not_a_number_in_a_runs_data_ends_as_it_does_in_process(pool: WorkerPool) -> None:
    """NaN crosses to the worker (MessagePack carries it): untouched, the run succeeds; a
    script that puts it into the entity fails, in the worker as in-process."""
    engine = create_default_engine()
    for source in ("entity['seen'] = True", "entity['y'] = entity['x']"):
        result = await pool.run(manual(source, entity={"x": float("nan")}))
        inline = engine.execute(source, phase="manual", entity={"x": float("nan")})
        assert (result.status, result.changes, result.error and result.error.type) == (
            inline.status,
            inline.changes,
            inline.error and inline.error.type,
        ), source
        assert result.status is (
            ExecutionStatus.SUCCESS if "seen" in source else ExecutionStatus.ERROR
        ), result
