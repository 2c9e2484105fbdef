"""Mutation resolvers: each calls the shared operation the REST route calls
(`api.operations`) with input validated by the REST request models."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from alloy_scripting.api import operations, template_operations
from alloy_scripting.api.graphql.context import Info, ctx_of
from alloy_scripting.api.graphql.errors import validated
from alloy_scripting.api.graphql.types import (
    CreateScriptInput,
    RunResultNode,
    ScriptNode,
    TriggerInput,
    UpdateScriptInput,
    ValidationResultNode,
)
from alloy_scripting.api.problems import ProblemError
from alloy_scripting.api.schemas import (
    DisableIn,
    RollbackIn,
    RunIn,
    ScriptCreate,
    ScriptUpdate,
    ValidateIn,
)
from alloy_scripting.api.template_schemas import TemplateInstantiate
from alloy_scripting.model.enums import ExecutionPhase

_EXPECTED = "The revision you read; a stale one is a `conflict` error (409)."


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Runs a script once (`MANUAL`, or `API` for API-triggered scripts), "
        "by `id` or by `name`. Recorded in the execution log with the caller's user and "
        "tenant unless `dryRun` (which also emits nothing and counts no failure). Disabled "
        "and archived scripts only run with `dryRun`."
    )
    async def run_script(
        self,
        info: Info,
        id: strawberry.ID | None = None,
        name: str | None = None,
        params: JSON | None = None,
        entity: Annotated[JSON | None, strawberry.argument(description="A sample entity.")] = None,
        entity_type: str | None = None,
        dry_run: bool = False,
    ) -> RunResultNode:
        ctx = ctx_of(info)
        if (id is None) == (name is None):
            raise ProblemError("validation", "give exactly one of id and name")
        body: dict[str, Any] = {"params": {} if params is None else params, "dry_run": dry_run}
        if entity is not None:
            body["entity"] = entity
        if entity_type is not None:
            body["entity_type"] = entity_type
        run = validated(RunIn, body)
        script = await (ctx.load(str(id)) if id is not None else ctx.load_by_name(str(name)))
        return RunResultNode.of(await operations.run_script(ctx, script, run), dry_run)

    @strawberry.mutation(description="Validated by the engine first (`script-invalid`).")
    async def create_script(self, info: Info, input: CreateScriptInput) -> ScriptNode:
        body = validated(ScriptCreate, input.to_dict())
        return ScriptNode.of(await operations.create_script(ctx_of(info), body))

    @strawberry.mutation(
        description="Creates a draft script from a template: `params` are checked against its "
        "schema (`template-params-invalid` lists each error's path) and reach the script as "
        "`config`; `trigger` replaces the suggested one."
    )
    async def instantiate_template(
        self,
        info: Info,
        id: strawberry.ID,
        name: str,
        params: JSON | None = None,
        trigger: TriggerInput | None = None,
        description: str | None = None,
    ) -> ScriptNode:
        data: dict[str, Any] = {"name": name, "params": {} if params is None else params}
        if trigger is not None:
            data["trigger"] = trigger.to_dict()
        if description is not None:
            data["description"] = description
        body = validated(TemplateInstantiate, data)
        saved = await template_operations.instantiate_template(ctx_of(info), str(id), body)
        return ScriptNode.of(saved)

    @strawberry.mutation(description="Changes the given fields; a new source is validated.")
    async def update_script(
        self,
        info: Info,
        id: strawberry.ID,
        input: UpdateScriptInput,
        expected_revision: Annotated[int | None, strawberry.argument(description=_EXPECTED)] = None,
    ) -> ScriptNode:
        data = input.to_dict()
        if expected_revision is not None:
            data["revision"] = expected_revision
        body = validated(ScriptUpdate, data)
        return ScriptNode.of(await operations.update_script(ctx_of(info), str(id), body))

    @strawberry.mutation(description="Deletes the script and its versions; returns its id.")
    async def delete_script(
        self,
        info: Info,
        id: strawberry.ID,
        expected_revision: Annotated[int | None, strawberry.argument(description=_EXPECTED)] = None,
    ) -> strawberry.ID:
        if expected_revision is not None and expected_revision < 0:
            raise ProblemError("validation", "expectedRevision must be >= 0")
        deleted = await operations.delete_script(ctx_of(info), str(id), expected_revision)
        return strawberry.ID(deleted.id)

    @strawberry.mutation(description="`ACTIVE`; clears a disable and the failure count.")
    async def activate_script(self, info: Info, id: strawberry.ID) -> ScriptNode:
        return ScriptNode.of(await operations.activate_script(ctx_of(info), str(id)))

    @strawberry.mutation(description="`DISABLED`, with the reason given (or who did it).")
    async def disable_script(
        self, info: Info, id: strawberry.ID, reason: str | None = None
    ) -> ScriptNode:
        body = validated(DisableIn, {"reason": reason})
        saved = await operations.disable_script(ctx_of(info), str(id), body.reason or None)
        return ScriptNode.of(saved)

    @strawberry.mutation(description="Re-enables a disabled script: `ACTIVE`, no failures.")
    async def reset_script(self, info: Info, id: strawberry.ID) -> ScriptNode:
        return ScriptNode.of(await operations.reset_script(ctx_of(info), str(id)))

    @strawberry.mutation(description="Makes an earlier version current again (a new version).")
    async def rollback_script(
        self,
        info: Info,
        id: strawberry.ID,
        version: int,
        expected_revision: Annotated[int | None, strawberry.argument(description=_EXPECTED)] = None,
    ) -> ScriptNode:
        body = validated(RollbackIn, {"version": version, "revision": expected_revision})
        saved = await operations.rollback_script(ctx_of(info), str(id), body.version, body.revision)
        return ScriptNode.of(saved)

    @strawberry.mutation(
        description="Checks a source without saving it: diagnostics with line and column. "
        "With `phase`, the helpers of that phase are checked too."
    )
    async def validate_script(
        self, info: Info, source: str, phase: ExecutionPhase | None = None
    ) -> ValidationResultNode:
        body = validated(ValidateIn, {"source": source, "phase": phase})
        result = await operations.validate_source(ctx_of(info), body.source, body.phase)
        return ValidationResultNode.of(result)
