"""A script's own limits cross to its worker: more operations, a longer timeout (the pool's
deadline follows it), a smaller budget."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from alloy_scripting.engine import EngineConfig
from alloy_scripting.model.enums import ExecutionStatus
from alloy_scripting.model.limits import ScriptLimits
from alloy_scripting.runner.workers import PoolConfig, WorkerPool
from tests.unit.workers.test_pool import manual

LOOP = "total = 0\nfor i in range(3000):\n    total += i\nentity['t'] = total"
SPIN = "n = 0\nwhile True:\n    n += 1"


@pytest.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    config = EngineConfig(max_operations=1000, timeout=0.1, max_memory=1 << 30)
    async with WorkerPool(config, PoolConfig(size=1)) as started:
        yield started


async def test_limits_cross_to_the_worker(pool: WorkerPool) -> None:
    default = await pool.run(manual(LOOP))
    assert default.status is ExecutionStatus.LIMIT_EXCEEDED and default.limit == "operations"

    roomy = await pool.run(manual(LOOP, limits=ScriptLimits(max_operations=10_000)))
    assert roomy.status is ExecutionStatus.SUCCESS, roomy.error
    assert roomy.changes == {"t": sum(range(3000))}

    tight = await pool.run(
        manual("x = [i for i in range(50)]", limits=ScriptLimits(max_operations=10))
    )
    assert tight.status is ExecutionStatus.LIMIT_EXCEEDED and "10 operations" in str(tight.error)


async def test_a_longer_timeout_moves_the_pools_deadline(pool: WorkerPool) -> None:
    spin = await pool.run(
        manual(SPIN, limits=ScriptLimits(timeout_ms=400, max_operations=100_000_000))
    )
    assert spin.status is ExecutionStatus.TIMEOUT
    assert spin.duration_ms >= 350, spin.duration_ms  # not cut at the pool's 100 ms
    assert "400 ms" in str(spin.error)
