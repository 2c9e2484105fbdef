"""Hooks through the worker pool (the service default) on the real Kafka and FerretDB:
scripts that overrun in C or kill their worker end as answers, and count as failures."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from alloy_scripting.model import ScriptStatus
from alloy_scripting.model.outcomes import Continue, Error
from alloy_scripting.runner.workers import available_cpus

from .conftest import Service

pytestmark = pytest.mark.integration

#: ~1 s of string work (under 50,000 operations), far past the 100 ms timeout.
OVERRUN = 's = "a" * 60000\nfor i in range(40000):\n    t = s.upper()'


async def test_the_service_runs_scripts_in_its_worker_pool(service: Service) -> None:
    pool = service.runtime.pool
    assert pool is not None and pool.workers == available_cpus()
    assert set(pool.pids()).isdisjoint({os.getpid()})
    await service.add_script("total", "entity['total'] = entity['n'] * 2", "deal", "before_create")
    async with service.client() as hooks:
        outcome = await hooks.before("deal", "before_create", "d1", {"n": 21})
    assert isinstance(outcome, Continue) and outcome.changes == {"total": 42}


async def test_repeated_timeouts_disable_the_script(service: Service) -> None:
    script = await service.add_script("overrun", OVERRUN, "deal", "before_create")
    pool = service.runtime.pool
    assert pool is not None
    async with service.client() as hooks:
        for _ in range(3):
            started = time.perf_counter()
            outcome = await hooks.before("deal", "before_create", "d1", {"amount": 1})
            assert isinstance(outcome, Error), outcome
            assert outcome.error_type == "timeout" and outcome.script == "overrun"
            assert time.perf_counter() - started < 5
        stored = await service.stores.scripts.get(script.id)
        assert stored.status is ScriptStatus.DISABLED and stored.error_count == 3
        assert stored.last_error is not None and "timeout" in stored.last_error.message
        outcome = await hooks.before("deal", "before_create", "d1", {"amount": 1})
    assert isinstance(outcome, Continue) and outcome.executed == []


async def test_a_worker_killed_mid_hook_is_one_error_answer(service: Service) -> None:
    slow = "total = 0\nfor i in range(45000):\n    total += i % 7\nentity['t'] = total"
    await service.add_script("slow", slow, "deal", "before_create")
    pool = service.runtime.pool
    assert pool is not None
    async with service.client() as hooks:
        pending = asyncio.ensure_future(hooks.before("deal", "before_create", "d1", {"n": 1}))
        for _ in range(500):
            busy = [w for w in pool._workers if w not in pool._idle]
            if busy:
                break
            await asyncio.sleep(0.002)
        os.kill(busy[0].pid, signal.SIGKILL)
        outcome = await pending
        assert isinstance(outcome, Error) and outcome.error_type == "error"
        after = await hooks.before("deal", "before_create", "d2", {"n": 1})
    assert isinstance(after, Continue) or (
        isinstance(after, Error) and after.error_type == "timeout"
    )
    assert pool.restarts.get("crash") == 1
