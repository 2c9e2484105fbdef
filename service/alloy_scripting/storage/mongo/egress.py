"""`MongoEgressStore`: one document per tenant in ``egress_rules``, ``_id`` = the tenant
(``""`` for the default tenant, which no tenant id can be). A `put` replaces the document
whole: last writer wins, as a REST PUT."""

from __future__ import annotations

from collections.abc import Sequence

from alloy_scripting.model.egress import EgressRules
from alloy_scripting.model.script import utc_now
from alloy_scripting.storage.mongo.common import Database, collection


def tenant_key(tenant_id: str | None) -> str:
    return "" if tenant_id is None else tenant_id


class MongoEgressStore:
    def __init__(self, db: Database) -> None:
        self._coll = collection(db, "egress")

    async def get(self, tenant_id: str | None) -> EgressRules:
        doc = await self._coll.find_one({"_id": tenant_key(tenant_id)})
        if doc is None:
            return EgressRules(tenant_id)
        return EgressRules(
            tenant_id, tuple(doc.get("allow", ())), doc.get("updated_at"), doc.get("updated_by")
        )

    async def put(
        self, tenant_id: str | None, allow: Sequence[str], *, updated_by: str | None = None
    ) -> EgressRules:
        rules = EgressRules(tenant_id, tuple(allow), utc_now(), updated_by)
        await self._coll.replace_one(
            {"_id": tenant_key(tenant_id)},
            {
                "tenant_id": tenant_id,
                "allow": list(rules.allow),
                "updated_at": rules.updated_at,
                "updated_by": updated_by,
            },
            upsert=True,
        )
        return rules
