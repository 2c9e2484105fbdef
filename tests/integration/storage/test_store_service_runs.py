"""``store.*`` in the service's own runs: the orchestrator on MongoDB stores, the worker pool
(``execution_mode=pool``) and the MongoDB state store, as `serve` wires them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from alloy_scripting.model import Event, EventType, ExecutionStatus, Manual, Script
from alloy_scripting.model.outcomes import Continue
from alloy_scripting.runner.service import Runtime, build_runtime
from alloy_scripting.settings import Settings
from alloy_scripting.storage.mongo import MongoStores
from alloy_scripting.storage.mongo.state import MongoStateStore

pytestmark = pytest.mark.integration
TENANT = "acme"


@pytest.fixture
async def runtime(mongo_db: Any) -> AsyncIterator[Runtime]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        execution_mode="pool",
        worker_pool_size=2,
        state_before_calls=3,
    )
    stores = MongoStores(mongo_db)
    await stores.ensure_indexes()
    state = MongoStateStore(mongo_db)
    await state.ensure_indexes()
    runtime = build_runtime(settings, stores, state=state)
    await runtime.start_workers()
    yield runtime
    await runtime.stop_workers()


async def save(runtime: Runtime, name: str, source: str, trigger: Any) -> Script:
    script = Script.new(name, source, trigger, tenant_id=TENANT).activate()
    return await runtime.stores.scripts.for_tenant(TENANT).save(script)


async def test_a_redelivered_after_event_applies_its_writes_once(runtime: Runtime) -> None:
    script = await save(
        runtime,
        "count_orders",
        'store.incr("orders_by_customer", entity["customer"], "orders")\n',
        Event("order", EventType.AFTER_CREATE),
    )
    for event_id in ("ev-1", "ev-2", "ev-1"):
        outcome = await runtime.orchestrator.run_after(
            "order", "after_create", {"customer": "c-7"}, tenant_id=TENANT, event_id=event_id
        )
        assert [e.status for e in outcome.executed] == [ExecutionStatus.SUCCESS]
    counter = await runtime.state.get(TENANT, "orders_by_customer", "c-7")
    assert counter is not None and counter.doc == {"orders": 2}
    await runtime.flush_records()
    page = await runtime.stores.executions.for_tenant(TENANT).find_by_script(script.id)
    assert page.total == 3
    assert all(
        [(c["operation"], c["collection"], c["key"]) for c in record.state_calls]
        == [("incr", "orders_by_customer", "c-7")]
        for record in page.items
    )


async def test_a_before_hook_reads_state_within_its_budget(runtime: Runtime) -> None:
    await runtime.state.put(TENANT, "blocked", "c-9", {"reason": "fraud"})
    await save(
        runtime,
        "refuse_blocked",
        'blocked = store.get("blocked", entity["customer"])\n'
        "if blocked:\n"
        '    abort("customer blocked: " + blocked["reason"])\n'
        'entity["checked"] = True\n',
        Event("order", EventType.BEFORE_CREATE),
    )
    refused = await runtime.orchestrator.run_before(
        "order", "before_create", {"customer": "c-9"}, tenant_id=TENANT
    )
    assert refused.outcome == "rejected"
    passed = await runtime.orchestrator.run_before(
        "order", "before_create", {"customer": "c-1"}, tenant_id=TENANT
    )
    assert isinstance(passed, Continue) and passed.changes == {"checked": True}


async def test_a_dry_run_reads_but_writes_nothing(runtime: Runtime) -> None:
    await runtime.state.put(TENANT, "settings", "rate", {"value": 3})
    source = (
        'entity["rate"] = store.get("settings", "rate")["value"]\n'
        'store.put("settings", "rate", {"value": 99})\n'
    )
    script = await save(runtime, "tweak_rate", source, Manual())
    _, result, _ = await runtime.orchestrator.run_manual(
        script.id, tenant_id=TENANT, entity={}, dry_run=True
    )
    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None and "dry run" in result.error.message
    assert [c["outcome"] for c in result.state_calls] == ["ok", "read_only"]
    unchanged = await runtime.state.get(TENANT, "settings", "rate")
    assert unchanged is not None and unchanged.doc == {"value": 3}
    _, real, _ = await runtime.orchestrator.run_manual(script.id, tenant_id=TENANT, entity={})
    assert real.status is ExecutionStatus.SUCCESS, real.error
    changed = await runtime.state.get(TENANT, "settings", "rate")
    assert changed is not None and changed.doc == {"value": 99}


async def test_the_service_wiring_uses_the_mongodb_state_store(
    mongo_db: Any, kafka_bootstrap: str
) -> None:
    from alloy_scripting.messaging.wiring import wire_service

    settings = Settings(_env_file=None, kafka_bootstrap=kafka_bootstrap)  # type: ignore[call-arg]
    edge = wire_service(settings, MongoStores(mongo_db))
    runtime = edge.runtime
    assert isinstance(runtime.state, MongoStateStore)
    assert runtime.orchestrator.executor.state is runtime.state
    assert runtime.state.quotas.max_document_bytes == settings.state_max_document_bytes
    await runtime.state.ensure_indexes()
    await runtime.state.put(TENANT, "c", "k", {"v": 1})
    assert (await mongo_db["state_documents"].count_documents({})) == 1
