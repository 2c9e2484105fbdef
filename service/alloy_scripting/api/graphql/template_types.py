"""GraphQL types of templates (`Query.templates`, `Query.template`)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from alloy_scripting.api.graphql.types import TriggerNode
from alloy_scripting.model.templates import Template


@strawberry.type(
    name="Template",
    description="A ready-made script: built-in (`owner` null) or your tenant's. Instantiate "
    "it with `instantiateTemplate`; its parameters reach the script as `config`.",
)
class TemplateNode:
    id: strawberry.ID
    name: str
    description: str
    source: str
    params_schema: JSON = strawberry.field(description="JSON Schema of the parameters.")
    example_params: JSON = strawberry.field(description="Parameters the fixtures run with.")
    trigger: TriggerNode = strawberry.field(description="The suggested trigger.")
    fixtures: JSON = strawberry.field(description="The test cases instances carry.")
    tags: list[str]
    owner: str | None = strawberry.field(description="Null: built-in; else your tenant.")
    builtin: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, template: Template) -> TemplateNode:
        return cls(
            id=strawberry.ID(template.id),
            name=template.name,
            description=template.description,
            source=template.source,
            params_schema=cast(JSON, template.params_schema),
            example_params=cast(JSON, template.example_params),
            trigger=TriggerNode.of(template.trigger),
            fixtures=cast(JSON, [f.model_dump(mode="json") for f in template.fixtures]),
            tags=list(template.tags),
            owner=template.owner,
            builtin=template.builtin,
            version=template.version,
            created_at=template.created_at,
            updated_at=template.updated_at,
        )
