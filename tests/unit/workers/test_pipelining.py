"""Pipelining: a run sent to a busy worker behind a quick run, never behind a slow one; a
run whose worker ends before its turn runs on another worker."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from alloy_scripting.engine import EngineConfig
from alloy_scripting.model.enums import ExecutionStatus
from alloy_scripting.runner.workers import PoolConfig, WorkerPool
from alloy_scripting.runner.workers.child import MAX_QUEUED_RUNS
from alloy_scripting.runner.workers.process import WorkerProcess

from .test_pool import BUSY, manual, settled

QUICK = "entity['double'] = entity['n'] * 2"
#: Quick for a small `n`, as slow as one likes for a large one (its cost is learned small).
LOOP = "i = 0\nwhile i < entity['n']:\n    i += 1\nentity['i'] = i"
LONG = EngineConfig(timeout=5, max_operations=10**9)


def record_takes(pool: WorkerPool) -> list[int]:
    """How many runs the chosen worker already had in flight, for each run handed out."""
    seen: list[int] = []
    take = pool._take

    def recording(worker: WorkerProcess, tenant: str, cost: float) -> None:
        seen.append(worker.in_flight)
        take(worker, tenant, cost)

    pool._take = recording  # type: ignore[method-assign]
    return seen


async def test_quick_runs_are_pipelined_and_each_gets_its_own_result() -> None:
    async with WorkerPool(config=PoolConfig(size=1)) as pool:
        await pool.run(manual(QUICK))  # its cost is known from now on
        seen = record_takes(pool)
        results = await asyncio.gather(
            *(pool.run(manual(QUICK, entity={"n": n})) for n in range(40))
        )
        assert [r.status for r in results] == [ExecutionStatus.SUCCESS] * 40
        assert [r.changes for r in results] == [{"double": 2 * n} for n in range(40)]
        assert max(seen) >= 1, "no run was sent to a busy worker"
        assert pool.restarts == {}


async def test_nothing_is_pipelined_behind_a_slow_script() -> None:
    async with WorkerPool(EngineConfig(timeout=5), PoolConfig(size=1)) as pool:
        await pool.run(manual(BUSY))  # ~30 ms: known slow from now on
        await pool.run(manual(QUICK))
        seen = record_takes(pool)
        slow = asyncio.ensure_future(pool.run(manual(BUSY)))
        await asyncio.sleep(0)
        quick = await pool.run(manual(QUICK, entity={"n": 4}))
        assert quick.changes == {"double": 8}
        assert (await slow).status is ExecutionStatus.SUCCESS
        assert seen == [0, 0], "the quick run was sent behind the slow one"


async def test_a_run_pipelined_behind_a_run_that_ends_its_worker_runs_elsewhere() -> None:
    async with WorkerPool(LONG, PoolConfig(size=1)) as pool:
        await pool.run(manual(LOOP, entity={"n": 10}))  # learned quick
        await pool.run(manual(QUICK))
        seen = record_takes(pool)
        doomed = asyncio.ensure_future(pool.run(manual(LOOP, entity={"n": 10**7})))
        await asyncio.sleep(0)
        behind = asyncio.ensure_future(pool.run(manual(QUICK, entity={"n": 21})))
        await asyncio.sleep(0.2)
        assert seen == [0, 1], "the second run was not pipelined behind the first"
        (worker,) = pool._workers
        os.kill(worker.pid, signal.SIGKILL)
        failed, result = await asyncio.gather(doomed, behind)
        assert failed.status is ExecutionStatus.ERROR
        assert failed.error is not None and failed.error.type == "WorkerError"
        # Never started on the dead worker: run on its replacement, exactly once.
        assert (result.status, result.changes) == (ExecutionStatus.SUCCESS, {"double": 42})
        assert pool.restarts == {"crash": 1}
        await settled(pool, 1)
        assert worker.pid not in pool.pids()


async def test_quick_runs_go_several_deep_and_the_runs_handed_out_together_cost_one_write() -> None:
    async with WorkerPool(config=PoolConfig(size=1, pipeline_depth=6)) as pool:
        await pool.run(manual(QUICK))  # its cost is known from now on
        seen = record_takes(pool)
        (worker,) = pool._workers
        writes: list[int] = []
        write = worker._writer.write

        def counting(data: bytes | bytearray | memoryview) -> None:
            writes.append(len(data))
            write(data)

        worker._writer.write = counting  # type: ignore[method-assign]
        results = await asyncio.gather(
            *(pool.run(manual(QUICK, entity={"n": n})) for n in range(6))
        )
        assert [r.changes for r in results] == [{"double": 2 * n} for n in range(6)]
        assert seen == [0, 1, 2, 3, 4, 5], "not every run went to the worker at once"
        assert len(writes) == 1, f"{len(writes)} writes for six runs handed out together"
        seen.clear()
        await asyncio.gather(*(pool.run(manual(QUICK, entity={"n": n})) for n in range(9)))
        assert max(seen) == 5, "more runs in flight on one worker than pipeline_depth"


def test_pipeline_depth_is_bounded_by_what_a_worker_queues() -> None:
    with pytest.raises(ValueError, match="pipeline_depth"):
        PoolConfig(size=1, pipeline_depth=MAX_QUEUED_RUNS + 2)
    with pytest.raises(ValueError, match="pipeline_depth"):
        PoolConfig(size=1, pipeline_depth=0)


async def test_the_results_read_together_end_their_runs_in_the_same_turn() -> None:
    """Frames are handed to their runs as they are read, not by one coroutine per run in
    turn: runs pipelined onto a worker whose results arrive in one read all end in the
    same turn of the event loop (so their answers leave together), not one turn apart."""
    loop = asyncio.get_running_loop()
    turn = 0

    def tick() -> None:
        nonlocal turn
        turn += 1
        loop.call_soon(tick)

    async with WorkerPool(LONG, PoolConfig(size=1)) as pool:
        await pool.run(manual(QUICK))  # known quick: the runs below are pipelined
        await pool.run(manual(LOOP, entity={"n": 1}))  # learned quick, slow for a large n
        seen = record_takes(pool)
        ended: list[int] = []

        async def run(source: str, n: int) -> None:
            result = await pool.run(manual(source, entity={"n": n}))
            assert result.status is ExecutionStatus.SUCCESS, result
            ended.append(turn)

        # The first keeps the worker busy (~20 ms) while the others are handed out.
        runs = [asyncio.ensure_future(run(LOOP, 50_000))]
        runs += [asyncio.ensure_future(run(QUICK, n)) for n in range(10)]
        for _ in range(5):  # the runs are handed out and their frames written
            await asyncio.sleep(0)
        assert len(seen) == 11, "the runs were not all sent to the busy worker"
        # The loop is held (deliberately blocking) while the worker answers them all:
        # one read then takes every result.
        time.sleep(0.5)  # noqa: ASYNC251
        loop.call_soon(tick)
        await asyncio.gather(*runs)
        assert len(set(ended)) <= 3, f"the runs ended over {len(set(ended))} turns"
