"""The shadow store contract against the in-memory twin (as `InMemoryStores` wires it)."""

from __future__ import annotations

import pytest

from alloy_scripting.storage import InMemoryStores
from alloy_scripting.storage.protocols import ShadowStore
from tests.shadow_store_contract import ShadowStoreContract


class TestInMemoryShadowStore(ShadowStoreContract):
    @pytest.fixture
    async def shadows(self) -> ShadowStore:
        return InMemoryStores().shadows
