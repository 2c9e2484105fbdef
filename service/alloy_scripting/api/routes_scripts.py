"""``/scripts``: list, create, validate, read, update, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from alloy_scripting.api import operations
from alloy_scripting.api.deps import CtxDep, IfMatch, script_list, script_out
from alloy_scripting.api.schemas import (
    ENTITY_TYPE_FILTER_PATTERN,
    MAX_LIMIT,
    MAX_OFFSET,
    NAME_PREFIX_PATTERN,
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
        Query(min_length=1, max_length=MAX_ENTITY_TYPE_LENGTH, pattern=ENTITY_TYPE_FILTER_PATTERN),
    ] = None,
    event: EventType | None = None,
    name_prefix: Annotated[
        str | None, Query(max_length=MAX_NAME_LENGTH, pattern=NAME_PREFIX_PATTERN)
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
    return script_list(await operations.list_scripts(ctx, query, offset, limit), offset, limit)


@router.post("", status_code=201, summary="Create a script")
async def create_script(body: ScriptCreate, ctx: CtxDep, response: Response) -> ScriptOut:
    """Validated by the engine first (for the phase of its trigger); a script with error
    diagnostics is refused with 422 `script-invalid` listing them."""
    saved = await operations.create_script(ctx, body)
    response.headers["Location"] = f"/scripts/{saved.id}"
    return script_out(saved, response)


@router.post("/validate", summary="Validate a source without saving it")
async def validate_source(body: ValidateIn, ctx: CtxDep) -> ValidateOut:
    return await operations.validate_source(ctx, body.source, body.phase)


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
    trigger is validated by the engine first."""
    return script_out(await operations.update_script(ctx, script_id, body, if_match), response)


@router.delete("/{script_id}", status_code=204, summary="Delete a script")
async def delete_script(
    script_id: str,
    ctx: CtxDep,
    if_match: IfMatch = None,
    revision: Annotated[Revision | None, Query(description="409 when stale.")] = None,
) -> Response:
    """Deletes the script and its versions (the execution log keeps its records)."""
    await operations.delete_script(ctx, script_id, revision, if_match)
    return Response(status_code=204)
