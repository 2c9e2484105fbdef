"""The shadow store contract against the real MongoDB-wire server (FerretDB)."""

from __future__ import annotations

from typing import Any

import pytest

from alloy_scripting.storage import MongoStores
from alloy_scripting.storage.protocols import ShadowStore
from tests.shadow_store_contract import ShadowStoreContract

pytestmark = pytest.mark.integration


class TestMongoShadowStore(ShadowStoreContract):
    @pytest.fixture
    async def shadows(self, mongo_db: Any) -> ShadowStore:
        stores = MongoStores(mongo_db)
        await stores.ensure_indexes()
        return stores.shadows
