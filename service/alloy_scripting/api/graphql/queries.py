"""Query resolvers: scripts, one script, executions, the helper catalogue, entity types.

Each reads through the caller's tenant-scoped stores (`Ctx`), as the REST routes do.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import strawberry
from pydantic import ValidationError

from alloy_scripting.api import catalogue, operations, template_operations
from alloy_scripting.api.graphql.context import Info, ctx_of
from alloy_scripting.api.graphql.template_types import TemplateNode
from alloy_scripting.api.graphql.types import (
    EntityTypeListingNode,
    ExecutionPageNode,
    HelperNode,
    ScriptNode,
    ScriptPageNode,
    TriggerKind,
)
from alloy_scripting.api.problems import ProblemError
from alloy_scripting.api.schemas import (
    ENTITY_TYPE_FILTER_PATTERN,
    MAX_LIMIT,
    MAX_OFFSET,
    NAME_PREFIX_PATTERN,
)
from alloy_scripting.model.enums import EventType, ExecutionPhase, ExecutionStatus, ScriptStatus
from alloy_scripting.model.page import ExecutionQuery, ScriptQuery
from alloy_scripting.model.script import MAX_ENTITY_TYPE_LENGTH, MAX_NAME_LENGTH

DEFAULT_LIMIT = 50
#: The ``limit`` argument of a paged query.
PageLimit = Annotated[int, strawberry.argument(description=f"At most {MAX_LIMIT}.")]
_NAME_PREFIX = re.compile(NAME_PREFIX_PATTERN)
_ENTITY_TYPE = re.compile(ENTITY_TYPE_FILTER_PATTERN)


def _invalid(argument: str, message: str) -> ProblemError:
    return ProblemError(
        "validation",
        f"{argument}: {message}",
        errors=[{"loc": ["argument", argument], "msg": message, "type": "value_error"}],
    )


def check_page(offset: int, limit: int) -> None:
    """The REST bounds: 0 <= offset <= MAX_OFFSET, 0 <= limit <= MAX_LIMIT."""
    if not 0 <= offset <= MAX_OFFSET:
        raise _invalid("offset", f"must be between 0 and {MAX_OFFSET}")
    if not 0 <= limit <= MAX_LIMIT:
        raise _invalid("limit", f"must be between 0 and {MAX_LIMIT}")


def _aware(argument: str, value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise _invalid(argument, "must carry a time zone (e.g. 2026-01-01T00:00:00Z)")
    return value


@strawberry.type
class Query:
    @strawberry.field(description="The caller's scripts sorted by name, with the total.")
    async def scripts(
        self,
        info: Info,
        status: ScriptStatus | None = None,
        trigger: Annotated[
            TriggerKind | None,
            strawberry.argument(description="Only scripts with this trigger type."),
        ] = None,
        name: Annotated[
            str | None, strawberry.argument(description="Only names starting with this.")
        ] = None,
        entity_type: str | None = None,
        event: EventType | None = None,
        offset: int = 0,
        limit: PageLimit = DEFAULT_LIMIT,
    ) -> ScriptPageNode:
        check_page(offset, limit)
        if name is not None and (len(name) > MAX_NAME_LENGTH or not _NAME_PREFIX.match(name)):
            raise _invalid("name", "letters, digits, '_', '.', '-' (at most 128)")
        if entity_type is not None and (
            len(entity_type) > MAX_ENTITY_TYPE_LENGTH or not _ENTITY_TYPE.match(entity_type)
        ):
            raise _invalid("entityType", "1 to 128 printable characters")
        query = ScriptQuery(
            status=status,
            trigger_type=None if trigger is None else trigger.value,
            entity_type=entity_type,
            event=event,
            name_prefix=name or None,
        )
        return ScriptPageNode.of(await operations.list_scripts(ctx_of(info), query, offset, limit))

    @strawberry.field(description="The built-in templates and your tenant's, by id.")
    async def templates(
        self,
        info: Info,
        tag: Annotated[str | None, strawberry.argument(description="Only these.")] = None,
    ) -> list[TemplateNode]:
        found = await template_operations.list_templates(ctx_of(info), tag)
        return [TemplateNode.of(template) for template in found]

    @strawberry.field(description="One template (built-in or your tenant's) by id.")
    async def template(self, info: Info, id: strawberry.ID) -> TemplateNode:
        return TemplateNode.of(await template_operations.get_template(ctx_of(info), str(id)))

    @strawberry.field(description="One script, by `id` or by `name` (exactly one).")
    async def script(
        self, info: Info, id: strawberry.ID | None = None, name: str | None = None
    ) -> ScriptNode:
        ctx = ctx_of(info)
        if (id is None) == (name is None):
            raise _invalid("id", "give exactly one of id and name")
        script = await (ctx.load(str(id)) if id is not None else ctx.load_by_name(str(name)))
        return ScriptNode.of(script)

    @strawberry.field(
        description="The tenant's execution records (one script's with `scriptId`), newest first."
    )
    async def executions(
        self,
        info: Info,
        script_id: strawberry.ID | None = None,
        status: ExecutionStatus | None = None,
        phase: ExecutionPhase | None = None,
        entity_type: Annotated[
            str | None, strawberry.argument(description="Records of this entity type.")
        ] = None,
        entity_id: Annotated[
            str | None, strawberry.argument(description="Records of this entity id.")
        ] = None,
        since: Annotated[
            datetime | None, strawberry.argument(description="Started at or after this instant.")
        ] = None,
        until: Annotated[
            datetime | None, strawberry.argument(description="Started before this instant.")
        ] = None,
        offset: int = 0,
        limit: PageLimit = DEFAULT_LIMIT,
    ) -> ExecutionPageNode:
        check_page(offset, limit)
        ctx = ctx_of(info)
        try:
            query = ExecutionQuery(
                script_id=None if script_id is None else str(script_id),
                status=status,
                phase=phase,
                entity_type=entity_type,
                entity_id=entity_id,
                since=_aware("since", since),
                until=_aware("until", until),
            )
        except ValidationError as exc:
            raise _invalid("executions", str(exc.errors()[0]["msg"])) from exc
        if query.script_id is not None:  # a script that is not the caller's is not found
            page = await operations.list_executions(ctx, query.script_id, offset, limit, query)
        else:
            page = await operations.find_executions(ctx, query, offset, limit)
        return ExecutionPageNode.of(page)

    @strawberry.field(description="Every helper scripts may call, with its phases.")
    def helpers(self) -> list[HelperNode]:
        return [HelperNode.of(h) for h in catalogue.helper_catalogue()]

    @strawberry.field(
        description="The entity types the caller's scripts are bound to, and every event."
    )
    async def entity_types(self, info: Info) -> EntityTypeListingNode:
        return EntityTypeListingNode.of(
            await catalogue.entity_types(ctx_of(info).scripts.find_paginated)
        )
