"""The egress store contract, run against the in-memory twin and MongoDB.

Subclasses provide ``egress`` (a fresh, empty store) and ``egress_replica`` (an async
factory of another store over the same data, as a second instance sees it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from alloy_scripting.storage import EgressStore

Replica = Callable[[], Awaitable[EgressStore]]


class EgressStoreContract:
    @pytest.fixture
    async def egress(self) -> EgressStore:
        raise NotImplementedError

    @pytest.fixture
    async def egress_replica(self, egress: EgressStore) -> Replica:
        raise NotImplementedError

    async def test_a_tenant_without_rules_has_no_entries(self, egress: EgressStore) -> None:
        rules = await egress.get("acme")
        assert rules.tenant_id == "acme"
        assert rules.allow == ()
        assert rules.updated_at is None

    async def test_put_then_get(self, egress: EgressStore, egress_replica: Replica) -> None:
        stored = await egress.put(
            "acme", ["api.example.com", "*.hooks.example.com:8443"], updated_by="ops"
        )
        assert stored.allow == ("api.example.com", "*.hooks.example.com:8443")
        other = await egress_replica()
        read = await other.get("acme")
        assert read.allow == ("api.example.com", "*.hooks.example.com:8443")
        assert read.updated_by == "ops"
        assert read.updated_at == stored.updated_at
        assert read.updated_at is not None and read.updated_at.utcoffset() is not None

    async def test_put_replaces_the_whole_list(self, egress: EgressStore) -> None:
        await egress.put("acme", ["a.example", "b.example"])
        await egress.put("acme", ["c.example"])
        assert (await egress.get("acme")).allow == ("c.example",)
        await egress.put("acme", [])
        assert (await egress.get("acme")).allow == ()

    async def test_tenants_are_isolated(self, egress: EgressStore) -> None:
        await egress.put("acme", ["acme.example"])
        await egress.put(None, ["default.example"])
        assert (await egress.get("globex")).allow == ()
        assert (await egress.get("acme")).allow == ("acme.example",)
        default = await egress.get(None)
        assert default.allow == ("default.example",) and default.tenant_id is None
