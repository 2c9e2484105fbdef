"""Lifecycle (activate, disable, reset) and versions (list, read, rollback)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from alloy_scripting.api.deps import CtxDep, IfMatch, check_preconditions, conflicts_as, script_out
from alloy_scripting.api.operations import check_activation
from alloy_scripting.api.schemas import DisableIn, RollbackIn, ScriptOut, VersionList, VersionNumber
from alloy_scripting.model.script import ScriptVersion

router = APIRouter(prefix="/scripts", tags=["lifecycle"])


@router.post("/{script_id}/activate", summary="Activate a script")
async def activate_script(
    script_id: str, ctx: CtxDep, response: Response, if_match: IfMatch = None
) -> ScriptOut:
    """`status=active`; clears a disable and the failure count. Refused (409) while a
    fixture fails (`fixtures-failing`) or another active script serves its endpoint
    (`endpoint-taken`)."""
    script = await ctx.load(script_id)
    check_preconditions(script, if_match)
    await check_activation(ctx.runtime, ctx.scripts, script)
    script.activate()
    script.updated_by = ctx.caller.actor
    with conflicts_as(if_match):
        saved = await ctx.scripts.save(script)
    await ctx.changed()
    return script_out(saved, response)


@router.post("/{script_id}/disable", summary="Disable a script")
async def disable_script(
    script_id: str,
    ctx: CtxDep,
    response: Response,
    body: Annotated[DisableIn | None, Body()] = None,
    if_match: IfMatch = None,
) -> ScriptOut:
    script = await ctx.load(script_id)
    check_preconditions(script, if_match)
    reason = body.reason if body is not None and body.reason else None
    script.disable(reason or f"disabled by {ctx.caller.actor or 'the API'}")
    script.updated_by = ctx.caller.actor
    with conflicts_as(if_match):
        saved = await ctx.scripts.save(script)
    await ctx.changed()
    return script_out(saved, response)


@router.post("/{script_id}/reset", summary="Re-enable a (automatically) disabled script")
async def reset_script(
    script_id: str, ctx: CtxDep, response: Response, if_match: IfMatch = None
) -> ScriptOut:
    """`status=active`, `error_count=0`, the disable reason cleared (checked as `activate`)."""
    script = await ctx.load(script_id)
    check_preconditions(script, if_match)
    await check_activation(ctx.runtime, ctx.scripts, script)
    saved = await ctx.scripts.reset(script.id, updated_by=ctx.caller.actor)
    await ctx.changed()
    return script_out(saved, response)


@router.get("/{script_id}/versions", summary="The script's versions")
async def list_versions(script_id: str, ctx: CtxDep) -> VersionList:
    """Oldest first."""
    script = await ctx.load(script_id)
    versions = await ctx.scripts.list_versions(script.id)
    return VersionList(items=versions, total=len(versions))


@router.get("/{script_id}/versions/{version}", summary="One version of the script")
async def get_version(
    script_id: str, version: Annotated[VersionNumber, Path()], ctx: CtxDep
) -> ScriptVersion:
    script = await ctx.load(script_id)
    return await ctx.scripts.get_version(script.id, version)


@router.post("/{script_id}/rollback", summary="Make an earlier version current again")
async def rollback_script(
    script_id: str, body: RollbackIn, ctx: CtxDep, response: Response, if_match: IfMatch = None
) -> ScriptOut:
    """Creates a new version equal to `version`. `If-Match` (412) or `revision` (409)."""
    script = await ctx.load(script_id)
    check_preconditions(script, if_match, body.revision)
    if script.is_active:
        target = await ctx.scripts.get_version(script.id, body.version)
        candidate = script.model_copy(update={"source": target.source, "trigger": target.trigger})
        await check_activation(ctx.runtime, ctx.scripts, candidate)
    expected = body.revision if body.revision is not None else script.revision
    with conflicts_as(if_match):
        saved = await ctx.scripts.rollback(
            script.id, body.version, expected_revision=expected, updated_by=ctx.caller.actor
        )
    await ctx.changed()
    return script_out(saved, response)
