"""Who runs when: borrowing (a tenant at its cap takes an idle worker for a quick run when
no other tenant waits; never for a slow or unknown script, never ahead of a tenant below
its cap) and workers' lower CPU priority than the service."""

from __future__ import annotations

import asyncio

from alloy_scripting.runner.workers import PoolConfig, WorkerPool
from alloy_scripting.runner.workers.fairness import FairQueue, Waiter

from .test_pipelining import LONG, LOOP
from .test_pool import BUSY, manual


def waiter(tenant: str, cost: float) -> Waiter:
    return Waiter(tenant, asyncio.get_running_loop().create_future(), 0.0, cost)


async def test_a_quick_waiting_run_is_served_when_every_waiting_tenant_is_at_its_cap() -> None:
    queue = FairQueue(per_tenant=1)
    queue.started("a")
    queue.started("b")
    queue.push(waiter("a", 5.0))  # slow: never borrows
    queue.push(waiter("b", 0.001))
    assert queue.next_waiter() is None  # both at their cap
    quick = queue.next_quick(0.002)
    assert quick is not None and quick.tenant == "b"
    assert queue.next_quick(0.002) is None and queue.waiting() == 1


async def test_a_tenant_below_its_cap_comes_before_a_borrower() -> None:
    queue = FairQueue(per_tenant=1)
    queue.started("a")
    queue.push(waiter("a", 0.001))
    queue.push(waiter("b", 5.0))
    first = queue.next_waiter()  # what the pool asks first for an idle worker
    assert first is not None and first.tenant == "b"


async def test_quick_runs_of_one_tenant_use_every_worker() -> None:
    async with WorkerPool(LONG, PoolConfig(size=2, per_tenant=1)) as pool:
        await pool.run(manual(LOOP, tenant="a", entity={"n": 10}))  # learned quick
        # Now two long runs of that (quick-known) script: the second borrows the other worker.
        runs = [
            asyncio.ensure_future(pool.run(manual(LOOP, tenant="a", entity={"n": 3_000_000})))
            for _ in range(2)
        ]
        await asyncio.sleep(0.05)
        assert pool.queue.busy.get("a") == 2 and pool.queue.waiting() == 0
        assert all(w.in_flight == 1 for w in pool._workers)
        await asyncio.gather(*runs)


async def test_a_slow_script_keeps_to_its_cap() -> None:
    async with WorkerPool(LONG, PoolConfig(size=2, per_tenant=1)) as pool:
        await pool.run(manual(BUSY, tenant="a"))  # ~30 ms: known slow
        runs = [asyncio.ensure_future(pool.run(manual(BUSY, tenant="a"))) for _ in range(2)]
        await asyncio.sleep(0.01)
        assert pool.queue.busy.get("a") == 1 and pool.queue.waiting() == 1
        await asyncio.gather(*runs)


async def test_no_borrowing_when_turned_off() -> None:
    config = PoolConfig(size=2, per_tenant=1, borrow_below=0, pipeline_below=0)
    async with WorkerPool(LONG, config) as pool:
        await pool.run(manual(LOOP, tenant="a", entity={"n": 10}))
        runs = [
            asyncio.ensure_future(pool.run(manual(LOOP, tenant="a", entity={"n": 3_000_000})))
            for _ in range(2)
        ]
        await asyncio.sleep(0.05)
        assert pool.queue.busy.get("a") == 1 and pool.queue.waiting() == 1
        await asyncio.gather(*runs)


def _nice_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[16])  # field 19 of stat: nice


async def test_workers_run_nicer_than_the_service() -> None:
    import os

    base = os.getpriority(os.PRIO_PROCESS, 0)
    async with WorkerPool(config=PoolConfig(size=1, nice=5)) as pool:
        assert [_nice_of(pid) for pid in pool.pids()] == [min(base + 5, 19)]
    async with WorkerPool(config=PoolConfig(size=1, nice=0)) as pool:
        assert [_nice_of(pid) for pid in pool.pids()] == [base]
