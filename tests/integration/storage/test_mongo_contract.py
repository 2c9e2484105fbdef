"""The storage contract against the real MongoDB-wire server (FerretDB from `scripts/services`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from alloy_scripting.storage import MongoStores, Stores
from tests.storage_contract import Replica, StorageContract

pytestmark = pytest.mark.integration


class TestMongoStores(StorageContract):
    @pytest.fixture
    async def stores(self, mongo_db: Any) -> Stores:
        stores = MongoStores(mongo_db, failure_threshold=3, retention_days=30)
        await stores.ensure_indexes()
        return stores

    @pytest.fixture
    async def replica(self, mongo_db: Any, mongodb_url: str) -> AsyncIterator[Replica]:
        """Each call: a new client and new stores on the same database, like another replica."""
        clients: list[AsyncMongoClient[dict[str, Any]]] = []

        async def make() -> Stores:
            client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url)
            clients.append(client)
            return MongoStores(client[mongo_db.name], failure_threshold=3, retention_days=30)

        yield make
        for client in clients:
            await client.close()
