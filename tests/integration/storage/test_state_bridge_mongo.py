"""The ``store.*`` helpers against the real MongoDB-wire server (FerretDB)."""

from __future__ import annotations

from typing import Any

import pytest

from alloy_scripting.bridge.state.store import StateStore
from alloy_scripting.storage.mongo.state import MongoStateStore
from tests.state_bridge_contract import QUOTAS, StateBridgeContract

pytestmark = pytest.mark.integration


class TestStateHelpersOnMongo(StateBridgeContract):
    @pytest.fixture
    async def store(self, mongo_db: Any) -> StateStore:
        store = MongoStateStore(mongo_db, QUOTAS)
        await store.ensure_indexes()
        return store
