"""The ``store.*`` helpers as the parent runs them, against each state store.

Subclasses provide ``store``: a fresh `StateStore` (small quotas: 5 documents). See
``tests/unit/bridge/test_state_helpers.py`` and
``tests/integration/storage/test_state_bridge_mongo.py``.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from alloy_scripting.bridge.host import PhaseError
from alloy_scripting.bridge.state import (
    OPERATIONS,
    StateBudget,
    StateContext,
    StateLimits,
    delete,
    find,
    get,
    incr,
    put,
)
from alloy_scripting.bridge.state.store import StateStore
from alloy_scripting.model.enums import ExecutionPhase
from alloy_scripting.model.state import (
    InvalidStateFilter,
    InvalidStateRequest,
    QuotaExceeded,
    StateBudgetExceeded,
    StateError,
    StateQuotas,
    idempotency_base,
)

BEFORE, AFTER, MANUAL = ExecutionPhase.BEFORE, ExecutionPhase.AFTER, ExecutionPhase.MANUAL
QUOTAS = StateQuotas(max_documents=5)

#: Filters a hostile script may try; every one is refused before any query is built.
INJECTIONS: list[Any] = [
    {"$where": "sleep(1000) || true"},
    {"$expr": {"$gt": ["$a", "$b"]}},
    {"$function": {"body": "function() { return true }", "args": [], "lang": "js"}},
    {"$or": [{"a": 1}, {"b": 2}]},
    {"$and": [{"a": 1}]},
    {"$nor": [{"a": 1}]},
    {"$text": {"$search": "x"}},
    {"$comment": "x"},
    {"$jsonSchema": {}},
    {"a": {"$regex": "^(a+)+$"}},
    {"a": {"$where": "true"}},
    {"a": {"$expr": 1}},
    {"a": {"$function": {}}},
    {"a": {"$ne": 1}},
    {"a": {"$nin": [1]}},
    {"a": {"$not": {"$gt": 1}}},
    {"a": {"$elemMatch": {"b": 1}}},
    {"a": {"$size": 1}},
    {"a": {"$all": [1]}},
    {"a": {"$type": "string"}},
    {"a": {"$mod": [2, 0]}},
    {"a": {"$eq": 1}},
    {"a": {"$gt": {"$where": "true"}}},
    {"a": {"$in": [{"$gt": 1}]}},
    {"a": {"$in": [[1]]}},
    {"a": {"$in": "ab"}},
    {"a": {"$in": list(range(101))}},
    {"a": {"$gt": None}},
    {"a": {"$lt": True}},
    {"a": {"$gte": [1]}},
    {"a": {"$exists": "yes"}},
    {"a": {"b": 1}},
    {"a": {}},
    {"a": [1, 2]},
    {"a": float("nan")},
    {"a": 2**64},
    {"a": "x" * 2000},
    {"a.b": 1},
    {"doc.a": 1},
    {"$a": 1},
    {"": 1},
    {"x" * 200: 1},
    {"a\x00": 1},
    {1: 2},
    "a == 1",
    ["a"],
    {f"f{i}": i for i in range(40)},
]
BAD_SORTS: list[Any] = [{"$natural": 1}, "$where", "a.b", "-$x", ["a"] * 5, [1], 7]


class StateBridgeContract:
    @pytest.fixture
    async def store(self) -> StateStore:
        raise NotImplementedError

    def ctx(
        self,
        store: StateStore,
        phase: ExecutionPhase = AFTER,
        tenant: str | None = "acme",
        base: str | None = None,
    ) -> StateContext:
        return StateContext.for_run(store, tenant, phase, idempotency_base=base)

    async def test_crud_through_the_helpers(self, store: StateStore) -> None:
        ctx = self.ctx(store, MANUAL)
        assert await get(ctx, "customers", "c1") is None
        assert await put(ctx, "customers", "c1", {"tier": "gold", "visits": 1}) is None
        assert await get(ctx, "customers", "c1") == {"tier": "gold", "visits": 1}
        assert await incr(ctx, "customers", "c1", "visits") == 2
        assert await incr(ctx, "customers", "c1", "visits", 10) == 12
        found = await find(ctx, "customers", {"visits": {"$gt": 10}})
        assert found == [{"key": "c1", "doc": {"tier": "gold", "visits": 12}}]
        assert await delete(ctx, "customers", "c1") is True
        assert await delete(ctx, "customers", "c1") is False
        assert [(c.operation, c.collection, c.key, c.outcome) for c in ctx.calls] == [
            ("get", "customers", "c1", "ok"),
            ("put", "customers", "c1", "ok"),
            ("get", "customers", "c1", "ok"),
            ("incr", "customers", "c1", "ok"),
            ("incr", "customers", "c1", "ok"),
            ("find", "customers", None, "ok"),
            ("delete", "customers", "c1", "ok"),
            ("delete", "customers", "c1", "ok"),
        ]

    async def test_reads_in_a_before_hook_within_budget(self, store: StateStore) -> None:
        await put(self.ctx(store), "limits", "acme", {"max": 100})
        ctx = self.ctx(store, BEFORE)
        limits = StateLimits()
        assert ctx.budget.max_calls == limits.before_calls
        for _ in range(limits.before_calls // 2):
            assert await get(ctx, "limits", "acme") == {"max": 100}
            assert await find(ctx, "limits", {"max": 100}) == [{"key": "acme", "doc": {"max": 100}}]
        with pytest.raises(StateBudgetExceeded) as caught:
            await get(ctx, "limits", "acme")
        assert caught.value.resource == "calls"
        assert [c.outcome for c in ctx.calls][-1] == "budget_exceeded"
        assert ctx.budget.spent_ms < limits.before_ms

    async def test_the_time_budget_ends_the_calls(self, store: StateStore) -> None:
        ctx = self.ctx(store, BEFORE)
        ctx.budget = StateBudget(max_calls=10, max_ms=0.0001)
        with pytest.raises(StateBudgetExceeded) as caught:
            for _ in range(3):
                await get(ctx, "c", "k")
        assert caught.value.resource == "time"

    async def test_writes_are_refused_in_before_hooks(self, store: StateStore) -> None:
        ctx = self.ctx(store, BEFORE)
        attempts = [
            put(ctx, "c", "k", {"v": 1}),
            delete(ctx, "c", "k"),
            incr(ctx, "c", "k", "n"),
        ]
        for attempt in attempts:
            with pytest.raises(PhaseError, match="not available in the 'before' phase"):
                await attempt
        assert [(c.operation, c.outcome) for c in ctx.calls] == [
            ("put", "phase_error"),
            ("delete", "phase_error"),
            ("incr", "phase_error"),
        ]
        assert await get(self.ctx(store), "c", "k") is None
        for phase in (
            AFTER,
            ExecutionPhase.ON_COMMIT,
            MANUAL,
            ExecutionPhase.SCHEDULED,
            ExecutionPhase.API,
        ):
            assert await incr(self.ctx(store, phase), "c", "k", "n") >= 1

    @pytest.mark.parametrize("where", INJECTIONS, ids=lambda w: repr(w)[:40])
    async def test_each_filter_injection_is_refused(self, store: StateStore, where: Any) -> None:
        ctx = self.ctx(store, BEFORE)
        with pytest.raises(InvalidStateFilter):
            await find(ctx, "c", where)
        assert ctx.calls[-1].outcome == "invalid_filter"

    async def test_bad_sorts_limits_and_names_are_refused(self, store: StateStore) -> None:
        ctx = self.ctx(store)
        await put(ctx, "c", "k", {"a": 1})
        for sort in BAD_SORTS:
            with pytest.raises(InvalidStateFilter):
                await find(ctx, "c", {}, sort=sort)
        for limit in (0, 101, -1, "5", 2.0, True):
            with pytest.raises(InvalidStateRequest):
                await find(ctx, "c", {}, limit=limit)
        for collection in ("C", "../c", "c.d", "$cmd", "", None):
            with pytest.raises(InvalidStateRequest):
                await find(ctx, collection, {})
        assert await find(ctx, "c", {"a": 1}, limit=1, sort="-a") == [{"key": "k", "doc": {"a": 1}}]

    async def test_no_helper_takes_a_tenant(self, store: StateStore) -> None:
        for op in OPERATIONS.values():
            names = list(inspect.signature(op.function).parameters)
            assert names[0] == "ctx"
            assert not any("tenant" in name for name in names), op.name

    async def test_another_tenant_is_out_of_reach(self, store: StateStore) -> None:
        acme, globex = self.ctx(store, tenant="acme"), self.ctx(store, tenant="globex")
        await put(acme, "c", "k", {"secret": 1})
        await put(globex, "c", '"acme","c","k', {"forged": True})
        await put(globex, "c", '["acme","c","k"]', {"forged": True})
        assert await get(globex, "c", "k") is None
        assert await find(globex, "c", {"secret": 1}) == []
        assert await find(globex, "c", {"secret": {"$exists": True}}) == []
        assert await delete(globex, "c", "k") is False
        assert await incr(globex, "c", "k", "secret") == 1
        assert await get(acme, "c", "k") == {"secret": 1}
        assert [item["key"] for item in await find(acme, "c")] == ["k"]

    async def test_quota_errors_are_catchable_state_errors(self, store: StateStore) -> None:
        ctx = self.ctx(store)
        for i in range(QUOTAS.max_documents):
            await put(ctx, "c", f"k{i}", {})
        with pytest.raises(StateError) as caught:
            await put(ctx, "c", "one-too-many", {})
        assert isinstance(caught.value, QuotaExceeded)
        assert ctx.calls[-1].outcome == "quota_exceeded"

    async def test_a_redelivered_run_applies_its_writes_once(self, store: StateStore) -> None:
        async def run(event_id: str) -> None:
            ctx = self.ctx(store, AFTER, base=idempotency_base(event_id, "script-1"))
            await incr(ctx, "counters", "orders", "n")
            await put(ctx, "last", "order", {"event": event_id})
            await incr(ctx, "counters", "orders", "n", 10)

        await run("event-1")
        await run("event-2")
        await run("event-1")  # redelivered
        reader = self.ctx(store)
        assert await get(reader, "counters", "orders") == {"n": 22}
        assert await get(reader, "last", "order") == {"event": "event-2"}
        other_script = self.ctx(store, AFTER, base=idempotency_base("event-1", "script-2"))
        assert await incr(other_script, "counters", "orders", "n") == 23

    async def test_calls_are_traced(self, store: StateStore, spans: Any) -> None:
        ctx = self.ctx(store)
        await put(ctx, "c", "k", {"v": 1})
        await get(ctx, "c", "k")
        finished = [s for s in spans.get_finished_spans() if s.name.startswith("state.")]
        assert [s.name for s in finished] == ["state.put", "state.get"]
        assert finished[1].attributes["alloy.state.collection"] == "c"
        assert finished[1].attributes["alloy.tenant_id"] == "acme"
