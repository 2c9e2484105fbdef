"""`InMemoryTemplateStore`: tenants' templates in a dict, for unit tests (`TemplateStore`)."""

from __future__ import annotations

from alloy_scripting.model.script import utc_now
from alloy_scripting.model.templates import Template


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
        if template.owner is None:
            raise ValueError("a published template has an owner (its tenant)")
        key = (template.owner, template.id)
        previous = self._items.get(key)
        now = utc_now()
        stored = template.model_copy(
            update={
                "version": 1 if previous is None else previous.version + 1,
                "created_at": now if previous is None else previous.created_at,
                "updated_at": now,
            }
        )
        self._items[key] = stored
        return stored

    async def delete(self, tenant_id: str, template_id: str) -> bool:
        return self._items.pop((tenant_id, template_id), None) is not None
