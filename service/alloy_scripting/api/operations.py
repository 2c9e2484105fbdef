"""What the management surfaces do with scripts, once: the REST routes and the MCP tools both
call these (each edge only translates its own request and response shapes).

Every function acts for the caller of `ctx` (its tenant, its actor) and raises the storage
errors or `ProblemError`s that both edges turn into the same problem types.
"""

from __future__ import annotations

from typing import Any

from alloy_scripting.api.deps import (
    Ctx,
    check_preconditions,
    conflicts_as,
    diagnose,
    has_errors,
    refuse_invalid,
    script_out,
)
from alloy_scripting.api.problems import ProblemError
from alloy_scripting.api.schemas import (
    RollbackIn,
    RunIn,
    RunOut,
    ScriptCreate,
    ScriptList,
    ScriptUpdate,
    ValidateIn,
    ValidateOut,
)
from alloy_scripting.model.enums import ScriptStatus
from alloy_scripting.model.page import ExecutionPage, ScriptQuery
from alloy_scripting.model.script import Script

_NOT_RUNNABLE = (ScriptStatus.DISABLED, ScriptStatus.ARCHIVED)


async def list_scripts(ctx: Ctx, query: ScriptQuery, offset: int, limit: int) -> ScriptList:
    """The caller's scripts matching `query`, sorted by name, with the total of matches."""
    page = await ctx.scripts.find_paginated(query, offset, limit)
    return ScriptList(
        items=[script_out(s) for s in page.items], total=page.total, offset=offset, limit=limit
    )


async def create_script(ctx: Ctx, body: ScriptCreate) -> Script:
    """Validated by the engine first (for the phase of its trigger): 422 `script-invalid`."""
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
    )
    if body.status is ScriptStatus.ACTIVE:
        script.activate()
    elif body.status is ScriptStatus.DISABLED:
        script.disable("created disabled")
    else:
        script.status = body.status
    saved = await ctx.scripts.save(script)
    await ctx.changed()
    return saved


async def validate_source(ctx: Ctx, body: ValidateIn) -> ValidateOut:
    diagnostics = await diagnose(ctx.runtime, body.source, body.phase)
    return ValidateOut(ok=not has_errors(diagnostics), diagnostics=diagnostics)


async def update_script(
    ctx: Ctx, script_id: str, body: ScriptUpdate, if_match: str | None = None
) -> Script:
    """Changes the given fields; `If-Match` (412) or `revision` (409) guard against stale
    writes. A new source or trigger is validated by the engine first."""
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
    if updated.status is not stored.status:
        if updated.status is ScriptStatus.ACTIVE:
            updated.activate()
        elif updated.status is ScriptStatus.DISABLED:
            updated.disable(f"disabled by {ctx.caller.actor or 'the API'}")
    with conflicts_as(if_match):
        saved = await ctx.scripts.save(updated)
    await ctx.changed()
    return saved


async def delete_script(
    ctx: Ctx, script_id: str, if_match: str | None = None, revision: int | None = None
) -> None:
    """Deletes the script and its versions (the execution log keeps its records)."""
    stored = await ctx.load(script_id)
    check_preconditions(stored, if_match, revision)
    expected = revision if revision is not None else stored.revision if if_match else None
    with conflicts_as(if_match):
        await ctx.scripts.delete(stored.id, expected_revision=expected)
    await ctx.changed()


async def run_script(ctx: Ctx, script: Script, body: RunIn) -> RunOut:
    """One manual (or `api`) run; disabled and archived scripts only run with `dry_run`."""
    if script.status in _NOT_RUNNABLE and not body.dry_run:
        raise ProblemError(
            "conflict",
            f"script {script.name!r} is {script.status.value}: "
            "activate or reset it, or run with dry_run",
            status_of_script=script.status.value,
        )
    ran, result, effects = await ctx.runtime.orchestrator.run_manual(
        script.id,
        params=body.params,
        entity=body.entity,
        entity_type=body.entity_type,
        tenant_id=ctx.tenant_id,
        user_id=ctx.caller.actor,
        dry_run=body.dry_run,
    )
    return RunOut(
        script_id=ran.id,
        version=ran.version,
        execution_id=result.execution_id,
        result=result.to_dict(),
        effects=effects,
    )


async def list_executions(ctx: Ctx, script_id: str, offset: int, limit: int) -> ExecutionPage:
    """Newest first, with the total number of records."""
    script = await ctx.load(script_id)
    return await ctx.executions.find_by_script(script.id, offset, limit)


async def reset_script(ctx: Ctx, script_id: str, if_match: str | None = None) -> Script:
    """`status=active`, `error_count=0`, the disable reason cleared."""
    script = await ctx.load(script_id)
    check_preconditions(script, if_match)
    saved = await ctx.scripts.reset(script.id, updated_by=ctx.caller.actor)
    await ctx.changed()
    return saved


async def rollback_script(
    ctx: Ctx, script_id: str, body: RollbackIn, if_match: str | None = None
) -> Script:
    """A new version equal to `body.version`; `If-Match` (412) or `revision` (409)."""
    script = await ctx.load(script_id)
    check_preconditions(script, if_match, body.revision)
    expected = body.revision if body.revision is not None else script.revision
    with conflicts_as(if_match):
        saved = await ctx.scripts.rollback(
            script.id, body.version, expected_revision=expected, updated_by=ctx.caller.actor
        )
    await ctx.changed()
    return saved
