"""Debug runs and fixtures: a script run in its own phase against a sample, with no side
effects and a trace (`ScriptEngine.debug`); fixtures are debug runs judged against their
expectations. Plain functions over plain data, shared by the REST API, the CLI and (later)
the other surfaces; synchronous, like the engine (callers off the event loop use a thread)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alloy_scripting.engine import ScriptEngine
from alloy_scripting.model.debug import DebugEffects, DebugSample, Intent, Trace
from alloy_scripting.model.enums import EventType, ExecutionPhase
from alloy_scripting.model.fixtures import CaseReport, Fixture, judge
from alloy_scripting.model.result import ExecutionResult
from alloy_scripting.model.script import EventTrigger, Script, ScriptTrigger


@dataclass(slots=True)
class DebugReport:
    """The result of a debug run, its trace and the side effects it asked for."""

    result: ExecutionResult
    trace: Trace
    intents: list[Intent]

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result.to_dict(),
            "trace": self.trace.to_dict(),
            "intents": [intent.to_dict() for intent in self.intents],
        }


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


def debug_run(
    engine: ScriptEngine,
    source: str,
    sample: DebugSample,
    *,
    trigger: ScriptTrigger | None = None,
    phase: ExecutionPhase | None = None,
    script_name: str | None = None,
    tenant_id: str | None = None,
    trace: bool = True,
    config: dict[str, Any] | None = None,
) -> DebugReport:
    """A debug run (no side effects); `trace=False` skips the line trace (fixture runs).
    `config` is the script's (its template parameters)."""
    run_phase, event = phase_and_event(trigger, sample.event, phase)
    entity_type = sample.entity_type or (
        trigger.entity_type if isinstance(trigger, EventTrigger) else None
    )
    ctx: dict[str, Any] = {**sample.ctx, "tenant_id": tenant_id}
    ctx.setdefault("entity_type", entity_type)
    effects = DebugEffects(http_fixtures=list(sample.http_fixtures))
    result, steps = engine.debug(
        source,
        effects=effects,
        phase=run_phase,
        event=event,
        entity=sample.entity or {},
        entity_before=sample.entity_before,
        params=sample.params,
        ctx=ctx,
        script_name=script_name,
        trace=trace,
        config=config,
    )
    return DebugReport(result, steps, effects.intents)


def run_fixture(engine: ScriptEngine, script: Script, fixture: Fixture) -> CaseReport:
    """One fixture as a debug run without a trace (at most the engine's timeout each)."""
    sample = DebugSample(
        event=fixture.event,
        entity=fixture.entity,
        entity_before=fixture.entity_before,
        params=fixture.params or {},
        http_fixtures=fixture.http_fixtures,
    )
    report = debug_run(
        engine,
        script.source,
        sample,
        trigger=script.trigger,
        script_name=script.name,
        tenant_id=script.tenant_id,
        trace=False,
        config=fixture.config if fixture.config is not None else script.config,
    )
    return judge(fixture, report.result)


def run_fixtures(engine: ScriptEngine, script: Script) -> list[CaseReport]:
    """Every fixture of `script`, in order."""
    return [run_fixture(engine, script, fixture) for fixture in script.fixtures]
