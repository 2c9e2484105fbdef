"""Lifecycle (activate, disable, reset) and versions (list, read, rollback)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from alloy_scripting.api import operations
from alloy_scripting.api.deps import CtxDep, IfMatch, script_out
from alloy_scripting.api.schemas import DisableIn, RollbackIn, ScriptOut, VersionList, VersionNumber
from alloy_scripting.model.script import ScriptVersion

router = APIRouter(prefix="/scripts", tags=["lifecycle"])


@router.post("/{script_id}/activate", summary="Activate a script")
async def activate_script(
    script_id: str, ctx: CtxDep, response: Response, if_match: IfMatch = None
) -> ScriptOut:
    """`status=active`; clears a disable and the failure count."""
    return script_out(await operations.activate_script(ctx, script_id, if_match), response)


@router.post("/{script_id}/disable", summary="Disable a script")
async def disable_script(
    script_id: str,
    ctx: CtxDep,
    response: Response,
    body: Annotated[DisableIn | None, Body()] = None,
    if_match: IfMatch = None,
) -> ScriptOut:
    reason = body.reason if body is not None and body.reason else None
    return script_out(await operations.disable_script(ctx, script_id, reason, if_match), response)


@router.post("/{script_id}/reset", summary="Re-enable a (automatically) disabled script")
async def reset_script(
    script_id: str, ctx: CtxDep, response: Response, if_match: IfMatch = None
) -> ScriptOut:
    """`status=active`, `error_count=0`, the disable reason cleared."""
    return script_out(await operations.reset_script(ctx, script_id, if_match), response)


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
    saved = await operations.rollback_script(ctx, script_id, body.version, body.revision, if_match)
    return script_out(saved, response)
