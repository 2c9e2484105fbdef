"""Replays: a recorded run's input run again as a debug run (no side effects), on the
execution path the service uses, within the script's limits.

In pool mode the run goes to a worker like any other, marked as a debug run
(`RunRequest.effects`): the service answers its host calls without acting (an `emit` is
only returned, an HTTP call is recorded and refused, `store.*` reads work and writes are
refused as in a dry run). Inline, the engine's debug run does the same in-process (where
`store.*` is not offered at all). Nothing is logged, counted or published."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from alloy_scripting.bridge.state import StateContext
from alloy_scripting.model.debug import DebugEffects, Intent
from alloy_scripting.model.enums import EventType, ExecutionPhase
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.limits import ScriptLimits
from alloy_scripting.model.replay import ReplayDiff, diff_run
from alloy_scripting.model.result import ExecutionResult
from alloy_scripting.runner.executor import ScriptExecutor
from alloy_scripting.runner.workers import RunRequest


@dataclass(frozen=True, slots=True)
class Replayed:
    """A replay's run: its result, the side effects it asked for, and the diff."""

    result: ExecutionResult
    intents: list[Intent]
    diff: ReplayDiff


def _dict_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


async def replay(
    executor: ScriptExecutor,
    record: ExecutionRecord,
    source: str,
    *,
    limits: ScriptLimits | None,
) -> Replayed:
    """Run `source` on `record`'s input (the caller checked it is replayable) in the
    record's phase and tenant."""
    kept = record.input or {}
    event = EventType(kept["event"]) if kept.get("event") else None
    entity = _dict_or_none(kept.get("entity"))
    entity_before = _dict_or_none(kept.get("entity_before"))
    params = _dict_or_none(kept.get("params"))
    ctx = dict(_dict_or_none(kept.get("ctx")) or {})
    ctx["tenant_id"] = record.tenant_id  # the record's, never one its input names
    phase = record.phase
    effects = DebugEffects()
    if executor.pool is not None:
        result = await executor.pool.run(
            RunRequest(
                source,
                phase,
                event=event,
                entity=entity,
                entity_before=entity_before,
                params=params,
                ctx=ctx,
                script_name=record.script_name,
                limits=limits,
                tenant_id=record.tenant_id,
                state=_read_only_state(executor, record.tenant_id, phase),
                effects=effects,
            )
        )
    else:
        result, _ = await run_in_threadpool(
            lambda: executor.engine.debug(
                source,
                effects=effects,
                phase=phase,
                entity=entity,
                event=event,
                entity_before=entity_before,
                params=params,
                ctx=ctx,
                script_name=record.script_name,
                trace=False,
                limits=limits,
            )
        )
    return Replayed(result, effects.intents, diff_run(record, result))


def _read_only_state(
    executor: ScriptExecutor, tenant_id: str | None, phase: ExecutionPhase
) -> StateContext | None:
    if executor.state is None:
        return None
    ctx = StateContext.for_run(executor.state, tenant_id, phase, executor.state_limits)
    ctx.read_only = True
    return ctx
