"""Manual runs (by id and by name) and the execution log."""

from __future__ import annotations

from fastapi import APIRouter

from alloy_scripting.api import operations
from alloy_scripting.api.deps import Ctx, CtxDep, run_out
from alloy_scripting.api.routes_scripts import Limit, Offset
from alloy_scripting.api.schemas import RunIn, RunOut
from alloy_scripting.model.page import ExecutionPage
from alloy_scripting.model.script import Script

router = APIRouter(prefix="/scripts", tags=["runs"])


async def _run(ctx: Ctx, script: Script, body: RunIn) -> RunOut:
    ran = await operations.run_script(ctx, script, body)
    return run_out(ran.script, ran.result, ran.effects)


_RUN_DOC = """Runs the script once in the `manual` phase (`api` for API-triggered scripts) with
`params` and an optional sample `entity`. `dry_run` emits no effects, keeps no execution
record and counts no failure. Disabled and archived scripts only run with `dry_run`."""


@router.post("/name/{name}/run", summary="Run a script by name", description=_RUN_DOC)
async def run_script_by_name(name: str, ctx: CtxDep, body: RunIn | None = None) -> RunOut:
    return await _run(ctx, await ctx.load_by_name(name), body or RunIn())


@router.post("/{script_id}/run", summary="Run a script", description=_RUN_DOC)
async def run_script(script_id: str, ctx: CtxDep, body: RunIn | None = None) -> RunOut:
    return await _run(ctx, await ctx.load(script_id), body or RunIn())


@router.get("/{script_id}/executions", summary="The script's execution log")
async def list_executions(
    script_id: str, ctx: CtxDep, offset: Offset = 0, limit: Limit = 50
) -> ExecutionPage:
    """Newest first, with the total number of records."""
    return await operations.list_executions(ctx, script_id, offset, limit)
