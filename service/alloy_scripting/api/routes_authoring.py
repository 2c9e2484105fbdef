"""Script authors' tools: debug runs (unsaved and stored) and fixture reports."""

from __future__ import annotations

from fastapi import APIRouter

from alloy_scripting.api import operations
from alloy_scripting.api.authoring_schemas import DebugOut, DebugSourceIn, TestOut
from alloy_scripting.api.deps import CtxDep, refuse_invalid
from alloy_scripting.model.debug import DebugSample
from alloy_scripting.runner.debugger import DebugReport

router = APIRouter(prefix="/scripts", tags=["authoring"])

_DEBUG_DOC = """Runs the script in its own phase against the sample (`event`, `entity`,
`entity_before`, `params`, `ctx`) with **no side effects**: emits, HTTP calls and state
writes are recorded as `intents`, never performed (HTTP calls are answered from
`http_fixtures`, or refused). The answer has the result and a trace of each executed line
(bounded: 1,000 steps, then `truncated`)."""


def _out(report: DebugReport) -> DebugOut:
    return DebugOut.model_validate(report.to_dict())


@router.post("/debug", summary="Debug an unsaved script", description=_DEBUG_DOC)
async def debug_source(body: DebugSourceIn, ctx: CtxDep) -> DebugOut:
    trigger = body.trigger.to_model() if body.trigger is not None else None
    if trigger is not None:
        await refuse_invalid(ctx.runtime, body.source, trigger)
    sample = DebugSample.model_validate(body.model_dump(exclude={"source", "trigger", "phase"}))
    report = await operations.debug_source(
        ctx.runtime, body.source, sample, trigger=trigger, phase=body.phase, tenant_id=ctx.tenant_id
    )
    return _out(report)


@router.post("/{script_id}/debug", summary="Debug a stored script", description=_DEBUG_DOC)
async def debug_script(script_id: str, ctx: CtxDep, body: DebugSample | None = None) -> DebugOut:
    script = await ctx.load(script_id)
    report = await operations.debug_script(ctx.runtime, script, body or DebugSample())
    return _out(report)


@router.post("/{script_id}/test", summary="Run the script's fixtures")
async def test_script(script_id: str, ctx: CtxDep) -> TestOut:
    """Each fixture runs as a debug run (no side effects) and is judged against its
    `expect`; `passed` is true when every case passes (and when there is none)."""
    script = await ctx.load(script_id)
    cases = await operations.test_script(ctx.runtime, script)
    return TestOut(
        script_id=script.id,
        version=script.version,
        passed=all(case.passed for case in cases),
        cases=cases,
    )
