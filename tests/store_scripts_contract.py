"""``store.*`` from real script runs: worker processes calling the service's state store.

Subclasses provide ``state``: a fresh `StateStore` with at most 20 documents per tenant.
See ``tests/unit/bridge/test_store_scripts.py`` (in-memory store) and
``tests/integration/storage/test_store_scripts_mongo.py`` (FerretDB).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from alloy_scripting.bridge.state import StateContext
from alloy_scripting.bridge.state.store import StateStore
from alloy_scripting.engine import create_default_engine
from alloy_scripting.model.enums import ExecutionPhase, ExecutionStatus
from alloy_scripting.model.result import ExecutionResult
from alloy_scripting.model.state import StateQuotas, idempotency_base
from alloy_scripting.runner.workers import PoolConfig, RunRequest, WorkerPool

BEFORE, AFTER, MANUAL = ExecutionPhase.BEFORE, ExecutionPhase.AFTER, ExecutionPhase.MANUAL
QUOTAS = StateQuotas(max_documents=20, max_document_bytes=1024)


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[WorkerPool]:
    async with WorkerPool(config=PoolConfig(size=2)) as started:
        yield started


class StoreScriptsContract:
    @pytest.fixture
    async def state(self) -> StateStore:
        raise NotImplementedError

    async def run(
        self,
        pool: WorkerPool,
        state: StateStore,
        source: str,
        phase: ExecutionPhase = AFTER,
        *,
        tenant: str | None = "acme",
        event_id: str | None = None,
        entity: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        base = None if event_id is None else idempotency_base(event_id, "script-1")
        ctx = StateContext.for_run(state, tenant, phase, idempotency_base=base)
        request = RunRequest(
            source,
            phase,
            entity=entity if entity is not None else {"id": "e-1"},
            ctx={"entity_id": "e-1", "entity_type": "order", "tenant_id": tenant},
            tenant_id=tenant,
            state=ctx,
        )
        return await pool.run(request)

    async def test_a_script_reads_and_writes_its_tenants_state(
        self, pool: WorkerPool, state: StateStore
    ) -> None:
        source = (
            'n = store.incr("counters", "orders", "total")\n'
            'store.put("customers", "c1", {"tier": "gold", "orders": n}, ttl_seconds=3600)\n'
            'entity["customer"] = store.get("customers", "c1")\n'
            'entity["gold"] = store.find("customers", {"tier": "gold"}, limit=5, sort="-orders")\n'
            'entity["missing"] = store.get("customers", "nobody")\n'
            'entity["deleted"] = store.delete("customers", "c1")\n'
        )
        result = await self.run(pool, state, source, MANUAL)
        assert result.status is ExecutionStatus.SUCCESS, result.error
        assert result.changes == {
            "customer": {"tier": "gold", "orders": 1},
            "gold": [{"key": "c1", "doc": {"tier": "gold", "orders": 1}}],
            "missing": None,
            "deleted": True,
        }
        assert [(c["operation"], c["collection"], c["key"]) for c in result.state_calls] == [
            ("incr", "counters", "orders"),
            ("put", "customers", "c1"),
            ("get", "customers", "c1"),
            ("find", "customers", None),
            ("get", "customers", "nobody"),
            ("delete", "customers", "c1"),
        ]
        assert all(c["outcome"] == "ok" for c in result.state_calls)
        counter = await state.get("acme", "counters", "orders")
        assert counter is not None and counter.doc == {"total": 1}

    async def test_reads_in_a_before_hook_within_budget(
        self, pool: WorkerPool, state: StateStore
    ) -> None:
        await state.put("acme", "limits", "deal", {"min": 100})
        source = (
            'limit = store.get("limits", "deal")\n'
            'if entity["amount"] < limit["min"]:\n'
            '    abort("below " + str(limit["min"]))\n'
            'entity["rules"] = len(store.find("limits", {"min": {"$gt": 0}}))\n'
        )
        passed = await self.run(pool, state, source, BEFORE, entity={"amount": 500})
        assert passed.status is ExecutionStatus.SUCCESS, passed.error
        assert passed.changes == {"rules": 1}
        refused = await self.run(pool, state, source, BEFORE, entity={"amount": 5})
        assert (refused.status, refused.reason) == (ExecutionStatus.ABORTED, "below 100")
        greedy = 'for i in range(11):\n    store.get("limits", "deal")\n'
        over = await self.run(pool, state, greedy, BEFORE)
        assert over.status is ExecutionStatus.LIMIT_EXCEEDED
        assert over.limit == "state_budget"
        assert [c["outcome"] for c in over.state_calls] == ["ok"] * 10 + ["budget_exceeded"]

    async def test_writes_in_a_before_hook_are_refused(
        self, pool: WorkerPool, state: StateStore
    ) -> None:
        engine = create_default_engine()
        for write in (
            'store.put("c", "k", {})',
            'store.delete("c", "k")',
            'store.incr("c", "k", "n")',
        ):
            diagnostics = engine.validate(write, "before")
            assert [d.message for d in diagnostics] == [
                f"{write[: write.index('(')]}() is not available in the 'before' phase"
            ]
            assert engine.validate(write, "after") == []
        aliased = 's = store\ns.put("c", "k", {"v": 1})\n'
        result = await self.run(pool, state, aliased, BEFORE)
        assert result.status is ExecutionStatus.ERROR
        assert (
            result.error is not None
            and "not available in the 'before' phase" in result.error.message
        )
        assert await state.get("acme", "c", "k") is None

    async def test_only_store_operations_exist(self, pool: WorkerPool, state: StateStore) -> None:
        engine = create_default_engine()
        for name in ("drop", "client", "db", "store", "tenant"):
            diagnostics = engine.validate(f'store.{name}("c")', "after")
            assert any(f"store.{name} is not a store operation" in d.message for d in diagnostics)
        assert any(d.severity == "error" for d in engine.validate("store.__class__", "after"))
        reach = ["store.get.func", "store.get.args", "store.put.keywords", "store.get.__self__"]
        for source in ['store.drop("c")', 'getattr(store, "_store")', *(f"x = {r}" for r in reach)]:
            result = await self.run(pool, state, source)
            assert result.status is ExecutionStatus.ERROR, source
        tenant_kw = await self.run(pool, state, 'store.get("c", "k", tenant="globex")')
        assert tenant_kw.status is ExecutionStatus.ERROR
        assert tenant_kw.error is not None and tenant_kw.error.type == "TypeError"

    async def test_a_script_cannot_reach_another_tenant(
        self, pool: WorkerPool, state: StateStore
    ) -> None:
        await state.put("acme", "secrets", "k", {"v": "acme only"})
        source = (
            'entity["got"] = store.get("secrets", "k")\n'
            'entity["found"] = store.find("secrets", {})\n'
            'entity["deleted"] = store.delete("secrets", "k")\n'
        )
        result = await self.run(pool, state, source, MANUAL, tenant="globex")
        assert result.status is ExecutionStatus.SUCCESS, result.error
        assert result.changes == {"got": None, "found": [], "deleted": False}
        kept = await state.get("acme", "secrets", "k")
        assert kept is not None and kept.doc == {"v": "acme only"}

    async def test_errors_are_typed_and_catchable(
        self, pool: WorkerPool, state: StateStore
    ) -> None:
        source = (
            "try:\n"
            '    store.put("c", "big", {"text": "x" * 2000})\n'
            "except QuotaExceeded as error:\n"
            '    entity["quota"] = error.type\n'
            "try:\n"
            '    store.find("c", {"$where": "sleep(100)"})\n'
            "except ValueError as error:\n"
            '    entity["filter"] = error.message\n'
            "try:\n"
            '    store.put("c", "k", {"when": datetime.now()})\n'
            "except TypeError as error:\n"
            '    entity["plain"] = error.type\n'
            'store.put("c", "s", {"s": "text"})\n'
            "try:\n"
            '    store.incr("c", "s", "s")\n'
            "except TypeError as error:\n"
            '    entity["incr"] = error.type\n'
        )
        result = await self.run(pool, state, source, MANUAL)
        assert result.status is ExecutionStatus.SUCCESS, result.error
        assert result.changes["quota"] == "QuotaExceeded"
        assert "'$where' is not supported" in result.changes["filter"]
        assert result.changes["plain"] == "TypeError"
        assert result.changes["incr"] == "TypeError"
        outcomes = [c["outcome"] for c in result.state_calls]
        assert outcomes == ["quota_exceeded", "invalid_filter", "ok", "not_a_number"]
        assert await state.get("acme", "c", "big") is None

    async def test_a_redelivered_event_applies_its_writes_once(
        self, pool: WorkerPool, state: StateStore
    ) -> None:
        source = (
            'store.incr("counters", "customer-1", "orders")\n'
            'store.incr("counters", "customer-1", "amount", entity["amount"])\n'
            'store.put("last_order", "customer-1", {"amount": entity["amount"]})\n'
        )
        for event_id, amount in (("ev-1", 10), ("ev-2", 5), ("ev-1", 10), ("ev-2", 5)):
            result = await self.run(
                pool, state, source, AFTER, event_id=event_id, entity={"amount": amount}
            )
            assert result.status is ExecutionStatus.SUCCESS, result.error
        counter = await state.get("acme", "counters", "customer-1")
        assert counter is not None and counter.doc == {"orders": 2, "amount": 15}
        last = await state.get("acme", "last_order", "customer-1")
        assert last is not None and last.doc == {"amount": 5}

    async def test_fifty_concurrent_runs_increment_one_counter_to_fifty(
        self, pool: WorkerPool, state: StateStore
    ) -> None:
        source = 'entity["n"] = store.incr("counters", "hits", "n")\n'
        results = await asyncio.gather(
            *(self.run(pool, state, source, AFTER, event_id=f"ev-{i}") for i in range(50))
        )
        assert all(r.status is ExecutionStatus.SUCCESS for r in results), [r.error for r in results]
        assert sorted(r.changes["n"] for r in results) == list(range(1, 51))
        counter = await state.get("acme", "counters", "hits")
        assert counter is not None and counter.doc == {"n": 50}

    async def test_calls_are_traced_in_the_service(
        self, pool: WorkerPool, state: StateStore, spans: Any
    ) -> None:
        result = await self.run(pool, state, 'store.put("c", "k", {"v": 1})\nstore.get("c", "k")\n')
        assert result.status is ExecutionStatus.SUCCESS, result.error
        names = [s.name for s in spans.get_finished_spans() if s.name.startswith("state.")]
        assert names == ["state.put", "state.get"]
