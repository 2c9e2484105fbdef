"""The catalogue's state-store templates in real worker processes on the in-memory state
store, their parameters crossing to the worker as `config` (fixture runs have no store)."""

from __future__ import annotations

from typing import Any

from alloy_scripting.bridge.state import StateContext
from alloy_scripting.model.enums import ExecutionPhase, ExecutionStatus
from alloy_scripting.model.result import ExecutionResult
from alloy_scripting.model.template_catalogue import builtin_template
from alloy_scripting.runner.workers import RunRequest, WorkerPool
from alloy_scripting.storage.state_memory import InMemoryStateStore
from tests.store_scripts_contract import QUOTAS, pool

__all__ = ["pool"]


async def run(
    pool: WorkerPool,
    state: InMemoryStateStore,
    template_id: str,
    config: dict[str, Any],
    phase: ExecutionPhase,
    entity: dict[str, Any],
    params: dict[str, Any] | None = None,
) -> ExecutionResult:
    template = builtin_template(template_id)
    assert template is not None
    request = RunRequest(
        template.source,
        phase,
        entity=entity,
        params=params,
        ctx={"entity_id": "o-1", "entity_type": "order", "tenant_id": "acme"},
        tenant_id="acme",
        state=StateContext.for_run(state, "acme", phase),
        config=template.params_for(config),
    )
    return await pool.run(request)


async def test_orders_are_counted_per_customer_with_milestones(pool: WorkerPool) -> None:
    state = InMemoryStateStore(QUOTAS)
    config = {"collection": "loyalty", "milestones": [1, 3]}
    emitted = []
    for _ in range(3):
        result = await run(
            pool, state, "orders-per-customer", config, ExecutionPhase.AFTER, {"customer_id": "c-7"}
        )
        assert result.status is ExecutionStatus.SUCCESS, result.error
        emitted.append([e.to_dict() for e in result.emitted])
    assert emitted == [
        [{"event_type": "customer.milestone", "payload": {"customer": "c-7", "orders": 1}}],
        [],
        [{"event_type": "customer.milestone", "payload": {"customer": "c-7", "orders": 3}}],
    ]
    stored = await state.get("acme", "loyalty", "c-7")
    assert stored is not None and stored.doc["orders"] == 3
    assert await state.get("acme", "orders_by_customer", "c-7") is None  # the config's collection


async def test_nightly_cleanup_deletes_old_state_documents(pool: WorkerPool) -> None:
    state = InMemoryStateStore(QUOTAS)
    await state.put("acme", "sessions", "old", {"updated_at": "2025-01-01T00:00:00+00:00"})
    await state.put("acme", "sessions", "new", {"updated_at": "2026-01-09T00:00:00+00:00"})
    result = await run(
        pool,
        state,
        "nightly-cleanup",
        {"collections": ["sessions"], "retention_days": 7},
        ExecutionPhase.SCHEDULED,
        {},
        params={"scheduled_at": "2026-01-10T03:00:00+00:00"},
    )
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert [e.to_dict() for e in result.emitted] == [
        {
            "event_type": "cleanup.requested",
            "payload": {"cutoff": "2026-01-03T03:00:00+00:00", "deleted": 1},
        }
    ]
    assert await state.get("acme", "sessions", "old") is None
    assert await state.get("acme", "sessions", "new") is not None
