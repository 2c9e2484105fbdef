"""The `TemplateStore` contract: tenants' templates, versioned per publication, isolated per
tenant. Subclasses provide ``templates`` (a fresh store); see
``tests/unit/storage/test_template_store_memory.py`` and
``tests/integration/storage/test_template_store_mongo.py``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from alloy_scripting.model.templates import Template
from alloy_scripting.storage.errors import TemplateConflict
from alloy_scripting.storage.protocols import TemplateStore


def template(template_id: str = "t-1", owner: str = "tenant-a", **fields: Any) -> Template:
    values: dict[str, Any] = {
        "id": template_id,
        "name": "T",
        "source": 'entity["x"] = config["x"]\n',
        "params_schema": {
            "type": "object",
            "$defs": {"n": {"type": "integer"}},
            "properties": {"x": {"$ref": "#/$defs/n", "default": 1}, "a.b": {"type": "string"}},
        },
        "trigger": {"type": "event", "entity_type": "deal", "event": "before_create"},
        "fixtures": [{"name": "f", "entity": {"$odd.key": 1}, "expect": {"outcome": "continue"}}],
        "owner": owner,
    }
    values.update(fields)
    return Template.model_validate(values)


class TemplateStoreContract:
    @pytest.fixture
    async def templates(self) -> TemplateStore:
        raise NotImplementedError

    async def test_publish_read_list_delete(self, templates: TemplateStore) -> None:
        await templates.ensure_indexes()
        first = await templates.publish(template("b-one"))
        await templates.publish(template("a-two"))
        assert first.version == 1
        read = await templates.get("tenant-a", "b-one")
        assert read == first  # `$` keys and dotted property names survive the round trip
        assert read is not None and "$defs" in read.params_schema
        assert [t.id for t in await templates.list_templates("tenant-a")] == ["a-two", "b-one"]
        assert await templates.delete("tenant-a", "b-one") is True
        assert await templates.delete("tenant-a", "b-one") is False
        assert await templates.get("tenant-a", "b-one") is None

    async def test_publishing_again_is_a_new_version(self, templates: TemplateStore) -> None:
        first = await templates.publish(template(description="one"))
        second = await templates.publish(template(description="two"))
        assert (first.version, second.version) == (1, 2)
        assert second.created_at == first.created_at
        stored = await templates.get("tenant-a", "t-1")
        assert stored is not None and stored.description == "two" and stored.version == 2

    async def test_tenants_are_isolated(self, templates: TemplateStore) -> None:
        await templates.publish(template(owner="tenant-a", description="A"))
        await templates.publish(template(owner="tenant-b", description="B"))
        a, b = await templates.get("tenant-a", "t-1"), await templates.get("tenant-b", "t-1")
        assert a is not None and b is not None
        assert (a.description, b.description) == ("A", "B")
        assert await templates.get("tenant-c", "t-1") is None
        assert await templates.list_templates("tenant-c") == []
        assert await templates.delete("tenant-c", "t-1") is False
        assert await templates.delete("tenant-b", "t-1") is True
        assert await templates.get("tenant-a", "t-1") == a

    async def test_built_in_shaped_templates_are_refused(self, templates: TemplateStore) -> None:
        with pytest.raises(ValueError, match="owner"):
            await templates.publish(template().model_copy(update={"owner": None}))

    async def test_racing_publications_never_lose_a_version(self, templates: TemplateStore) -> None:
        await templates.publish(template())
        results = await asyncio.gather(
            *(templates.publish(template(description=str(i))) for i in range(5)),
            return_exceptions=True,
        )
        won = [r for r in results if isinstance(r, Template)]
        lost = [r for r in results if not isinstance(r, Template)]
        assert all(isinstance(r, TemplateConflict) for r in lost)
        versions = sorted(r.version for r in won)
        assert versions == list(range(2, 2 + len(won)))  # distinct, consecutive
        stored = await templates.get("tenant-a", "t-1")
        assert stored is not None and stored.version == 1 + len(won)
