"""The egress store contract against the in-memory twin (as `InMemoryStores` wires it)."""

from __future__ import annotations

import pytest

from alloy_scripting.storage import EgressStore, InMemoryStores
from tests.egress_contract import EgressStoreContract, Replica


class TestInMemoryEgressStore(EgressStoreContract):
    @pytest.fixture
    async def egress(self) -> EgressStore:
        return InMemoryStores().egress

    @pytest.fixture
    async def egress_replica(self, egress: EgressStore) -> Replica:
        async def same() -> EgressStore:
            return egress  # one process holds the only copy

        return same
