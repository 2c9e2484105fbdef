"""Replays: a recorded run's input run again as a debug run (no side effects), on the
execution path the service uses, within the script's limits.

In pool mode the run goes to a worker like any other, as a debug run without a trace
(`runner.workers.debug_runs`); inline, the engine's debug run. Either way its effect
helpers record intents and act on nothing (an `emit` is only returned, an HTTP call is
refused: a record keeps no response to answer it with, `store.*` is refused), and nothing
is logged, counted or published."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alloy_scripting.model.debug import Intent
from alloy_scripting.model.enums import EventType
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.limits import ScriptLimits
from alloy_scripting.model.replay import ReplayDiff, diff_run
from alloy_scripting.model.result import ExecutionResult
from alloy_scripting.runner.debugger import DebugInput, run_debug
from alloy_scripting.runner.executor import ScriptExecutor


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
    config: dict[str, Any] | None = None,
) -> Replayed:
    """Run `source` on `record`'s input (the caller checked it is replayable) in the
    record's phase and tenant, with the script's limits and `config` (its template
    parameters)."""
    kept = record.input or {}
    event = EventType(kept["event"]) if kept.get("event") else None
    entity = _dict_or_none(kept.get("entity"))
    entity_before = _dict_or_none(kept.get("entity_before"))
    params = _dict_or_none(kept.get("params"))
    ctx = dict(_dict_or_none(kept.get("ctx")) or {})
    ctx["tenant_id"] = record.tenant_id  # the record's, never one its input names
    given = DebugInput(
        record.phase,
        event,
        entity,
        entity_before,
        params,
        ctx,
        script_name=record.script_name,
        tenant_id=record.tenant_id,
        trace=False,
        config=config,
        limits=limits,
    )
    report = await run_debug(executor.pool, executor.engine, source, given)
    return Replayed(report.result, report.intents, diff_run(record, report.result))
