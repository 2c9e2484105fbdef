"""Script operations shared by every API surface (REST routes, GraphQL resolvers, MCP tools).

Each takes the request's `Ctx` and validated input (the REST request models), does the one
thing, tells the trigger caches, and returns the stored script (or result). Errors are
`ProblemError` and the storage's own errors, which each surface renders its way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alloy_scripting.api.deps import (
    Ctx,
    check_preconditions,
    conflicts_as,
    diagnose,
    has_errors,
    refuse_invalid,
)
from alloy_scripting.api.problems import ProblemError
from alloy_scripting.api.schemas import RunIn, ScriptCreate, ScriptUpdate, ValidateOut
from alloy_scripting.model.enums import ExecutionPhase, ScriptStatus
from alloy_scripting.model.events import SideEffect
from alloy_scripting.model.page import ExecutionPage, ExecutionQuery, ScriptPage, ScriptQuery
from alloy_scripting.model.result import ExecutionResult
from alloy_scripting.model.script import Script

_NOT_RUNNABLE = (ScriptStatus.DISABLED, ScriptStatus.ARCHIVED)


async def list_scripts(ctx: Ctx, query: ScriptQuery, offset: int, limit: int) -> ScriptPage:
    """The caller's scripts matching `query`, sorted by name, with the total of matches."""
    return await ctx.scripts.find_paginated(query, offset, limit)


async def list_executions(
    ctx: Ctx, script_id: str, offset: int, limit: int, query: ExecutionQuery | None = None
) -> ExecutionPage:
    """The script's execution records matching `query`, newest first, with the total."""
    script = await ctx.load(script_id)
    return await ctx.executions.find_by_script(script.id, offset, limit, query)


async def create_script(ctx: Ctx, body: ScriptCreate) -> Script:
    """Validated by the engine first (for the phase of its trigger); error diagnostics give
    422 ``script-invalid``."""
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


async def update_script(
    ctx: Ctx, script_id: str, body: ScriptUpdate, if_match: str | None = None
) -> Script:
    """Changes the given fields; `body.revision` (409) or `if_match` (412) when stale."""
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
    ctx: Ctx, script_id: str, revision: int | None = None, if_match: str | None = None
) -> Script:
    """Deletes the script and its versions (the execution log keeps its records)."""
    stored = await ctx.load(script_id)
    check_preconditions(stored, if_match, revision)
    expected = revision if revision is not None else stored.revision if if_match else None
    with conflicts_as(if_match):
        await ctx.scripts.delete(stored.id, expected_revision=expected)
    await ctx.changed()
    return stored


async def _save_status(ctx: Ctx, script: Script, if_match: str | None) -> Script:
    """Save a status change made by the caller, and tell every instance."""
    script.updated_by = ctx.caller.actor
    with conflicts_as(if_match):
        saved = await ctx.scripts.save(script)
    await ctx.changed()
    return saved


async def activate_script(ctx: Ctx, script_id: str, if_match: str | None = None) -> Script:
    """`status=active`; clears a disable and the failure count."""
    script = await ctx.load(script_id)
    check_preconditions(script, if_match)
    script.activate()
    return await _save_status(ctx, script, if_match)


async def disable_script(
    ctx: Ctx, script_id: str, reason: str | None = None, if_match: str | None = None
) -> Script:
    script = await ctx.load(script_id)
    check_preconditions(script, if_match)
    script.disable(reason or f"disabled by {ctx.caller.actor or 'the API'}")
    return await _save_status(ctx, script, if_match)


async def reset_script(ctx: Ctx, script_id: str, if_match: str | None = None) -> Script:
    """`status=active`, `error_count=0`, the disable reason cleared."""
    script = await ctx.load(script_id)
    check_preconditions(script, if_match)
    saved = await ctx.scripts.reset(script.id, updated_by=ctx.caller.actor)
    await ctx.changed()
    return saved


async def rollback_script(
    ctx: Ctx,
    script_id: str,
    version: int,
    revision: int | None = None,
    if_match: str | None = None,
) -> Script:
    """A new version equal to `version`; `revision` (409) or `if_match` (412) when stale."""
    script = await ctx.load(script_id)
    check_preconditions(script, if_match, revision)
    expected = revision if revision is not None else script.revision
    with conflicts_as(if_match):
        saved = await ctx.scripts.rollback(
            script.id, version, expected_revision=expected, updated_by=ctx.caller.actor
        )
    await ctx.changed()
    return saved


async def validate_source(ctx: Ctx, source: str, phase: ExecutionPhase | None) -> ValidateOut:
    diagnostics = await diagnose(ctx.runtime, source, phase)
    return ValidateOut(ok=not has_errors(diagnostics), diagnostics=diagnostics)


@dataclass(frozen=True)
class RunOutcome:
    """One manual run: the script as it ran, the engine's result and its effects."""

    script: Script
    result: ExecutionResult
    effects: list[SideEffect]

    @property
    def execution_id(self) -> str | None:
        """The run's execution record (set by the executor; None for a dry run)."""
        return self.result.execution_id


async def run_script(ctx: Ctx, script: Script, body: RunIn) -> RunOutcome:
    """Runs `script` once (`manual`, or `api` for API-triggered scripts), recorded in the
    execution log with the caller's user and tenant unless `dry_run`. Disabled and archived
    scripts only run with `dry_run` (409)."""
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
    return RunOutcome(ran, result, effects)
