"""The storage contract against the in-memory stores."""

from __future__ import annotations

import pytest

from alloy_scripting.storage import InMemoryStores, Stores
from tests.storage_contract import Replica, StorageContract


class TestInMemoryStores(StorageContract):
    @pytest.fixture
    async def stores(self) -> Stores:
        stores = InMemoryStores(failure_threshold=3, retention_days=30)
        await stores.ensure_indexes()
        return stores

    @pytest.fixture
    async def replica(self, stores: Stores) -> Replica:
        async def same() -> Stores:
            return stores  # one process holds the only copy

        return same
