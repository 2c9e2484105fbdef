"""The state-store contract: one suite, run against the in-memory and the MongoDB store.

Subclasses provide ``make_state``: an async factory ``(quotas, clock) -> StateStore`` over
fresh, empty storage (indexes ensured). See ``tests/unit/storage/test_state_memory.py`` and
``tests/integration/storage/test_state_mongo.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from alloy_scripting.bridge.state.store import StateStore
from alloy_scripting.model.script import utc_now
from alloy_scripting.model.state import (
    InvalidStateRequest,
    QuotaExceeded,
    StateQuotas,
    StateTypeError,
    StateUsage,
    document_size,
    write_id,
)
from alloy_scripting.model.state_filter import parse_filter, parse_sort

MakeState = Callable[[StateQuotas, "Clock"], Awaitable[StateStore]]
A, B = "acme", "globex"


class Clock:
    """A clock the test moves by hand (stores take ``clock=``)."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class StateContract:
    @pytest.fixture
    async def make_state(self) -> MakeState:
        raise NotImplementedError

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock()

    @pytest.fixture
    async def state(self, make_state: MakeState, clock: Clock) -> StateStore:
        return await make_state(StateQuotas(), clock)

    async def find(
        self, state: StateStore, where: Any, sort: Any = None, limit: int = 20
    ) -> list[str]:
        found = await state.find(A, "c", parse_filter(where), limit=limit, sort=parse_sort(sort))
        return [item.key for item in found]

    # -- CRUD ---------------------------------------------------------------------------------

    async def test_put_get_replace_delete(self, state: StateStore) -> None:
        assert await state.get(A, "customers", "c1") is None
        assert await state.put(A, "customers", "c1", {"name": "Ann", "tags": ["a", 1]}) is True
        item = await state.get(A, "customers", "c1")
        assert item is not None
        assert (item.collection, item.key, item.doc) == (
            "customers",
            "c1",
            {"name": "Ann", "tags": ["a", 1]},
        )
        assert item.expires_at is None
        item.doc["name"] = "changed by the caller"
        again = await state.get(A, "customers", "c1")
        assert again is not None and again.doc["name"] == "Ann"
        await state.put(A, "customers", "c1", {"name": "Bob"})
        replaced = await state.get(A, "customers", "c1")
        assert replaced is not None and replaced.doc == {"name": "Bob"}
        assert await state.delete(A, "customers", "c1") is True
        assert await state.get(A, "customers", "c1") is None
        assert await state.delete(A, "customers", "c1") is False
        assert await state.usage(A) == StateUsage(0, 0)

    async def test_values_round_trip_as_plain_json(self, state: StateStore) -> None:
        doc = {
            "big": 2**62,
            "neg": -(2**63),
            "f": 1.5,
            "t": True,
            "n": None,
            "s": "é✓",
            "o": {"x": [1, {"y": 2}]},
        }
        await state.put(A, "c", "k", doc)
        item = await state.get(A, "c", "k")
        assert item is not None and item.doc == doc
        assert type(item.doc["big"]) is int and type(item.doc["t"]) is bool

    async def test_names_keys_and_documents_are_checked(self, state: StateStore) -> None:
        for collection in ("Bad", "a.b", "", "x" * 65, "$where", "a-b", 7):
            with pytest.raises(InvalidStateRequest):
                await state.put(A, collection, "k", {})  # type: ignore[arg-type]
        for key in ("", "k" * 257, "a\x00b", "line\nfeed", 5, None):
            with pytest.raises(InvalidStateRequest):
                await state.get(A, "c", key)  # type: ignore[arg-type]
        assert await state.put(A, "c", "k" * 256, {}) is True
        bad_docs: list[Any] = [
            [1, 2],
            "text",
            {"s": {1, 2}},
            {"f": float("nan")},
            {"i": 2**63},
            {"$set": 1},
            {"a.b": 1},
            {"o": {"$gt": 1}},
            {"bytes": b"x"},
            {"deep": _nested(40)},
            {"nul": "a\x00"},
        ]
        for doc in bad_docs:
            with pytest.raises(InvalidStateRequest):
                await state.put(A, "c", "bad", doc)
        assert await state.get(A, "c", "bad") is None

    # -- find -----------------------------------------------------------------------------------

    async def _people(self, state: StateStore) -> None:
        people = {
            "p1": {"age": 30, "tier": "gold", "tags": ["vip", "eu"]},
            "p2": {"age": 25.5, "tier": "silver", "closed": None},
            "p3": {"age": True, "tier": "gold"},
            "p4": {"age": "40", "tier": "bronze"},
            "p5": {"tier": "gold", "age": 45},
        }
        for key, doc in people.items():
            await state.put(A, "c", key, doc)
        await state.put(A, "other", "p9", {"tier": "gold", "age": 30})

    async def test_find_by_equality_in_and_ranges(self, state: StateStore) -> None:
        await self._people(state)
        assert await self.find(state, {"tier": "gold"}) == ["p1", "p3", "p5"]
        assert await self.find(state, {"age": 30}) == ["p1"]
        assert await self.find(state, {"age": 30.0}) == ["p1"]
        assert await self.find(state, {"age": True}) == ["p3"], "a bool never equals a number"
        assert await self.find(state, {"age": {"$gt": 25}}) == ["p1", "p2", "p5"]
        assert await self.find(state, {"age": {"$gte": 30, "$lt": 45}}) == ["p1"]
        assert await self.find(state, {"age": {"$lte": "5"}}) == ["p4"], "texts compare with texts"
        assert await self.find(state, {"tier": {"$in": ["silver", "bronze"]}}) == ["p2", "p4"]
        assert await self.find(state, {"tags": "eu"}) == ["p1"], "a list matches by its items"
        assert await self.find(state, {"tier": "gold", "age": {"$gt": 40}}) == ["p5"]
        assert await self.find(state, None) == ["p1", "p2", "p3", "p4", "p5"]
        assert await self.find(state, {}, limit=2) == ["p1", "p2"]

    async def test_find_exists_and_null(self, state: StateStore) -> None:
        await self._people(state)
        assert await self.find(state, {"closed": {"$exists": True}}) == ["p2"]
        assert await self.find(state, {"tags": {"$exists": False}}) == ["p2", "p3", "p4", "p5"]
        assert await self.find(state, {"closed": None}) == ["p1", "p2", "p3", "p4", "p5"]
        assert await self.find(state, {"closed": {"$in": [None]}}) == ["p1", "p2", "p3", "p4", "p5"]

    async def test_find_sorts_then_orders_by_key(self, state: StateStore) -> None:
        await self._people(state)
        # MongoDB's order of types: missing/null, numbers, texts, bools.
        assert await self.find(state, {}, sort="age") == ["p2", "p1", "p5", "p4", "p3"]
        assert await self.find(state, {}, sort="-age") == ["p3", "p4", "p5", "p1", "p2"]
        assert await self.find(state, {}, sort=["tier", "-age"]) == ["p4", "p3", "p5", "p1", "p2"]
        assert await self.find(state, {"tier": "gold"}, sort="-tier") == ["p1", "p3", "p5"]

    # -- tenants --------------------------------------------------------------------------------

    async def test_tenants_never_see_each_other(self, state: StateStore) -> None:
        await state.put(A, "c", "k", {"owner": "acme"})
        assert await state.get(B, "c", "k") is None
        assert await state.get(None, "c", "k") is None
        assert await state.find(B, "c", parse_filter({}), limit=20) == []
        assert (await state.list_documents(B, "c")).total == 0
        assert await state.delete(B, "c", "k") is False
        assert await state.incr(B, "c", "k", "n") == 1
        await state.put(B, "c", "k", {"owner": "globex"})
        mine = await state.get(A, "c", "k")
        assert mine is not None and mine.doc == {"owner": "acme"}
        theirs = await state.get(B, "c", "k")
        assert theirs is not None and theirs.doc == {"owner": "globex"}
        assert (await state.usage(A)).documents == 1
        assert (await state.usage(B)).documents == 1

    async def test_listing_pages_by_key(self, state: StateStore) -> None:
        for i in range(5):
            await state.put(A, "c", f"k{i}", {"i": i})
        await state.put(A, "d", "other", {})
        page = await state.list_documents(A, "c", offset=1, limit=2)
        assert [item.key for item in page.items] == ["k1", "k2"]
        assert (page.total, page.offset, page.limit) == (5, 1, 2)
        last = await state.list_documents(A, "c", offset=4, limit=2)
        assert [item.key for item in last.items] == ["k4"]

    # -- incr -----------------------------------------------------------------------------------

    async def test_incr_creates_adds_and_returns_the_new_value(self, state: StateStore) -> None:
        assert await state.incr(A, "counters", "c1", "hits") == 1
        assert await state.incr(A, "counters", "c1", "hits", 5) == 6
        assert await state.incr(A, "counters", "c1", "hits", -2) == 4
        assert await state.incr(A, "counters", "c1", "other", 2.5) == 2.5
        assert await state.incr(A, "counters", "c1", "hits", 0.5) == 4.5
        item = await state.get(A, "counters", "c1")
        assert item is not None and item.doc == {"hits": 4.5, "other": 2.5}
        await state.put(A, "counters", "c2", {"name": "x"})
        assert await state.incr(A, "counters", "c2", "n") == 1
        item = await state.get(A, "counters", "c2")
        assert item is not None and item.doc == {"name": "x", "n": 1}

    async def test_incr_refuses_non_numbers_and_overflow(self, state: StateStore) -> None:
        await state.put(A, "c", "k", {"s": "text", "b": True, "big": 2**63 - 1})
        for field in ("s", "b"):
            with pytest.raises(StateTypeError):
                await state.incr(A, "c", "k", field)
        with pytest.raises(StateTypeError):
            await state.incr(A, "c", "k", "big")
        for by in ("1", True, float("inf"), 2**64, None):
            with pytest.raises(InvalidStateRequest):
                await state.incr(A, "c", "k", "n", by)  # type: ignore[arg-type]
        for field in ("$inc", "a.b", ""):
            with pytest.raises(InvalidStateRequest):
                await state.incr(A, "c", "k", field)
        item = await state.get(A, "c", "k")
        assert item is not None and item.doc == {"s": "text", "b": True, "big": 2**63 - 1}

    async def test_fifty_concurrent_increments_end_at_fifty(self, state: StateStore) -> None:
        results = await asyncio.gather(*(state.incr(A, "c", "counter", "n") for _ in range(50)))
        item = await state.get(A, "c", "counter")
        assert item is not None and item.doc == {"n": 50}
        assert sorted(results) == list(range(1, 51)), "each increment saw its own new value"
        assert (await state.usage(A)).documents == 1

    async def test_concurrent_puts_of_one_key_count_it_once(self, state: StateStore) -> None:
        await asyncio.gather(*(state.put(A, "c", "k", {"v": "x" * i}) for i in range(20)))
        item = await state.get(A, "c", "k")
        assert item is not None
        usage = await state.usage(A)
        assert usage.documents == 1
        assert usage.bytes == document_size(item.doc), "the bytes of the one that stayed"

    # -- quotas ---------------------------------------------------------------------------------

    async def test_document_quota(self, make_state: MakeState, clock: Clock) -> None:
        state = await make_state(StateQuotas(max_documents=3), clock)
        for i in range(3):
            await state.put(A, "c", f"k{i}", {"i": i})
        with pytest.raises(QuotaExceeded) as caught:
            await state.put(A, "c", "k3", {})
        assert (caught.value.quota, caught.value.limit, caught.value.requested) == (
            "documents",
            3,
            4,
        )
        with pytest.raises(QuotaExceeded):
            await state.incr(A, "c", "new", "n")
        await state.put(A, "c", "k0", {"replaced": True})  # a replacement adds no document
        await state.put(B, "c", "k3", {})  # quotas are per tenant
        await state.delete(A, "c", "k1")
        await state.put(A, "c", "k3", {})
        assert await state.get(A, "c", "k3") is not None
        assert (await state.usage(A)).documents == 3

    async def test_concurrent_writers_never_overshoot_the_quota(
        self, make_state: MakeState, clock: Clock
    ) -> None:
        state = await make_state(StateQuotas(max_documents=10), clock)
        outcomes = await asyncio.gather(
            *(state.put(A, "c", f"k{i}", {"i": i}) for i in range(20)), return_exceptions=True
        )
        assert sum(1 for o in outcomes if o is True) == 10
        assert sum(1 for o in outcomes if isinstance(o, QuotaExceeded)) == 10
        assert (await state.list_documents(A, "c")).total == 10
        assert (await state.usage(A)).documents == 10

    async def test_byte_quotas(self, make_state: MakeState, clock: Clock) -> None:
        state = await make_state(StateQuotas(max_document_bytes=100, max_total_bytes=250), clock)
        with pytest.raises(QuotaExceeded) as caught:
            await state.put(A, "c", "big", {"s": "x" * 100})
        assert caught.value.quota == "document_bytes"
        await state.put(A, "c", "k1", {"s": "x" * 80})  # 2 + 1 + 4 + 82 = 89 bytes
        await state.put(A, "c", "k2", {"s": "x" * 80})
        with pytest.raises(QuotaExceeded) as caught:
            await state.put(A, "c", "k3", {"s": "x" * 80})
        assert (caught.value.quota, caught.value.limit) == ("total_bytes", 250)
        await state.put(A, "c", "k1", {"s": "x"})  # shrinking frees bytes
        await state.put(A, "c", "k3", {"s": "x" * 80})
        assert await state.usage(A) == StateUsage(3, 89 * 2 + 10)
        with pytest.raises(QuotaExceeded):  # incr adding fields grows the document
            for i in range(20):
                await state.incr(A, "c", "k1", f"field_{i}")

    # -- expiry ---------------------------------------------------------------------------------

    async def test_expired_documents_are_invisible_at_once(
        self, state: StateStore, clock: Clock
    ) -> None:
        await state.put(A, "c", "short", {"v": 1}, ttl_seconds=10)
        await state.put(A, "c", "long", {"v": 1}, ttl_seconds=1000)
        item = await state.get(A, "c", "short")
        assert item is not None and item.expires_at is not None
        clock.advance(11)
        assert await state.get(A, "c", "short") is None
        assert await self.find(state, {"v": 1}) == ["long"]
        assert [i.key for i in (await state.list_documents(A, "c")).items] == ["long"]
        assert await state.incr(A, "c", "short", "v") == 1, "an expired document counts as absent"
        fresh = await state.get(A, "c", "short")
        assert fresh is not None and fresh.doc == {"v": 1} and fresh.expires_at is None

    async def test_purge_removes_expired_documents_and_frees_quota(
        self, make_state: MakeState, clock: Clock
    ) -> None:
        state = await make_state(StateQuotas(max_documents=2), clock)
        await state.put(A, "c", "a", {}, ttl_seconds=5)
        await state.put(A, "c", "b", {})
        clock.advance(6)
        with pytest.raises(QuotaExceeded):
            await state.put(A, "c", "c", {})  # expired but not purged: still counted
        assert await state.purge_expired(clock.now) == 1
        assert (await state.usage(A)).documents == 1
        await state.put(A, "c", "c", {})
        assert await state.purge_expired(clock.now) == 0
        assert await state.get(A, "c", "b") is not None

    async def test_put_over_an_expired_document(self, state: StateStore, clock: Clock) -> None:
        await state.put(A, "c", "k", {"v": 1}, ttl_seconds=1)
        clock.advance(2)
        await state.put(A, "c", "k", {"v": 2})
        item = await state.get(A, "c", "k")
        assert item is not None and item.doc == {"v": 2} and item.expires_at is None
        assert (await state.usage(A)).documents == 1
        for ttl in (0, -1, float("nan"), "10", True, 10**12):
            with pytest.raises(InvalidStateRequest):
                await state.put(A, "c", "k", {}, ttl_seconds=ttl)

    # -- redelivery -----------------------------------------------------------------------------

    async def test_a_redelivered_put_applies_once(self, state: StateStore) -> None:
        first = write_id("event-1\x00script-1", 0)
        assert await state.put(A, "c", "k", {"v": 1}, write_id=first) is True
        await state.put(A, "c", "k", {"v": 2}, write_id=write_id("event-2\x00script-1", 0))
        assert await state.put(A, "c", "k", {"v": 1}, write_id=first) is False
        item = await state.get(A, "c", "k")
        assert item is not None and item.doc == {"v": 2}, "the replay did not undo a later write"

    async def test_a_redelivered_incr_applies_once(self, state: StateStore) -> None:
        ids = [write_id("event-1\x00script-1", i) for i in range(3)]
        assert await state.incr(A, "c", "k", "n", write_id=ids[0]) == 1
        assert await state.incr(A, "c", "k", "n", write_id=ids[1]) == 2
        for replay in ids[:2]:
            assert await state.incr(A, "c", "k", "n", write_id=replay) == 2
        assert await state.incr(A, "c", "k", "n", write_id=ids[2]) == 3
        concurrent = [write_id("event-9\x00s", i) for i in range(10)]
        await asyncio.gather(*(state.incr(A, "c", "k", "n", write_id=w) for w in concurrent * 2))
        item = await state.get(A, "c", "k")
        assert item is not None and item.doc == {"n": 13}

    async def test_a_redelivered_delete_applies_once(self, state: StateStore) -> None:
        deleting = write_id("event-1\x00s", 0)
        await state.put(A, "c", "k", {"v": 1})
        assert await state.delete(A, "c", "k", write_id=deleting) is True
        assert await state.get(A, "c", "k") is None
        assert (await state.usage(A)).documents == 0, "a tombstone is not counted"
        await state.put(A, "c", "k", {"v": 2}, write_id=write_id("event-2\x00s", 0))
        assert await state.delete(A, "c", "k", write_id=deleting) is False
        item = await state.get(A, "c", "k")
        assert item is not None and item.doc == {"v": 2}
        assert (await state.usage(A)).documents == 1


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"x": value}
    return value
