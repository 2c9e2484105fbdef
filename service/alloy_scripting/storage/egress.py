"""Per-tenant egress rules (the HTTP bridge's allow-list): a protocol, an in-memory twin and
the MongoDB store, run under one contract (``tests/egress_contract.py``).

The store keeps entries as given; parsing and canonical forms are the bridge's
(`alloy_scripting.bridge.http.allowlist`), checked by the API before a `put`. A tenant
without a document has no entries: deny by default. One document per tenant in the
``egress_rules`` collection, ``_id`` = the tenant (``""`` for the default tenant, which a
tenant id can never be); a `put` replaces it whole (last writer wins, as a REST PUT).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from bson.codec_options import CodecOptions
from pymongo.asynchronous.database import AsyncDatabase

from alloy_scripting.model.script import utc_now

COLLECTION = "egress_rules"
_CODEC: CodecOptions[dict[str, Any]] = CodecOptions(document_class=dict, tz_aware=True, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class EgressRules:
    tenant_id: str | None
    allow: tuple[str, ...] = ()
    updated_at: datetime | None = None
    updated_by: str | None = None


class EgressStore(Protocol):
    async def get(self, tenant_id: str | None) -> EgressRules:
        """The tenant's rules; no entries when it has none stored."""
        ...

    async def put(
        self, tenant_id: str | None, allow: Sequence[str], *, updated_by: str | None = None
    ) -> EgressRules:
        """Replace the tenant's entries; returns what is stored."""
        ...


def _key(tenant_id: str | None) -> str:
    return "" if tenant_id is None else tenant_id


class InMemoryEgressStore:
    def __init__(self) -> None:
        self._rules: dict[str, EgressRules] = {}

    async def get(self, tenant_id: str | None) -> EgressRules:
        return self._rules.get(_key(tenant_id), EgressRules(tenant_id))

    async def put(
        self, tenant_id: str | None, allow: Sequence[str], *, updated_by: str | None = None
    ) -> EgressRules:
        rules = EgressRules(tenant_id, tuple(allow), utc_now(), updated_by)
        self._rules[_key(tenant_id)] = rules
        return rules


class MongoEgressStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._coll = db.get_collection(COLLECTION, codec_options=_CODEC)

    async def get(self, tenant_id: str | None) -> EgressRules:
        doc = await self._coll.find_one({"_id": _key(tenant_id)})
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
            {"_id": _key(tenant_id)},
            {
                "tenant_id": tenant_id,
                "allow": list(rules.allow),
                "updated_at": rules.updated_at,
                "updated_by": updated_by,
            },
            upsert=True,
        )
        return rules
