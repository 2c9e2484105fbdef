"""Shadow runs on every API surface (REST, MCP): start, read, stop (see `runner.shadow`).

Starting one validates the candidate like an update of the script (engine diagnostics for
its trigger's phase: 422 ``script-invalid``) and needs an active, event-triggered script
(409). Start and stop tell every instance (`Ctx.changed`, the scripts-changed broadcast)."""

from __future__ import annotations

from alloy_scripting.api.deps import Ctx, refuse_invalid
from alloy_scripting.api.problems import ProblemError
from alloy_scripting.api.shadow_schemas import ShadowIn, ShadowOut
from alloy_scripting.model.enums import ScriptStatus
from alloy_scripting.model.script import EventTrigger, utc_now
from alloy_scripting.model.shadow import MAX_SHADOW_DAYS, Shadow, ShadowSummary, latest_until
from alloy_scripting.runner.shadow import ShadowRunner


def _runner(ctx: Ctx) -> ShadowRunner:
    """The runtime's shadow runner (`build_runtime` makes it; a runtime wired by hand gets
    one over its stores here)."""
    runtime = ctx.runtime
    runner = runtime.orchestrator.shadows
    if runner is None:
        runner = ShadowRunner(
            runtime.stores.shadows,
            runtime.engine,
            instance_id=runtime.instance_id,
            pool=runtime.pool,
            state=runtime.state,
        )
        runtime.orchestrator.shadows = runner
    return runner


def _check_until(body: ShadowIn) -> None:
    now = utc_now()
    problem = None
    if body.until <= now:
        problem = "must be in the future"
    elif body.until > latest_until(now):
        problem = f"must be at most {MAX_SHADOW_DAYS} days from now"
    if problem is not None:
        raise ProblemError(
            "validation",
            f"until: {problem}",
            errors=[{"loc": ["body", "until"], "msg": problem, "type": "value_error"}],
        )


async def start_shadow(ctx: Ctx, script_id: str, body: ShadowIn) -> ShadowOut:
    """Attach `body.source` as the script's candidate (replacing an earlier shadow)."""
    runner = _runner(ctx)
    script = await ctx.load(script_id)
    _check_until(body)
    if script.status is not ScriptStatus.ACTIVE:
        raise ProblemError(
            "conflict",
            f"script {script.name!r} is {script.status.value}: a shadow runs beside an active one",
            status_of_script=script.status.value,
        )
    if not isinstance(script.trigger, EventTrigger):
        raise ProblemError(
            "conflict",
            f"script {script.name!r} is not bound to an event: shadow runs follow live events",
        )
    await refuse_invalid(ctx.runtime, body.source, script.trigger)
    earlier = await runner.store.get(ctx.tenant_id, script.id)
    shadow = Shadow(
        script_id=script.id,
        tenant_id=ctx.tenant_id,
        source=body.source,
        sample=body.sample,
        until=body.until,
        started_by=ctx.caller.actor,
        script_version=script.version,
    )
    await runner.store.put(shadow)
    if earlier is not None:
        await _forget(runner, earlier)
    await ctx.changed()
    return ShadowOut.of(shadow, ShadowSummary())


async def _load(ctx: Ctx, script_id: str) -> tuple[ShadowRunner, Shadow]:
    runner = _runner(ctx)
    script = await ctx.load(script_id)
    shadow = await runner.store.get(ctx.tenant_id, script.id)
    if shadow is None:
        raise ProblemError("not-found", f"script {script.name!r} has no shadow run")
    return runner, shadow


async def get_shadow(ctx: Ctx, script_id: str) -> ShadowOut:
    runner, shadow = await _load(ctx, script_id)
    return ShadowOut.of(shadow, await runner.summary(shadow))


async def stop_shadow(ctx: Ctx, script_id: str) -> ShadowOut:
    """End the shadow; answers its final summary."""
    runner, shadow = await _load(ctx, script_id)
    await runner.store.delete(ctx.tenant_id, shadow.script_id)
    await ctx.changed()
    summary = await runner.summary(shadow)
    await _forget(runner, shadow)
    return ShadowOut.of(shadow, summary)


async def _forget(runner: ShadowRunner, shadow: Shadow) -> None:
    runner.forget(shadow.id)
    await runner.store.drop_tallies(shadow.id)
