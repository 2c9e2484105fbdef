"""``store.*`` from real script runs in worker processes, on the in-memory state store."""

from __future__ import annotations

import pytest

from alloy_scripting.bridge.state.store import StateStore
from alloy_scripting.storage.state_memory import InMemoryStateStore
from tests.store_scripts_contract import QUOTAS, StoreScriptsContract, pool

__all__ = ["pool"]


class TestStoreScriptsInMemory(StoreScriptsContract):
    @pytest.fixture
    async def state(self) -> StateStore:
        return InMemoryStateStore(QUOTAS)
