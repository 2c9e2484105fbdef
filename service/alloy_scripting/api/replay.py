"""Replaying an execution record (`POST /executions/{id}/replay`, the MCP tool
`alloy_replay_execution`, `alloy-scripting executions replay`): its kept input run again
as a debug run (no side effects) with the script's current version, a stored version or
an unsaved source, and the diff against the recorded run (`runner.replay`)."""

from __future__ import annotations

from alloy_scripting.api.deps import Ctx, refuse_invalid_in
from alloy_scripting.api.operations import get_execution
from alloy_scripting.api.problems import ProblemError
from alloy_scripting.api.replay_schemas import ReplayIn, ReplayOut
from alloy_scripting.model.execution import NO_INPUT
from alloy_scripting.model.script import Script
from alloy_scripting.runner.replay import replay
from alloy_scripting.storage.errors import ScriptNotFound


async def replay_execution(ctx: Ctx, execution_id: str, body: ReplayIn) -> ReplayOut:
    """404: no such record in the caller's tenant, or no such script or version; 409
    `not-replayable`: the record keeps no input; 422 `script-invalid`: the source."""
    record = await get_execution(ctx, execution_id)
    if not record.replayable or record.input is None:
        raise ProblemError(
            "not-replayable",
            f"execution {record.id} cannot be replayed: {record.not_replayable or NO_INPUT}",
            reason=record.not_replayable or NO_INPUT,
        )
    version: int | None
    if body.source is not None:
        await refuse_invalid_in(ctx.runtime, body.source, record.phase)
        source, version = body.source, None
        script = await _script_of(ctx, record.script_id)
    else:
        script = await ctx.load(record.script_id)
        if body.version is None or body.version == script.version:
            source, version = script.source, script.version
        else:
            stored = await ctx.scripts.get_version(script.id, body.version)
            source, version = stored.source, stored.version
    replayed = await replay(
        ctx.runtime.orchestrator.executor,
        record,
        source,
        limits=None if script is None else script.limits,
        config=None if script is None else script.config,
    )
    return ReplayOut(
        execution_id=record.id,
        script_id=record.script_id,
        recorded_version=record.script_version,
        version=version,
        result=replayed.result.to_dict(),
        intents=[intent.to_dict() for intent in replayed.intents],
        diff=replayed.diff,
    )


async def _script_of(ctx: Ctx, script_id: str) -> Script | None:
    """The script, if it still exists (an unsaved source of a deleted script runs within
    the engine's limits, without a config)."""
    try:
        return await ctx.load(script_id)
    except ScriptNotFound:
        return None
