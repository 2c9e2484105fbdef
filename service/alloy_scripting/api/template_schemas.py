"""Bodies of ``/templates``: the list's summaries, instantiation and publication."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from alloy_scripting.api.schemas import Name, TriggerIn, _Request
from alloy_scripting.model.fixtures import MAX_FIXTURES, Fixture
from alloy_scripting.model.script import MAX_DESCRIPTION_LENGTH, ScriptSource, ScriptTrigger
from alloy_scripting.model.template_ref import MAX_TEMPLATE_ID_LENGTH, TEMPLATE_ID_PATTERN
from alloy_scripting.model.templates import (
    MAX_TAGS,
    MAX_TEMPLATE_NAME_LENGTH,
    Template,
)


class TemplateSummary(BaseModel):
    """A template as `GET /templates` lists it (`GET /templates/{id}` has the rest)."""

    id: str
    name: str
    description: str
    tags: list[str]
    owner: str | None = Field(description="None: built-in; else your tenant.")
    builtin: bool
    version: int
    trigger: ScriptTrigger = Field(description="The suggested trigger.")

    @classmethod
    def of(cls, template: Template) -> TemplateSummary:
        return cls(
            id=template.id,
            name=template.name,
            description=template.description,
            tags=list(template.tags),
            owner=template.owner,
            builtin=template.builtin,
            version=template.version,
            trigger=template.trigger,
        )


class TemplateList(BaseModel):
    items: list[TemplateSummary]
    total: int


class TemplateInstantiate(_Request):
    """A draft script from a template: `params` are validated against its schema and stored
    as data (the script reads them as `config`); `trigger` replaces the suggested one."""

    name: Name
    params: dict[str, Any] = Field(default_factory=dict)
    trigger: TriggerIn | None = None
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH)


class TemplatePublish(_Request):
    """A tenant template. Refused unless its schema is a JSON Schema of an object, its
    source validates for its trigger's phase and every fixture passes (with
    `example_params`, or a fixture's own `config`)."""

    id: str = Field(min_length=1, max_length=MAX_TEMPLATE_ID_LENGTH, pattern=TEMPLATE_ID_PATTERN)
    name: str = Field(min_length=1, max_length=MAX_TEMPLATE_NAME_LENGTH)
    description: str = Field(default="", max_length=MAX_DESCRIPTION_LENGTH)
    source: ScriptSource
    params_schema: dict[str, Any]
    example_params: dict[str, Any] = Field(default_factory=dict)
    trigger: TriggerIn
    fixtures: list[Fixture] = Field(min_length=1, max_length=MAX_FIXTURES)
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
