"""The orchestrator with a worker pool: every kind of run goes through the workers."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator

import pytest

from alloy_scripting.engine import create_default_engine
from alloy_scripting.model import EventType, ExecutionStatus
from alloy_scripting.model.outcomes import Continue, Error
from alloy_scripting.model.script import Event, Script
from alloy_scripting.runner.orchestrator import ScriptOrchestrator
from alloy_scripting.runner.service import worker_pool
from alloy_scripting.runner.workers import PoolConfig, WorkerPool
from alloy_scripting.settings import Settings
from alloy_scripting.storage import InMemoryStores

PID_PROBE = "entity['seen'] = True\nemit('ran', {'n': entity.get('n', 0)})"


@pytest.fixture
async def setup() -> AsyncIterator[tuple[ScriptOrchestrator, InMemoryStores, WorkerPool]]:
    stores = InMemoryStores()
    engine = create_default_engine()
    async with WorkerPool(engine.config, PoolConfig(size=1)) as pool:
        orchestrator = ScriptOrchestrator(
            stores.scripts, engine, stores.executions, pool=pool, before_wait=1.0
        )
        yield orchestrator, stores, pool


async def save(stores: InMemoryStores, name: str, source: str, event: EventType) -> Script:
    script = Script.new(name, source, Event("deal", event)).activate()
    return await stores.scripts.save(script)


async def test_manual_scheduled_and_after_runs_use_the_workers(setup) -> None:  # type: ignore[no-untyped-def]
    orchestrator, stores, pool = setup
    script = await save(stores, "probe", PID_PROBE, EventType.AFTER_CREATE)
    _, result, effects = await orchestrator.run_manual(script.id, entity={"n": 3}, dry_run=True)
    assert result.status is ExecutionStatus.SUCCESS and [e.payload for e in effects] == [{"n": 3}]
    _, scheduled, _ = await orchestrator.run_scheduled(script, dt.datetime.now(dt.UTC))
    assert scheduled.status is ExecutionStatus.SUCCESS
    outcome = await orchestrator.run_after("deal", "after_create", {"n": 5})
    assert [e.payload for e in outcome.effects] == [{"n": 5}]
    # Three runs reached the worker (its run counter), none ran in this process.
    assert next(iter(pool._workers)).runs >= 3


async def test_before_hook_timeouts_in_workers_disable_the_script(setup) -> None:  # type: ignore[no-untyped-def]
    orchestrator, stores, _ = setup
    overrun = 's = "a" * 60000\nfor i in range(40000):\n    t = s.upper()'  # ~1 s
    script = await save(stores, "overrun", overrun, EventType.BEFORE_CREATE)
    for _ in range(3):
        outcome = await orchestrator.run_before("deal", "before_create", {"n": 1})
        assert isinstance(outcome, Error) and outcome.error_type == "timeout"
    stored = await stores.scripts.get(script.id)
    assert stored.error_count == 3 and stored.status.value == "disabled"
    assert isinstance(await orchestrator.run_before("deal", "before_create", {"n": 1}), Continue)


def test_settings_choose_the_execution_mode() -> None:
    engine = create_default_engine()
    assert worker_pool(Settings(_env_file=None, execution_mode="inline"), engine) is None  # type: ignore[call-arg]
    pool = worker_pool(Settings(_env_file=None, worker_pool_size=3, worker_tenant_limit=2), engine)  # type: ignore[call-arg]
    assert pool is not None and pool.config.size == 3 and pool.queue.per_tenant == 2
    assert Settings(_env_file=None).execution_mode == "pool"  # type: ignore[call-arg]
    assert os.environ.get("ALLOY_EXECUTION_MODE") in (None, "pool")


def test_settings_tune_quick_runs_and_priority() -> None:
    engine = create_default_engine()
    default = worker_pool(Settings(_env_file=None), engine)  # type: ignore[call-arg]
    assert default is not None
    assert (default.config.pipeline_below, default.config.borrow_below) == (0.002, 0.002)
    assert default.config.nice == 5
    tuned = worker_pool(
        Settings(_env_file=None, worker_quick_run_ms=0, worker_nice=0),  # type: ignore[call-arg]
        engine,
    )
    assert tuned is not None
    assert (tuned.config.pipeline_below, tuned.config.borrow_below, tuned.config.nice) == (0, 0, 0)
