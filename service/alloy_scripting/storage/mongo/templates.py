"""`MongoTemplateStore`: tenants' templates in ``script_templates``, one document per
(tenant, template id).

The template is kept as JSON text (``body``): a JSON Schema has ``$``-prefixed keys
(``$ref``, ``$defs``) and property names may hold dots, neither of which MongoDB field
names carry. ``_id`` is ``[tenant, id]`` as JSON text; every read names the tenant.
Publishing again bumps the version with a write conditional on the version read (FerretDB
has no transactions), so of two racing publications the later is refused.
"""

from __future__ import annotations

import json

from pymongo import ASCENDING
from pymongo.errors import OperationFailure

from alloy_scripting.model.templates import STORED, Template
from alloy_scripting.storage.errors import TemplateConflict
from alloy_scripting.storage.mongo.common import (
    Database,
    Document,
    collection,
    create_index,
    is_duplicate_key,
)
from alloy_scripting.storage.template_common import owner_of, published

IDX_TEMPLATES_BY_TENANT = "by_tenant_template"


def template_key(tenant_id: str, template_id: str) -> str:
    return json.dumps([tenant_id, template_id])


def _template(doc: Document) -> Template:
    return Template.model_validate_json(doc["body"], context=STORED)  # checked when published


class MongoTemplateStore:
    def __init__(self, db: Database) -> None:
        self._coll = collection(db, "templates")

    async def ensure_indexes(self) -> None:
        await create_index(
            self._coll,
            [("tenant_id", ASCENDING), ("template_id", ASCENDING)],
            name=IDX_TEMPLATES_BY_TENANT,
        )

    async def list_templates(self, tenant_id: str) -> list[Template]:
        cursor = self._coll.find({"tenant_id": tenant_id}).sort("template_id", ASCENDING)
        return [_template(doc) async for doc in cursor]

    async def get(self, tenant_id: str, template_id: str) -> Template | None:
        doc = await self._coll.find_one({"_id": template_key(tenant_id, template_id)})
        if doc is None or doc.get("tenant_id") != tenant_id:
            return None
        return _template(doc)

    async def publish(self, template: Template) -> Template:
        owner = owner_of(template)
        key = template_key(owner, template.id)
        previous_doc = await self._coll.find_one({"_id": key})
        previous = None if previous_doc is None else _template(previous_doc)
        stored = published(template, previous)
        doc = {
            "tenant_id": owner,
            "template_id": template.id,
            "version": stored.version,
            "body": stored.model_dump_json(),
        }
        if previous is None:
            try:
                await self._coll.insert_one({"_id": key, **doc})
            except OperationFailure as exc:
                if is_duplicate_key(exc):
                    raise TemplateConflict(template.id) from exc
                raise
        else:
            result = await self._coll.replace_one({"_id": key, "version": previous.version}, doc)
            if result.matched_count != 1:
                raise TemplateConflict(template.id)
        return stored

    async def delete(self, tenant_id: str, template_id: str) -> bool:
        result = await self._coll.delete_one({"_id": template_key(tenant_id, template_id)})
        return result.deleted_count == 1
