"""`InMemoryShadowStore`: the in-memory twin of `MongoShadowStore` (`ShadowStore`)."""

from __future__ import annotations

from alloy_scripting.model.shadow import Shadow, ShadowTally


class InMemoryShadowStore:
    def __init__(self) -> None:
        self._shadows: dict[str, Shadow] = {}
        self._tallies: dict[tuple[str, str], dict[str, object]] = {}

    async def ensure_indexes(self) -> None:
        return None

    async def put(self, shadow: Shadow) -> None:
        self._shadows[shadow.script_id] = shadow.model_copy(deep=True)

    async def get(self, tenant_id: str | None, script_id: str) -> Shadow | None:
        shadow = self._shadows.get(script_id)
        if shadow is None or shadow.tenant_id != tenant_id:
            return None
        return shadow.model_copy(deep=True)

    async def delete(self, tenant_id: str | None, script_id: str) -> Shadow | None:
        shadow = await self.get(tenant_id, script_id)
        if shadow is not None:
            del self._shadows[script_id]
        return shadow

    async def of_tenant(self, tenant_id: str | None) -> list[Shadow]:
        return [s.model_copy(deep=True) for s in self._shadows.values() if s.tenant_id == tenant_id]

    async def save_tally(self, shadow_id: str, instance: str, tally: ShadowTally) -> None:
        self._tallies[(shadow_id, instance)] = tally.to_dict()

    async def tallies(self, shadow_id: str) -> dict[str, ShadowTally]:
        return {
            instance: ShadowTally.from_dict(dict(data))
            for (sid, instance), data in self._tallies.items()
            if sid == shadow_id
        }

    async def drop_tallies(self, shadow_id: str) -> None:
        for key in [k for k in self._tallies if k[0] == shadow_id]:
            del self._tallies[key]
