"""The state-store contract against the in-memory twin."""

from __future__ import annotations

import pytest

from alloy_scripting.bridge.state.store import StateStore
from alloy_scripting.model.state import StateQuotas
from alloy_scripting.storage.state_memory import InMemoryStateStore
from tests.state_contract import Clock, MakeState, StateContract


class TestInMemoryStateStore(StateContract):
    @pytest.fixture
    async def make_state(self) -> MakeState:
        async def make(quotas: StateQuotas, clock: Clock) -> StateStore:
            return InMemoryStateStore(quotas, clock=clock)

        return make
