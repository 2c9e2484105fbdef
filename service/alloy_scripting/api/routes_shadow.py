"""``/scripts/{id}/shadow``: run a candidate version beside the active one (`runner.shadow`)."""

from __future__ import annotations

from fastapi import APIRouter

from alloy_scripting.api import shadow_operations
from alloy_scripting.api.deps import CtxDep
from alloy_scripting.api.shadow_schemas import ShadowIn, ShadowOut

router = APIRouter(prefix="/scripts", tags=["shadow runs"])


@router.post("/{script_id}/shadow", status_code=201, summary="Start a shadow run")
async def start_shadow(script_id: str, body: ShadowIn, ctx: CtxDep) -> ShadowOut:
    """Live events of this active script (a `sample` of them) also run `source`, after the
    answer, without side effects; every comparison is tallied. Replaces an earlier shadow.
    422 when the candidate does not validate for the trigger's phase or `until` is not
    within 30 days ahead; 409 when the script is not active or not event-triggered."""
    return await shadow_operations.start_shadow(ctx, script_id, body)


@router.get("/{script_id}/shadow", summary="Read a shadow run and its comparisons")
async def get_shadow(script_id: str, ctx: CtxDep) -> ShadowOut:
    """Runs, same, different, errors, skipped, and the latest examples of differences and
    errors (execution id of the active run, the differing parts of both outcomes)."""
    return await shadow_operations.get_shadow(ctx, script_id)


@router.delete("/{script_id}/shadow", summary="End a shadow run")
async def stop_shadow(script_id: str, ctx: CtxDep) -> ShadowOut:
    """Ends it and answers its final summary. Promoting the candidate is an ordinary
    update of the script (`PUT /scripts/{id}` with its source; fixtures gate it)."""
    return await shadow_operations.stop_shadow(ctx, script_id)
