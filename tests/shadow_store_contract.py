"""The shadow store contract, run against the in-memory twin and MongoDB.

Subclasses provide ``shadows`` (a fresh, empty store)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alloy_scripting.model.script import utc_now
from alloy_scripting.model.shadow import Shadow, ShadowTally
from alloy_scripting.storage.protocols import ShadowStore


def shadow(script_id: str = "s1", tenant_id: str | None = "acme", **fields: object) -> Shadow:
    values: dict[str, object] = {
        "script_id": script_id,
        "tenant_id": tenant_id,
        "source": 'entity["x"] = 1',
        "sample": 0.5,
        "until": utc_now() + timedelta(days=1),
        **fields,
    }
    return Shadow.model_validate(values)


class ShadowStoreContract:
    @pytest.fixture
    async def shadows(self) -> ShadowStore:
        raise NotImplementedError

    async def test_put_get_replace_delete(self, shadows: ShadowStore) -> None:
        first = shadow(started_by="ops")
        await shadows.put(first)
        read = await shadows.get("acme", "s1")
        assert read == first
        assert read.until.tzinfo is not None
        second = shadow(sample=1.0)
        await shadows.put(second)  # one per script: replaces
        assert (await shadows.get("acme", "s1")) == second
        assert [s.id for s in await shadows.of_tenant("acme")] == [second.id]
        assert await shadows.delete("acme", "s1") == second
        assert await shadows.get("acme", "s1") is None
        assert await shadows.delete("acme", "s1") is None

    async def test_another_tenants_shadow_is_absent(self, shadows: ShadowStore) -> None:
        await shadows.put(shadow())
        await shadows.put(shadow("s2", None))
        assert await shadows.get("globex", "s1") is None
        assert await shadows.get(None, "s1") is None
        assert await shadows.delete("globex", "s1") is None
        assert await shadows.get("acme", "s1") is not None
        assert [s.script_id for s in await shadows.of_tenant(None)] == ["s2"]
        assert await shadows.of_tenant("globex") == []

    async def test_tallies_by_instance(self, shadows: ShadowStore) -> None:
        one, two = ShadowTally(), ShadowTally()
        one.add("different", {"at": "1", "execution_id": "x"})
        one.skip()
        two.add("same")
        await shadows.save_tally("sh1", "i1", one)
        await shadows.save_tally("sh1", "i2", two)
        await shadows.save_tally("sh2", "i1", two)
        one.add("error", {"at": "2"})
        await shadows.save_tally("sh1", "i1", one)  # the instance's own document, replaced
        found = await shadows.tallies("sh1")
        assert set(found) == {"i1", "i2"}
        assert found["i1"].to_dict() == one.to_dict()
        assert (found["i2"].runs, found["i2"].same) == (1, 1)
        await shadows.drop_tallies("sh1")
        assert await shadows.tallies("sh1") == {}
        assert set(await shadows.tallies("sh2")) == {"i1"}

    async def test_examples_may_name_any_field(self, shadows: ShadowStore) -> None:
        """Examples carry the events' entities and changes: `$set`, `a.b` are field names."""
        tally = ShadowTally()
        odd = {"$set": {"a.b": 1}, "x.y": [{"$where": "1"}]}
        tally.add("different", {"at": "1", "entity": odd, "active": odd, "candidate": {}})
        await shadows.save_tally("sh1", "i1", tally)
        assert (await shadows.tallies("sh1"))["i1"].to_dict() == tally.to_dict()
