"""`InMemoryTemplateStore`: tenants' templates in a dict, for unit tests (`TemplateStore`)."""

from __future__ import annotations

from alloy_scripting.model.templates import Template
from alloy_scripting.storage.template_common import owner_of, published


class InMemoryTemplateStore:
    def __init__(self) -> None:
        self._items: dict[tuple[str, str], Template] = {}

    async def ensure_indexes(self) -> None:
        return None

    async def list_templates(self, tenant_id: str) -> list[Template]:
        return [self._items[key] for key in sorted(self._items) if key[0] == tenant_id]

    async def get(self, tenant_id: str, template_id: str) -> Template | None:
        return self._items.get((tenant_id, template_id))

    async def publish(self, template: Template) -> Template:
        key = (owner_of(template), template.id)
        stored = published(template, self._items.get(key))
        self._items[key] = stored
        return stored

    async def delete(self, tenant_id: str, template_id: str) -> bool:
        return self._items.pop((tenant_id, template_id), None) is not None
