"""A script instantiated from a template answers hooks with its parameters as `config`:
inline and in worker processes, through the orchestrator as the service runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from alloy_scripting.engine import create_default_engine
from alloy_scripting.model.outcomes import Continue, Rejected
from alloy_scripting.model.script import Script
from alloy_scripting.model.template_catalogue import builtin_template
from alloy_scripting.runner.orchestrator import ScriptOrchestrator
from alloy_scripting.runner.workers import PoolConfig, WorkerPool
from alloy_scripting.storage import InMemoryStores

HOSTILE = "'); __import__('os').system('id') #"


@pytest.fixture(params=["inline", "pool"])
async def setup(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[ScriptOrchestrator, InMemoryStores]]:
    stores = InMemoryStores()
    engine = create_default_engine()
    if request.param == "inline":
        yield ScriptOrchestrator(stores.scripts, engine, stores.executions), stores
        return
    async with WorkerPool(engine.config, PoolConfig(size=1)) as pool:
        yield ScriptOrchestrator(stores.scripts, engine, stores.executions, pool=pool), stores


async def test_a_templated_before_hook_uses_its_params(
    setup: tuple[ScriptOrchestrator, InMemoryStores],
) -> None:
    orchestrator, stores = setup
    template = builtin_template("deal-amount-approval")
    assert template is not None
    script = Script.new("rules", template.source, template.trigger)
    script.template = template.ref(
        template.params_for(
            {"min_amount": 500, "approval_threshold": 1000, "approval_status": HOSTILE}
        )
    )
    await stores.scripts.save(script.activate())

    small = await orchestrator.run_before("deal", "before_create", {"amount": 400})
    assert isinstance(small, Rejected) and small.reason == "Minimum deal amount is 500"
    big = await orchestrator.run_before("deal", "before_create", {"amount": 5000})
    assert isinstance(big, Continue) and big.changes == {"status": HOSTILE}
    middle = await orchestrator.run_before("deal", "before_create", {"amount": 700})
    assert isinstance(middle, Continue) and middle.changes == {}
