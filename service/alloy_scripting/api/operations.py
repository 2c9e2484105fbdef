"""Script operations shared by every API surface (REST routes, GraphQL resolvers, MCP tools).

Each takes the request's `Ctx` (or the runtime) and validated input (the REST request
models), does the one thing, tells the trigger caches, and returns the stored script (or
result). Errors are `ProblemError` and the storage's own errors, which each surface renders
its way. Saving a script active (create, update, activate, reset, rollback) first checks
`check_activation`: its API endpoint is free and its fixtures pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

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
from alloy_scripting.model.debug import DebugSample
from alloy_scripting.model.enums import ExecutionPhase, ExecutionStatus, ScriptStatus
from alloy_scripting.model.events import SideEffect
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.fixtures import CaseReport
from alloy_scripting.model.limits import ScriptLimits
from alloy_scripting.model.page import ExecutionPage, ExecutionQuery, ScriptPage, ScriptQuery
from alloy_scripting.model.result import ExecutionResult
from alloy_scripting.model.script import ApiTrigger, Script, ScriptTrigger
from alloy_scripting.model.stats import ScriptStats, StatsWindow
from alloy_scripting.runner.debugger import (
    DebugInput,
    DebugReport,
    fixtures_in_pool,
    run_debug,
    run_fixtures,
)
from alloy_scripting.runner.executor import describe_failure
from alloy_scripting.runner.service import Runtime
from alloy_scripting.storage.protocols import MAX_PAGE_LIMIT, ScriptRegistry

logger = logging.getLogger("alloy.api")

#: Failing cases listed in a 409 (the report of `POST /scripts/{id}/test` has them all).
MAX_LISTED_FAILURES = 20

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


async def find_executions(
    ctx: Ctx, query: ExecutionQuery, offset: int, limit: int
) -> ExecutionPage:
    """The caller's execution records matching `query` (any script, deleted ones included),
    newest first, with the total: `GET /executions`, GraphQL `executions`, MCP
    `alloy_list_executions`."""
    return await ctx.executions.find(query, offset, limit)


async def get_execution(ctx: Ctx, execution_id: str) -> ExecutionRecord:
    """One of the caller's execution records; another tenant's is not found (404)."""
    record = await ctx.executions.get(execution_id[:64])
    if record is None:
        raise ProblemError("not-found", f"execution {execution_id[:64]!r} not found")
    return record


async def script_stats(ctx: Ctx, script_id: str, window: StatsWindow) -> ScriptStats:
    """Run statistics of one of the caller's scripts over `window`, computed by the store."""
    script = await ctx.load(script_id)
    return await ctx.executions.stats(script.id, window)


def checked_limits(ctx: Ctx, limits: ScriptLimits | None) -> ScriptLimits | None:
    """`limits` if within the deployment's maxima (None when empty); else a 422
    `validation` problem naming each limit asked above its maximum and the setting."""
    if limits is None or limits.empty:
        return None
    above = limits.above(ctx.runtime.settings.script_limit_maxima())
    if above:
        errors = [
            {
                "loc": ["body", "limits", name],
                "msg": f"{asked} is above the deployment maximum "
                f"{ScriptLimits.setting_of(name)}={most}",
                "type": "less_than_equal",
            }
            for name, asked, most in above
        ]
        raise ProblemError(
            "validation",
            "; ".join(f"limits.{e['loc'][2]}: {e['msg']}" for e in errors),
            errors=errors,
        )
    return limits


async def create_script(ctx: Ctx, body: ScriptCreate) -> Script:
    """Validated by the engine first (for the phase of its trigger); error diagnostics give
    422 ``script-invalid``."""
    trigger = body.trigger.to_model()
    limits = checked_limits(ctx, body.limits)
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
    script.limits = limits
    if body.status is ScriptStatus.ACTIVE:
        await check_activation(ctx.runtime, ctx.scripts, script)
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
        if field not in ("revision", "trigger", "limits") and getattr(body, field) is not None
    }
    if body.limits is not None:
        changes["limits"] = checked_limits(ctx, body.limits)
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
    """`status=active`; clears a disable and the failure count. Refused (409) while a
    fixture fails (`fixtures-failing`) or another active script serves its endpoint
    (`endpoint-taken`)."""
    script = await ctx.load(script_id)
    check_preconditions(script, if_match)
    await check_activation(ctx.runtime, ctx.scripts, script)
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
    await check_activation(ctx.runtime, ctx.scripts, script)
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
    if script.is_active:
        target = await ctx.scripts.get_version(script.id, version)
        candidate = script.model_copy(update={"source": target.source, "trigger": target.trigger})
        await check_activation(ctx.runtime, ctx.scripts, candidate)
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


# -- debug runs and fixtures -------------------------------------------------------------------


async def debug_source(
    runtime: Runtime,
    source: str,
    sample: DebugSample,
    *,
    trigger: ScriptTrigger | None = None,
    phase: ExecutionPhase | None = None,
    tenant_id: str | None = None,
    script_name: str | None = None,
    config: dict[str, Any] | None = None,
    limits: ScriptLimits | None = None,
) -> DebugReport:
    """A debug run (no side effects; see `runner.debugger`): in a worker when the service
    has a pool, else in a thread of this process. `config` and `limits`: the script's
    (template parameters, its own limits)."""
    given = DebugInput.of(
        sample, trigger, phase, tenant_id, script_name=script_name, config=config, limits=limits
    )
    return await run_debug(runtime.pool, runtime.engine, source, given)


async def debug_script(runtime: Runtime, script: Script, sample: DebugSample) -> DebugReport:
    """A debug run of a stored script in its own phase."""
    return await debug_source(
        runtime,
        script.source,
        sample,
        trigger=script.trigger,
        script_name=script.name,
        tenant_id=script.tenant_id,
        config=script.config,
        limits=script.limits,
    )


async def test_script(runtime: Runtime, script: Script) -> list[CaseReport]:
    """Every fixture of `script`, run as debug runs."""
    if runtime.pool is not None:
        return await fixtures_in_pool(runtime.pool, script)
    return await run_in_threadpool(run_fixtures, runtime.engine, script)


async def require_fixtures_pass(runtime: Runtime, script: Script) -> None:
    """409 ``fixtures-failing`` listing the failing cases, if any."""
    if not script.fixtures:
        return
    failing = [case for case in await test_script(runtime, script) if not case.passed]
    if failing:
        raise ProblemError(
            "fixtures-failing",
            f"{len(failing)} of {len(script.fixtures)} fixture(s) fail; first: "
            f"{failing[0].name}: {'; '.join(failing[0].differences)[:500]}",
            failing=[
                {"name": case.name, "outcome": case.outcome, "differences": case.differences}
                for case in failing[:MAX_LISTED_FAILURES]
            ],
        )


# -- API endpoints -----------------------------------------------------------------------------


async def api_scripts(registry: ScriptRegistry, *, active_only: bool = True) -> list[Script]:
    """The tenant's API-triggered scripts (active ones by default), by name."""
    query = ScriptQuery(trigger_type="api", status=ScriptStatus.ACTIVE if active_only else None)
    found: list[Script] = []
    offset = 0
    while True:
        page = await registry.find_paginated(query, offset, MAX_PAGE_LIMIT)
        found.extend(page.items)
        offset += MAX_PAGE_LIMIT
        if not page.items or offset >= page.total:
            return found


def route_of(script: Script) -> tuple[str, str] | None:
    trigger = script.trigger
    return trigger.route if isinstance(trigger, ApiTrigger) else None


async def find_endpoint(registry: ScriptRegistry, method: str, path: str) -> Script | None:
    """The active script bound to ``method /api/path`` in the registry's tenant."""
    wanted = (method, path)
    matches = [s for s in await api_scripts(registry) if route_of(s) == wanted]
    if len(matches) > 1:  # two activations raced past the uniqueness check
        logger.warning("endpoint %s /api/%s has %d active scripts", method, path, len(matches))
    return matches[0] if matches else None


async def require_endpoint_free(registry: ScriptRegistry, script: Script) -> None:
    """409 ``endpoint-taken`` when another active script of the tenant has the route."""
    route = route_of(script)
    if route is None:
        return
    for other in await api_scripts(registry):
        if other.id != script.id and route_of(other) == route:
            raise ProblemError(
                "endpoint-taken",
                f"{route[0]} /api/{route[1]} is served by the active script {other.name!r}",
                script_id=other.id,
            )


async def check_activation(runtime: Runtime, registry: ScriptRegistry, script: Script) -> None:
    """What must hold before `script` is saved active: its endpoint is free, its fixtures
    pass."""
    await require_endpoint_free(registry, script)
    await require_fixtures_pass(runtime, script)


@dataclass(frozen=True, slots=True)
class EndpointAnswer:
    """What an API endpoint answers: `body` None with status 204 means no content."""

    status: int
    body: Any
    headers: dict[str, str]


async def call_endpoint(
    runtime: Runtime,
    script: Script,
    *,
    body: Any,
    query: dict[str, Any],
    tenant_id: str | None,
    user_id: str | None,
) -> EndpointAnswer:
    """Run `script` in the ``api`` phase (a real run: logged, counted, effects published)
    with ``params = {"body": ..., "query": ...}``; failures are `ProblemError`s."""
    _, result, _ = await runtime.orchestrator.run_manual(
        script.id,
        params={"body": body, "query": query},
        tenant_id=tenant_id,
        user_id=user_id,
        phase=ExecutionPhase.API,
    )
    status = result.status
    if status is ExecutionStatus.SUCCESS:
        if result.response is None:
            return EndpointAnswer(204, None, {})
        response = result.response
        return EndpointAnswer(response.status, response.body, dict(response.headers))
    if status is ExecutionStatus.ABORTED:
        raise ProblemError("script-aborted", result.reason or "aborted", script=script.name)
    if status is ExecutionStatus.TIMEOUT:
        raise ProblemError("script-timeout", describe_failure(result), script=script.name)
    raise ProblemError(
        "script-failed", describe_failure(result), script=script.name, limit=result.limit
    )
