"""``/scripts``: list, create, validate, read, update, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from alloy_scripting.api.deps import (
    CtxDep,
    IfMatch,
    check_preconditions,
    conflicts_as,
    diagnose,
    has_errors,
    refuse_invalid,
    script_out,
)
from alloy_scripting.api.operations import check_activation
from alloy_scripting.api.schemas import (
    MAX_LIMIT,
    MAX_OFFSET,
    Revision,
    ScriptCreate,
    ScriptList,
    ScriptOut,
    ScriptUpdate,
    ValidateIn,
    ValidateOut,
)
from alloy_scripting.model.enums import EventType, ScriptStatus
from alloy_scripting.model.page import ScriptQuery
from alloy_scripting.model.script import (
    MAX_ENTITY_TYPE_LENGTH,
    MAX_NAME_LENGTH,
    Script,
    TriggerType,
)

router = APIRouter(prefix="/scripts", tags=["scripts"])

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Limit = Annotated[int, Query(ge=0, le=MAX_LIMIT)]


@router.get("", summary="List scripts")
async def list_scripts(
    ctx: CtxDep,
    offset: Offset = 0,
    limit: Limit = 50,
    status: ScriptStatus | None = None,
    trigger_type: TriggerType | None = None,
    entity_type: Annotated[
        str | None,
        Query(min_length=1, max_length=MAX_ENTITY_TYPE_LENGTH, pattern=r"^[^\x00-\x1f]+$"),
    ] = None,
    event: EventType | None = None,
    name_prefix: Annotated[
        str | None, Query(max_length=MAX_NAME_LENGTH, pattern=r"^[A-Za-z0-9_.-]*$")
    ] = None,
) -> ScriptList:
    """Scripts of the caller's tenant sorted by name, with the total number of matches."""
    query = ScriptQuery(
        status=status,
        trigger_type=trigger_type,
        entity_type=entity_type,
        event=event,
        name_prefix=name_prefix or None,
    )
    page = await ctx.scripts.find_paginated(query, offset, limit)
    return ScriptList(
        items=[script_out(s) for s in page.items], total=page.total, offset=offset, limit=limit
    )


@router.post("", status_code=201, summary="Create a script")
async def create_script(body: ScriptCreate, ctx: CtxDep, response: Response) -> ScriptOut:
    """Validated by the engine first (for the phase of its trigger); a script with error
    diagnostics is refused with 422 `script-invalid` listing them. Created `active`, it must
    pass its fixtures (409 `fixtures-failing`) and have its endpoint to itself (409
    `endpoint-taken`)."""
    trigger = body.trigger.to_model()
    await refuse_invalid(ctx.runtime, body.source, trigger)
    script = Script.new(
        body.name,
        body.source,
        trigger,
        tenant_id=ctx.tenant_id,
        description=body.description,
        priority=body.priority,
        on_error=body.on_error,
        created_by=ctx.caller.actor,
        fixtures=body.fixtures,
    )
    if body.status is ScriptStatus.ACTIVE:
        await check_activation(ctx.runtime, ctx.scripts, script)
        script.activate()
    elif body.status is ScriptStatus.DISABLED:
        script.disable("created disabled")
    else:
        script.status = body.status
    saved = await ctx.scripts.save(script)
    await ctx.changed()
    response.headers["Location"] = f"/scripts/{saved.id}"
    return script_out(saved, response)


@router.post("/validate", summary="Validate a source without saving it")
async def validate_source(body: ValidateIn, ctx: CtxDep) -> ValidateOut:
    diagnostics = await diagnose(ctx.runtime, body.source, body.phase)
    return ValidateOut(ok=not has_errors(diagnostics), diagnostics=diagnostics)


@router.get("/name/{name}", summary="Read a script by name")
async def get_script_by_name(name: str, ctx: CtxDep, response: Response) -> ScriptOut:
    return script_out(await ctx.load_by_name(name), response)


@router.get("/{script_id}", summary="Read a script")
async def get_script(script_id: str, ctx: CtxDep, response: Response) -> ScriptOut:
    """The `ETag` header carries the revision for `If-Match`."""
    return script_out(await ctx.load(script_id), response)


@router.put("/{script_id}", summary="Update a script")
async def update_script(
    script_id: str, body: ScriptUpdate, ctx: CtxDep, response: Response, if_match: IfMatch = None
) -> ScriptOut:
    """Changes the given fields. Optimistic concurrency: `If-Match` (412 when stale) or a
    `revision` field (409 when stale); without either, the last write wins. A new source or
    trigger is validated by the engine first; a script that is (or becomes) active must
    pass its fixtures (409 `fixtures-failing`) and keep its endpoint to itself (409
    `endpoint-taken`)."""
    stored = await ctx.load(script_id)
    check_preconditions(stored, if_match, body.revision)
    changes: dict[str, Any] = {
        field: getattr(body, field)
        for field in body.model_fields_set
        if field not in ("revision", "trigger") and getattr(body, field) is not None
    }
    if body.trigger is not None:
        changes["trigger"] = body.trigger.to_model()
    updated = Script.model_validate({**dict(stored), **changes, "updated_by": ctx.caller.actor})
    if not updated.same_definition(stored):
        await refuse_invalid(ctx.runtime, updated.source, updated.trigger)
    if updated.status is ScriptStatus.ACTIVE:
        await check_activation(ctx.runtime, ctx.scripts, updated)
    if updated.status is not stored.status:
        if updated.status is ScriptStatus.ACTIVE:
            updated.activate()
        elif updated.status is ScriptStatus.DISABLED:
            updated.disable(f"disabled by {ctx.caller.actor or 'the API'}")
    with conflicts_as(if_match):
        saved = await ctx.scripts.save(updated)
    await ctx.changed()
    return script_out(saved, response)


@router.delete("/{script_id}", status_code=204, summary="Delete a script")
async def delete_script(
    script_id: str,
    ctx: CtxDep,
    if_match: IfMatch = None,
    revision: Annotated[Revision | None, Query(description="409 when stale.")] = None,
) -> Response:
    """Deletes the script and its versions (the execution log keeps its records)."""
    stored = await ctx.load(script_id)
    check_preconditions(stored, if_match, revision)
    expected = revision if revision is not None else stored.revision if if_match else None
    with conflicts_as(if_match):
        await ctx.scripts.delete(stored.id, expected_revision=expected)
    await ctx.changed()
    return Response(status_code=204)
