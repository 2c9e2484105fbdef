"""The state-store contract against the real MongoDB-wire server (FerretDB from
`scripts/services`), plus what only the MongoDB store has."""

from __future__ import annotations

from typing import Any

import pytest

from alloy_scripting.bridge.state.store import StateStore
from alloy_scripting.model.state import StateQuotas, StateUsage
from alloy_scripting.storage.mongo.state import DOCUMENTS, MongoStateStore, document_id
from tests.state_contract import A, Clock, MakeState, StateContract

pytestmark = pytest.mark.integration


class TestMongoStateStore(StateContract):
    @pytest.fixture
    async def make_state(self, mongo_db: Any) -> MakeState:
        async def make(quotas: StateQuotas, clock: Clock) -> StateStore:
            store = MongoStateStore(mongo_db, quotas, clock=clock)
            await store.ensure_indexes()
            return store

        return make


async def test_documents_are_keyed_by_tenant_collection_and_key(mongo_db: Any) -> None:
    store = MongoStateStore(mongo_db)
    await store.ensure_indexes()
    await store.put(A, "c", "k", {"v": 1})
    raw = await mongo_db[DOCUMENTS].find_one({"_id": document_id(A, "c", "k")})
    assert raw is not None
    assert (raw["tenant_id"], raw["collection"], raw["key"], raw["doc"]) == (A, "c", "k", {"v": 1})
    indexes = await mongo_db[DOCUMENTS].index_information()
    unique = indexes["uniq_tenant_collection_key"]
    assert unique["unique"] is True
    assert [name for name, _ in unique["key"]] == ["tenant_id", "collection", "key"]
    assert "by_expires_at" in indexes


async def test_recount_repairs_usage(mongo_db: Any) -> None:
    store = MongoStateStore(mongo_db)
    await store.ensure_indexes()
    await store.put(A, "c", "k1", {"v": 1})
    await store.put(A, "c", "k2", {"v": 2})
    expected = await store.usage(A)
    await mongo_db["state_usage"].update_one({}, {"$inc": {"documents": 5, "bytes": 99}})
    assert await store.recount_usage(A) == expected == StateUsage(2, expected.bytes)
    assert await store.usage(A) == expected
