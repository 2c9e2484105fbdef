"""The scheduler on the real MongoDB-wire server: two instances, one execution per tick."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from alloy_scripting.engine import create_default_engine
from alloy_scripting.model.enums import ExecutionPhase, ExecutionStatus
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.script import Cron, Script
from alloy_scripting.runner.orchestrator import ScriptOrchestrator
from alloy_scripting.runner.scheduler import Scheduler
from alloy_scripting.storage.mongo import COLLECTIONS, MongoStores

pytestmark = pytest.mark.integration

Run = Callable[[Script, datetime], Awaitable[Any]]


def scheduled_run(stores: MongoStores) -> Run:
    """The real ``orchestrator.run_scheduled``: engine, Mongo registry and execution log."""
    orchestrator = ScriptOrchestrator(stores.scripts, create_default_engine(), stores.executions)
    return orchestrator.run_scheduled


def scheduled_at(record: ExecutionRecord) -> datetime:
    assert record.correlation_id is not None
    kind, _, instant = record.correlation_id.split(":", 2)
    assert kind == "cron"
    return datetime.fromisoformat(instant)


async def test_two_instances_run_each_per_second_tick_exactly_once(mongo_db: Any) -> None:
    stores_a, stores_b = MongoStores(mongo_db), MongoStores(mongo_db)  # as two processes would
    await stores_a.ensure_indexes()
    script = Script.new("every_second", "x = 1", Cron("* * * * * *"), tenant_id="acme").activate()
    script = await stores_a.scripts.for_tenant("acme").save(script)
    run_a, run_b = scheduled_run(stores_a), scheduled_run(stores_b)
    a = Scheduler(stores_a.scripts, stores_a.ticks, run_a, instance_id="instance-a")
    b = Scheduler(stores_b.scripts, stores_b.ticks, run_b, instance_id="instance-b")

    await asyncio.gather(a.start(), b.start())
    try:
        await asyncio.sleep(4.6)
    finally:
        await asyncio.gather(a.stop(), b.stop())

    page = await stores_a.executions.for_tenant("acme").find_by_script(script.id, limit=100)
    ticks = sorted(scheduled_at(r) for r in page.items)
    assert len(ticks) >= 4, ticks
    assert len(set(ticks)) == len(ticks), "a tick ran twice"
    assert all(t.microsecond == 0 for t in ticks)
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert all(g == timedelta(seconds=1) for g in gaps), f"not consecutive seconds: {ticks}"
    assert all(r.phase is ExecutionPhase.SCHEDULED for r in page.items)
    assert all(r.status is ExecutionStatus.SUCCESS for r in page.items), [
        r.error for r in page.items
    ]

    # the ledger holds exactly the executed ticks, each claimed by one instance
    claims = await mongo_db[COLLECTIONS["ticks"]].find({"script_id": script.id}).to_list(None)
    assert sorted(c["scheduled_at"] for c in claims) == ticks
    assert {c["instance"] for c in claims} <= {"instance-a", "instance-b"}


async def test_start_up_after_downtime_runs_the_missed_ticks_once(mongo_db: Any) -> None:
    stores = MongoStores(mongo_db)
    await stores.ensure_indexes()
    script = await stores.scripts.save(
        Script.new("each_second", "x = 1", Cron("* * * * * *")).activate()
    )
    # an instance ran it once just after it was saved, then the service was down for a minute
    first = script.updated_at.replace(microsecond=0) + timedelta(seconds=1)
    assert await stores.ticks.claim(script.id, first, "old")
    now = first + timedelta(seconds=60.5)
    calls: list[datetime] = []

    async def run(script: Script, at: datetime) -> None:
        calls.append(at)

    scheduler = Scheduler(
        stores.scripts, stores.ticks, run, instance_id="new", clock=lambda: now,
        misfire_grace=timedelta(seconds=30),
    )  # fmt: skip
    await scheduler.run_pending(wait=True)
    # the on-time ticks (within the 5 s threshold) run, once each, in order; the late ticks
    # within the 30 s grace would collapse to one run, but an on-time run covers them
    second = timedelta(seconds=1)
    assert calls == [now - timedelta(seconds=4.5) + i * second for i in range(5)]
    assert await stores.ticks.last_claimed(script.id) == calls[-1]
