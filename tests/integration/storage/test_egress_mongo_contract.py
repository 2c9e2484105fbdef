"""The egress store contract against the real MongoDB-wire server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from alloy_scripting.storage import EgressStore, MongoStores
from tests.egress_contract import EgressStoreContract, Replica

pytestmark = pytest.mark.integration


class TestMongoEgressStore(EgressStoreContract):
    @pytest.fixture
    async def egress(self, mongo_db: Any) -> EgressStore:
        return MongoStores(mongo_db).egress

    @pytest.fixture
    async def egress_replica(self, mongo_db: Any, mongodb_url: str) -> AsyncIterator[Replica]:
        clients: list[AsyncMongoClient[dict[str, Any]]] = []

        async def make() -> EgressStore:
            client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url, tz_aware=True)
            clients.append(client)
            return MongoStores(client[mongo_db.name]).egress

        yield make
        for client in clients:
            await client.close()
