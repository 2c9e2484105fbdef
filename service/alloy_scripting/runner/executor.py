"""Runs one script: engine, execution log, failure policy, telemetry."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from alloy_scripting import telemetry
from alloy_scripting.bridge.state import StateContext, StateLimits
from alloy_scripting.bridge.state.store import StateStore
from alloy_scripting.engine import ScriptEngine
from alloy_scripting.engine.entity import EntityProxy
from alloy_scripting.model import EventType, ExecutionPhase, ExecutionStatus
from alloy_scripting.model.execution import (
    DEFAULT_INPUT_MAX_BYTES,
    ExecutionRecord,
    bound_input,
    run_input,
)
from alloy_scripting.model.result import ExecutionResult
from alloy_scripting.model.script import Script, utc_now
from alloy_scripting.model.state import idempotency_base
from alloy_scripting.runner.records import ExecutionRecords, Recording, RecordListener
from alloy_scripting.runner.workers import RunRequest, WorkerPool
from alloy_scripting.storage.protocols import ExecutionLog, ScriptRegistry

script_logger = logging.getLogger("alloy.script")

OnDisabled = Callable[[Script], Awaitable[None]]


def describe_failure(result: ExecutionResult) -> str:
    """A one-line message for `last_error`, the log and `error` outcomes."""
    if result.status is ExecutionStatus.TIMEOUT:
        return f"timeout: {result.error.message if result.error else 'time limit exceeded'}"
    if result.status is ExecutionStatus.LIMIT_EXCEEDED:
        detail = result.error.message if result.error else ""
        return f"limit exceeded ({result.limit}): {detail}".rstrip(": ")
    if result.error is not None:
        where = f" (line {result.error.line})" if result.error.line else ""
        return f"{result.error.type}: {result.error.message}{where}"
    return result.status.value


class ScriptExecutor:
    """`execute(script, ...)` runs a stored script and keeps its books.

    Each run has an `ExecutionRecord`: written (stored and handed to `record_listeners`)
    before `execute` returns, or, for a hook run given a `recording`, added to it for the
    caller to write with the rest of its batch. A failure (error, limit, timeout) goes to
    `record_failure`, which disables the script at the threshold; a success after
    failures resets the count. `dry_run` keeps no books at all.

    With a `pool`, scripts run in its worker processes (`runner/workers/`); a before-hook's
    script waits at most `before_wait` seconds for a worker. A run answered without
    running because no worker was free (limit `queue`) is recorded, but not counted as
    the script's failure.
    """

    def __init__(
        self,
        engine: ScriptEngine,
        registry: ScriptRegistry,
        execution_log: ExecutionLog,
        *,
        on_disabled: OnDisabled | None = None,
        pool: WorkerPool | None = None,
        before_wait: float | None = None,
        record_listeners: Iterable[RecordListener] = (),
        state: StateStore | None = None,
        state_limits: StateLimits | None = None,
    ) -> None:
        self.engine = engine
        self.pool = pool
        self.state = state
        self.state_limits = state_limits or StateLimits()
        self.before_wait = before_wait
        self.registry = registry
        self.execution_log = execution_log
        self.records = ExecutionRecords(execution_log, record_listeners)
        self.on_disabled = on_disabled
        #: The most input JSON a record keeps (`Settings.execution_input_max_bytes`).
        self.input_limit = DEFAULT_INPUT_MAX_BYTES

    async def execute(
        self,
        script: Script,
        *,
        phase: ExecutionPhase,
        entity: EntityProxy | None = None,
        event: EventType | None = None,
        entity_before: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        user_id: str | None = None,
        correlation_id: str | None = None,
        dry_run: bool = False,
        recording: Recording | None = None,
        replay_id: str | None = None,
    ) -> ExecutionResult:
        """``replay_id``: the id of the event whose redelivery runs this again; the run's
        ``store.*`` writes are applied once per (event, script, call)."""
        started_at = utc_now()
        ctx = {
            "tenant_id": script.tenant_id,
            "user_id": user_id,
            "entity_type": entity.entity_type if entity is not None else None,
            "entity_id": entity.id if entity is not None else None,
            "correlation_id": correlation_id,
        }
        with telemetry.span("script.execute") as span:
            if self.pool is None:
                result = self.engine.execute(
                    script.source,
                    phase=phase,
                    entity=entity,
                    event=event,
                    entity_before=entity_before,
                    params=params,
                    ctx=ctx,
                    script_name=script.name,
                    limits=script.limits,
                    config=script.config,
                )
            else:
                result = await self.pool.run(
                    RunRequest(
                        script.source,
                        phase,
                        event=event,
                        entity=None if entity is None else dict(entity),
                        entity_before=entity_before,
                        params=params,
                        ctx=ctx,
                        script_name=script.name,
                        limits=script.limits,
                        tenant_id=script.tenant_id,
                        wait_limit=self.before_wait if phase is ExecutionPhase.BEFORE else None,
                        state=self._state_context(script, phase, replay_id, dry_run),
                        config=script.config,
                    )
                )
            if span.is_recording():
                span.set_attribute("alloy.script.id", script.id)
                span.set_attribute("alloy.script.name", script.name)
                span.set_attribute("alloy.script.version", script.version)
                span.set_attribute("alloy.phase", phase.value)
                span.set_attribute("alloy.status", result.status.value)
                span.set_attribute("alloy.operations", result.operations)
                if script.tenant_id:
                    span.set_attribute("alloy.tenant_id", script.tenant_id)
        telemetry.script_executions(phase.value, result.status.value).inc()
        telemetry.script_duration(phase.value).observe(result.duration_ms / 1000)
        if script.name in telemetry.LABELLED_SCRIPTS:  # opt-in, bounded: ALLOY_METRICS_SCRIPTS
            telemetry.count_script_run(script.name, result.status.value, result.duration_ms / 1000)
        self._log(script, result)
        if dry_run:
            return result

        record_id = None if recording is None else recording.record_id(script.id)
        record = self._record(
            script, result, started_at, event, entity, user_id, correlation_id, record_id,
            kept_input=self._kept_input(event, entity, entity_before, params, ctx),
        )  # fmt: skip
        result.execution_id = record.id
        if recording is None:
            await self.records.write([record])
        else:
            recording.records.append(record)
        registry = self.registry.for_tenant(script.tenant_id)
        if result.status.is_failure and result.limit != "queue":
            outcome = await registry.record_failure(script.id, describe_failure(result))
            if outcome.disabled:
                telemetry.SCRIPTS_DISABLED.inc()
                script_logger.warning(
                    "script %s disabled after %d consecutive failures",
                    script.name,
                    outcome.error_count,
                    extra={"script_id": script.id, "tenant_id": script.tenant_id},
                )
                if self.on_disabled is not None:
                    await self.on_disabled(outcome.script)
        elif script.error_count > 0:
            await registry.record_success(script.id)
        return result

    @staticmethod
    def _record(
        script: Script,
        result: ExecutionResult,
        started_at: Any,
        event: EventType | None,
        entity: EntityProxy | None,
        user_id: str | None,
        correlation_id: str | None,
        record_id: str | None = None,
        kept_input: dict[str, Any] | None = None,
    ) -> ExecutionRecord:
        error: dict[str, Any] | None = None
        if result.error is not None:
            error = {"type": result.error.type, "message": result.error.message}
            if result.error.line:
                error["line"] = result.error.line
            if result.limit:
                error["limit"] = result.limit
        ids = {} if record_id is None else {"id": record_id}
        published = result.status is ExecutionStatus.SUCCESS and result.emitted
        return ExecutionRecord.of_run(
            **(kept_input or {}),
            **ids,
            script_id=script.id,
            script_version=script.version,
            script_name=script.name,
            tenant_id=script.tenant_id,
            user_id=user_id,
            phase=result.phase,
            event=event,
            entity_type=entity.entity_type if entity is not None else None,
            entity_id=entity.id if entity is not None else None,
            correlation_id=correlation_id,
            status=result.status,
            duration_ms=result.duration_ms,
            operations=result.operations,
            error=error,
            reason=result.reason,
            changes=result.changes or None,
            removed=list(result.removed),
            logs=[f"{entry.level}: {entry.message}" for entry in result.logs],
            http_calls=result.http_calls,
            state_calls=result.state_calls,
            emitted=[emitted.to_dict() for emitted in result.emitted] if published else [],
            started_at=started_at,
        )

    def _kept_input(
        self,
        event: EventType | None,
        entity: EntityProxy | None,
        entity_before: dict[str, Any] | None,
        params: dict[str, Any] | None,
        ctx: dict[str, Any],
    ) -> dict[str, Any]:
        """The record's input fields: the run's input (the entity as it was before the run:
        the proxy's comparison basis) within `input_limit`, or why it is not kept."""
        if self.input_limit <= 0:
            return {"not_replayable": "the service keeps no inputs (input limit 0)"}
        value = run_input(
            event, None if entity is None else entity.original, entity_before, params, ctx
        )
        kept, reason, text = bound_input(value, self.input_limit)
        if kept is None:
            return {"not_replayable": reason}
        return {"input": kept, "replayable": True, "input_json": text}

    def _state_context(
        self, script: Script, phase: ExecutionPhase, replay_id: str | None, dry_run: bool
    ) -> StateContext | None:
        """The run's ``store.*`` context: its script's tenant, never one a script names."""
        if self.state is None:
            return None
        base = None if replay_id is None else idempotency_base(replay_id, script.id)
        ctx = StateContext.for_run(
            self.state, script.tenant_id, phase, self.state_limits, idempotency_base=base
        )
        ctx.read_only = dry_run
        return ctx

    @staticmethod
    def _log(script: Script, result: ExecutionResult) -> None:
        extra = {
            "script_id": script.id,
            "tenant_id": script.tenant_id,
            "status": result.status.value,
        }
        if result.status.is_failure:
            script_logger.warning(
                "script %s v%d %s: %s",
                script.name,
                script.version,
                result.status.value,
                describe_failure(result),
                extra=extra,
            )
        elif script_logger.isEnabledFor(logging.DEBUG):
            script_logger.debug(
                "script %s v%d %s in %.2f ms",
                script.name,
                script.version,
                result.status.value,
                result.duration_ms,
                extra=extra,
            )
