"""The ``store.*`` helpers against the in-memory state store."""

from __future__ import annotations

import pytest

from alloy_scripting.bridge.state.store import StateStore
from alloy_scripting.storage.state_memory import InMemoryStateStore
from tests.state_bridge_contract import QUOTAS, StateBridgeContract


class TestStateHelpersInMemory(StateBridgeContract):
    @pytest.fixture
    async def store(self) -> StateStore:
        return InMemoryStateStore(QUOTAS)
