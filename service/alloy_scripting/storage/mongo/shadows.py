"""`MongoShadowStore`: shadow runs in ``script_shadows`` (``_id`` = the script id; the
tenant is checked on every read, so another tenant's shadow is absent) and their tallies in
``script_shadow_tallies`` (``_id`` = ``"<shadow id>:<instance>"``, each replaced whole by its
one instance: no concurrent update of a document, which FerretDB would lose)."""

from __future__ import annotations

from typing import Any

from alloy_scripting.model.shadow import Shadow, ShadowTally
from alloy_scripting.storage.mongo.common import (
    Database,
    as_text,
    collection,
    create_index,
    from_text,
)


class MongoShadowStore:
    def __init__(self, db: Database) -> None:
        self._shadows = collection(db, "shadows")
        self._tallies = collection(db, "shadow_tallies")

    async def ensure_indexes(self) -> None:
        await create_index(self._shadows, [("tenant_id", 1)], name="by_tenant")
        await create_index(self._tallies, [("shadow_id", 1)], name="by_shadow")

    async def put(self, shadow: Shadow) -> None:
        doc = shadow.model_dump(mode="python")
        await self._shadows.replace_one({"_id": shadow.script_id}, doc, upsert=True)

    @staticmethod
    def _shadow(doc: dict[str, Any] | None, tenant_id: str | None) -> Shadow | None:
        if doc is None or doc.get("tenant_id") != tenant_id:
            return None
        doc.pop("_id", None)
        return Shadow.model_validate(doc)

    async def get(self, tenant_id: str | None, script_id: str) -> Shadow | None:
        return self._shadow(await self._shadows.find_one({"_id": script_id}), tenant_id)

    async def delete(self, tenant_id: str | None, script_id: str) -> Shadow | None:
        shadow = await self.get(tenant_id, script_id)
        if shadow is not None:
            await self._shadows.delete_one({"_id": script_id, "id": shadow.id})
        return shadow

    async def of_tenant(self, tenant_id: str | None) -> list[Shadow]:
        found = []
        async for doc in self._shadows.find({"tenant_id": tenant_id}):
            shadow = self._shadow(doc, tenant_id)
            if shadow is not None:
                found.append(shadow)
        return found

    async def save_tally(self, shadow_id: str, instance: str, tally: ShadowTally) -> None:
        doc = {"shadow_id": shadow_id, "instance": instance, **tally.to_dict()}
        doc["examples"] = as_text(doc["examples"])  # they carry the events' field names
        await self._tallies.replace_one({"_id": f"{shadow_id}:{instance}"}, doc, upsert=True)

    async def tallies(self, shadow_id: str) -> dict[str, ShadowTally]:
        found = {}
        async for doc in self._tallies.find({"shadow_id": shadow_id}):
            from_text(doc, ("examples",))
            found[str(doc.get("instance"))] = ShadowTally.from_dict(doc)
        return found

    async def drop_tallies(self, shadow_id: str) -> None:
        await self._tallies.delete_many({"shadow_id": shadow_id})
