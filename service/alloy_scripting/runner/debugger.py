"""Debug runs and fixtures: a script run in its own phase against a sample, with no side
effects and a trace (`ScriptEngine.debug`); fixtures are debug runs judged against their
expectations. Shared by the REST API, MCP, GraphQL and the CLI. With a worker pool (the
service's default) a debug run is a pool run like any other (`runner.workers.debug_runs`):
a hostile script under debug holds a worker, never the service's process; without one
(the library API, the CLI's local commands) it runs in this process, synchronously.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from alloy_scripting.engine import ScriptEngine
from alloy_scripting.model.debug import DebugEffects, DebugReport, DebugSample, HttpFixture
from alloy_scripting.model.enums import EventType, ExecutionPhase
from alloy_scripting.model.fixtures import CaseReport, Fixture, judge
from alloy_scripting.model.limits import ScriptLimits
from alloy_scripting.model.script import EventTrigger, Script, ScriptTrigger
from alloy_scripting.runner.workers import RunRequest, WorkerPool
from alloy_scripting.runner.workers.debug_runs import DebugRun

__all__ = [
    "DebugInput",
    "DebugReport",
    "debug_in_pool",
    "debug_run",
    "fixtures_in_pool",
    "phase_and_event",
    "run_debug",
    "run_fixture",
    "run_fixtures",
    "run_here",
    "run_in_pool",
]


def phase_and_event(
    trigger: ScriptTrigger | None, event: EventType | None, phase: ExecutionPhase | None = None
) -> tuple[ExecutionPhase, EventType | None]:
    """The phase a debug run has: the trigger's (its event's, for event triggers, unless
    the sample names another event), else the sample event's, else `phase`, else manual."""
    if isinstance(trigger, EventTrigger):
        chosen = event or trigger.event
        return chosen.phase, chosen
    if trigger is not None:
        return trigger.phase, event
    if event is not None:
        return event.phase, event
    return phase or ExecutionPhase.MANUAL, None


@dataclass(slots=True)
class DebugInput:
    """Everything one debug run gets, decided once (from a sample and the script's trigger,
    or from a record's kept input for a replay)."""

    phase: ExecutionPhase
    event: EventType | None
    entity: dict[str, Any] | None
    entity_before: dict[str, Any] | None
    params: dict[str, Any] | None
    ctx: dict[str, Any]
    http_fixtures: list[HttpFixture] = field(default_factory=list)
    script_name: str | None = None
    tenant_id: str | None = None
    trace: bool = True
    config: dict[str, Any] | None = None
    """The script's `config` (its template parameters)."""
    limits: ScriptLimits | None = None
    """The script's own limits."""

    @classmethod
    def of(
        cls,
        sample: DebugSample,
        trigger: ScriptTrigger | None,
        phase: ExecutionPhase | None,
        tenant_id: str | None,
        *,
        script_name: str | None = None,
        trace: bool = True,
        config: dict[str, Any] | None = None,
        limits: ScriptLimits | None = None,
    ) -> DebugInput:
        run_phase, event = phase_and_event(trigger, sample.event, phase)
        entity_type = sample.entity_type or (
            trigger.entity_type if isinstance(trigger, EventTrigger) else None
        )
        ctx: dict[str, Any] = {**sample.ctx, "tenant_id": tenant_id}
        ctx.setdefault("entity_type", entity_type)
        return cls(
            run_phase,
            event,
            dict(sample.entity or {}),
            None if sample.entity_before is None else dict(sample.entity_before),
            dict(sample.params),
            ctx,
            list(sample.http_fixtures),
            script_name,
            tenant_id,
            trace,
            config,
            limits,
        )


def run_here(engine: ScriptEngine, source: str, given: DebugInput) -> DebugReport:
    """`given` as a debug run in this process (synchronous)."""
    effects = DebugEffects(http_fixtures=given.http_fixtures)
    result, steps = engine.debug(
        source,
        effects=effects,
        phase=given.phase,
        event=given.event,
        entity=given.entity,
        entity_before=given.entity_before,
        params=given.params,
        ctx=given.ctx,
        script_name=given.script_name,
        trace=given.trace,
        config=given.config,
        limits=given.limits,
    )
    return DebugReport(result, steps, effects.intents)


async def run_in_pool(pool: WorkerPool, source: str, given: DebugInput) -> DebugReport:
    """`given` as a debug run in a worker of `pool`, under its tenant's fair share."""
    debug = DebugRun(given.http_fixtures, given.trace)
    result = await pool.run(
        RunRequest(
            source,
            given.phase,
            event=given.event,
            entity=given.entity,
            entity_before=given.entity_before,
            params=given.params,
            ctx=given.ctx,
            script_name=given.script_name,
            tenant_id=given.tenant_id,
            debug=debug,
            config=given.config,
            limits=given.limits,
        )
    )
    return DebugReport(result, debug.steps, debug.intents)


async def run_debug(
    pool: WorkerPool | None, engine: ScriptEngine, source: str, given: DebugInput
) -> DebugReport:
    """`given` where the service runs scripts: a worker of `pool`, else a thread."""
    if pool is not None:
        return await run_in_pool(pool, source, given)
    return await asyncio.to_thread(run_here, engine, source, given)


def debug_run(
    engine: ScriptEngine,
    source: str,
    sample: DebugSample,
    *,
    trigger: ScriptTrigger | None = None,
    phase: ExecutionPhase | None = None,
    tenant_id: str | None = None,
    script_name: str | None = None,
    trace: bool = True,
) -> DebugReport:
    """A debug run of `sample` in this process (no side effects); `trace=False` skips the
    line trace."""
    given = DebugInput.of(sample, trigger, phase, tenant_id, script_name=script_name, trace=trace)
    return run_here(engine, source, given)


async def debug_in_pool(
    pool: WorkerPool,
    source: str,
    sample: DebugSample,
    *,
    trigger: ScriptTrigger | None = None,
    phase: ExecutionPhase | None = None,
    tenant_id: str | None = None,
    script_name: str | None = None,
    trace: bool = True,
) -> DebugReport:
    """`debug_run` in a worker of `pool`, under the tenant's fair share of it."""
    given = DebugInput.of(sample, trigger, phase, tenant_id, script_name=script_name, trace=trace)
    return await run_in_pool(pool, source, given)


def _fixture_input(script: Script, fixture: Fixture) -> DebugInput:
    """A fixture's debug run: no trace, the case's own `config` else the script's."""
    sample = DebugSample(
        event=fixture.event,
        entity=fixture.entity,
        entity_before=fixture.entity_before,
        params=fixture.params or {},
        http_fixtures=fixture.http_fixtures,
    )
    return DebugInput.of(
        sample,
        script.trigger,
        None,
        script.tenant_id,
        script_name=script.name,
        trace=False,
        config=fixture.config if fixture.config is not None else script.config,
        limits=script.limits,
    )


def run_fixture(engine: ScriptEngine, script: Script, fixture: Fixture) -> CaseReport:
    """One fixture as a debug run without a trace (at most the engine's timeout each)."""
    return judge(fixture, run_here(engine, script.source, _fixture_input(script, fixture)).result)


def run_fixtures(engine: ScriptEngine, script: Script) -> list[CaseReport]:
    """Every fixture of `script`, in order."""
    return [run_fixture(engine, script, fixture) for fixture in script.fixtures]


async def fixtures_in_pool(pool: WorkerPool, script: Script) -> list[CaseReport]:
    """Every fixture of `script`, in order, each a debug run in a worker of `pool`."""
    reports: list[CaseReport] = []
    for fixture in script.fixtures:
        report = await run_in_pool(pool, script.source, _fixture_input(script, fixture))
        reports.append(judge(fixture, report.result))
    return reports
