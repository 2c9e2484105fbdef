"""``store.*`` from real script runs in worker processes, on the real FerretDB."""

from __future__ import annotations

from typing import Any

import pytest

from alloy_scripting.bridge.state.store import StateStore
from alloy_scripting.storage.mongo.state import MongoStateStore
from tests.store_scripts_contract import QUOTAS, StoreScriptsContract, pool

__all__ = ["pool"]
pytestmark = pytest.mark.integration


class TestStoreScriptsOnMongo(StoreScriptsContract):
    @pytest.fixture
    async def state(self, mongo_db: Any) -> StateStore:
        store = MongoStateStore(mongo_db, QUOTAS)
        await store.ensure_indexes()
        return store
