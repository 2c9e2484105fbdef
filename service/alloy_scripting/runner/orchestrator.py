"""Runs the scripts bound to a hook, in order, and turns their results into outcomes."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alloy_scripting import telemetry
from alloy_scripting.bridge.state import StateLimits
from alloy_scripting.bridge.state.store import StateStore
from alloy_scripting.engine import ScriptEngine, create_default_engine
from alloy_scripting.engine.entity import EntityProxy, compose_changes
from alloy_scripting.model import EventType, ExecutionPhase, ExecutionStatus
from alloy_scripting.model.events import EntityEvent, SideEffect
from alloy_scripting.model.outcomes import (
    Continue,
    EffectsOutcome,
    Error,
    ExecutedScript,
    HookOutcome,
    Rejected,
)
from alloy_scripting.model.result import ExecutionResult
from alloy_scripting.model.script import OnErrorPolicy, Script
from alloy_scripting.runner.executor import ScriptExecutor, describe_failure
from alloy_scripting.runner.records import ExecutionRecords, Recording, RecordListener
from alloy_scripting.runner.shadow import ShadowJob, ShadowRunner
from alloy_scripting.runner.trigger_cache import TriggerCache
from alloy_scripting.runner.workers import WorkerPool
from alloy_scripting.storage.errors import ScriptNotFound
from alloy_scripting.storage.protocols import ExecutionLog, ScriptRegistry

logger = logging.getLogger("alloy.runner")

EffectsSink = Callable[[list[SideEffect]], Awaitable[None]]
ChangeListener = Callable[[str | None], Awaitable[None]]


def _executed(script: Script, result: ExecutionResult) -> ExecutedScript:
    return ExecutedScript(
        name=script.name,
        script_id=script.id,
        version=script.version,
        status=result.status,
        duration_ms=round(result.duration_ms, 3),
    )


def _as_proxy(
    entity: EntityProxy | Mapping[str, Any] | None, entity_type: str, entity_id: str | None
) -> EntityProxy:
    if isinstance(entity, EntityProxy):
        return entity
    return EntityProxy(entity_id or "", entity_type, dict(entity or {}))


@dataclass(frozen=True, slots=True)
class _Hook:
    """One hook call, however it came: a decoded event, or the seed's `run_*` arguments."""

    entity_id: str | None
    entity_type: str
    event: EventType
    data: Mapping[str, Any]
    before: Mapping[str, Any] | None
    user_id: str | None
    tenant_id: str | None
    correlation_id: str | None
    event_id: str | None

    @classmethod
    def of(cls, event: EntityEvent, correlation_id: str | None) -> _Hook:
        return cls(
            event.entity_id, event.entity_type, event.event, event.data, event.before,
            event.user_id, event.tenant_id, correlation_id or event.event_id, event.event_id,
        )  # fmt: skip

    @classmethod
    def called(
        cls,
        phase: ExecutionPhase,
        entity_type: str,
        event: EventType | str,
        entity: EntityProxy | Mapping[str, Any],
        before: Mapping[str, Any] | None,
        user_id: str | None,
        tenant_id: str | None,
        correlation_id: str | None,
        event_id: str | None,
    ) -> _Hook:
        """A direct call of `run_<phase>`: its event must be one of that phase."""
        event = EventType(event)
        if event.phase is not phase:
            raise ValueError(f"run_{phase.value} takes a {phase.value}_* event, not {event.value}")
        proxy = _as_proxy(entity, entity_type, None)
        return cls(
            proxy.id, entity_type, event, proxy.data, before, user_id, tenant_id,
            correlation_id, event_id,
        )  # fmt: skip


class ScriptOrchestrator:
    """The seed's orchestrator: `run_before`, `run_after`, `run_on_commit`, `run_manual`."""

    def __init__(
        self,
        registry: ScriptRegistry,
        engine: ScriptEngine,
        execution_log: ExecutionLog,
        *,
        cache: TriggerCache | None = None,
        effects_sink: EffectsSink | None = None,
        change_listeners: Iterable[ChangeListener] = (),
        record_listeners: Iterable[RecordListener] = (),
        pool: WorkerPool | None = None,
        before_wait: float | None = None,
        state: StateStore | None = None,
        state_limits: StateLimits | None = None,
    ) -> None:
        self.registry = registry
        self.engine = engine
        self.execution_log = execution_log
        self.cache = cache or TriggerCache(registry)
        self.effects_sink = effects_sink
        self.change_listeners: list[ChangeListener] = list(change_listeners)
        self.executor = ScriptExecutor(
            engine,
            registry,
            execution_log,
            on_disabled=self._disabled,
            record_listeners=record_listeners,
            pool=pool,
            before_wait=before_wait,
            state=state,
            state_limits=state_limits,
        )
        self.shadows: ShadowRunner | None = None
        """Shadow runs of candidate versions (`runner.shadow`); set by `build_runtime`."""

    @property
    def records(self) -> ExecutionRecords:
        """Where execution records are made durable (a hook's caller writes its recording's
        records there)."""
        return self.executor.records

    # -- cache ------------------------------------------------------------------------

    async def scripts_changed(self, tenant_id: str | None, *, broadcast: bool = True) -> None:
        """A script of this tenant changed: drop cached lookups here and (broadcast) everywhere."""
        self.cache.invalidate(tenant_id)
        if self.shadows is not None:
            self.shadows.invalidate(tenant_id)
        telemetry.TRIGGER_CACHE_SIZE.set(len(self.cache))
        if broadcast:
            for listener in self.change_listeners:
                try:
                    await listener(tenant_id)
                except Exception:
                    logger.exception(
                        "could not broadcast a script change; other instances rely on the cache TTL"
                    )

    async def _disabled(self, script: Script) -> None:
        await self.scripts_changed(script.tenant_id)

    # -- hooks ------------------------------------------------------------------------

    async def run_before(
        self,
        entity_type: str,
        event: EventType | str,
        entity: EntityProxy | Mapping[str, Any],
        user_id: str | None = None,
        *,
        tenant_id: str | None = None,
        entity_before: Mapping[str, Any] | None = None,
        correlation_id: str | None = None,
        event_id: str | None = None,
    ) -> HookOutcome:
        """Run the active before-scripts in priority order, each seeing the earlier changes.

        The first `abort` rejects; an error or a limit breach fails closed (`Error`) unless the
        script's `on_error` policy is `continue`.
        """
        return await self._before(
            _Hook.called(
                ExecutionPhase.BEFORE, entity_type, event, entity, entity_before, user_id,
                tenant_id, correlation_id, event_id,
            )
        )  # fmt: skip

    async def before(
        self,
        event: EntityEvent,
        *,
        correlation_id: str | None = None,
        recording: Recording | None = None,
    ) -> HookOutcome:
        """The answer to a decoded before-hook request (its event is a `before_*` one).
        With a `recording`, the runs' records are added to it, not written."""
        return await self._before(_Hook.of(event, correlation_id), recording)

    async def _before(self, hook: _Hook, recording: Recording | None = None) -> HookOutcome:
        started = time.perf_counter()
        original = dict(hook.data)
        current = original
        steps: list[tuple[dict[str, Any], list[str]]] = []
        executed: list[ExecutedScript] = []
        before_image = dict(hook.before) if hook.before is not None else None
        event_id = hook.event_id
        jobs: list[ShadowJob] = [] if recording is None else recording.shadow_jobs
        try:
            for script in await self.cache.get(hook.tenant_id, hook.entity_type, hook.event):
                job = await self._shadow_job(script, hook, current, before_image)
                result = await self.executor.execute(
                    script,
                    phase=ExecutionPhase.BEFORE,
                    entity=EntityProxy(hook.entity_id, hook.entity_type, current),
                    event=hook.event,
                    entity_before=before_image,
                    user_id=hook.user_id,
                    correlation_id=hook.correlation_id,
                    recording=recording,
                )
                if job is not None:
                    job.active = result
                    jobs.append(job)
                executed.append(_executed(script, result))
                if result.status is ExecutionStatus.ABORTED:
                    return Rejected(
                        reason=result.reason or "rejected",
                        script=script.name,
                        event_id=event_id,
                        executed=executed,
                    )
                if result.status.is_failure:
                    if script.on_error is OnErrorPolicy.CONTINUE:
                        continue
                    return Error(
                        error=describe_failure(result),
                        error_type=result.status.value,
                        script=script.name,
                        event_id=event_id,
                        executed=executed,
                    )
                steps.append((result.changes, result.removed))
                current = result.entity
            changes, removed = compose_changes(original, steps, current) if steps else ({}, [])
            return Continue(changes=changes, removed=removed, event_id=event_id, executed=executed)
        finally:
            telemetry.hook_duration("before").observe(time.perf_counter() - started)
            if recording is None and jobs and self.shadows is not None:
                self.shadows.launch(jobs)

    async def run_after(
        self,
        entity_type: str,
        event: EventType | str,
        entity: EntityProxy | Mapping[str, Any],
        entity_before: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        *,
        tenant_id: str | None = None,
        correlation_id: str | None = None,
        event_id: str | None = None,
    ) -> EffectsOutcome:
        """Run every after-script (a failing one does not stop the others); collect effects."""
        return await self._effects_of(
            _Hook.called(
                ExecutionPhase.AFTER, entity_type, event, entity, entity_before, user_id,
                tenant_id, correlation_id, event_id,
            )
        )  # fmt: skip

    async def run_on_commit(
        self,
        entity_type: str,
        event: EventType | str,
        entity: EntityProxy | Mapping[str, Any],
        entity_before: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        *,
        tenant_id: str | None = None,
        correlation_id: str | None = None,
        event_id: str | None = None,
    ) -> EffectsOutcome:
        """Like `run_after`, for on-commit events (notifications, webhooks)."""
        return await self._effects_of(
            _Hook.called(
                ExecutionPhase.ON_COMMIT, entity_type, event, entity, entity_before, user_id,
                tenant_id, correlation_id, event_id,
            )
        )  # fmt: skip

    async def effects(
        self,
        event: EntityEvent,
        *,
        correlation_id: str | None = None,
        recording: Recording | None = None,
    ) -> EffectsOutcome:
        """What a decoded after or on-commit event does (every script runs). With a
        `recording`, the runs' records are added to it, not written."""
        return await self._effects_of(_Hook.of(event, correlation_id), recording)

    async def _effects_of(self, hook: _Hook, recording: Recording | None = None) -> EffectsOutcome:
        phase = hook.event.phase
        started = time.perf_counter()
        data = dict(hook.data)
        before_image = dict(hook.before) if hook.before is not None else None
        outcome = EffectsOutcome(event_id=hook.event_id)
        source_event_id = hook.event_id or hook.correlation_id or ""
        jobs: list[ShadowJob] = [] if recording is None else recording.shadow_jobs
        for script in await self.cache.get(hook.tenant_id, hook.entity_type, hook.event):
            job = await self._shadow_job(script, hook, data, before_image)
            result = await self.executor.execute(
                script,
                phase=phase,
                entity=EntityProxy(hook.entity_id, hook.entity_type, data),
                event=hook.event,
                entity_before=before_image,
                user_id=hook.user_id,
                correlation_id=hook.correlation_id,
                recording=recording,
                replay_id=hook.event_id,
            )
            if job is not None:
                job.active = result
                jobs.append(job)
            outcome.executed.append(_executed(script, result))
            if result.status is ExecutionStatus.SUCCESS:
                outcome.effects.extend(
                    self._effects(script, result, source_event_id=source_event_id,
                                  entity_type=hook.entity_type, entity_id=hook.entity_id)
                )  # fmt: skip
        telemetry.hook_duration(phase.value).observe(time.perf_counter() - started)
        if recording is None and jobs and self.shadows is not None:
            self.shadows.launch(jobs)
        return outcome

    async def _shadow_job(
        self,
        script: Script,
        hook: _Hook,
        entity: Mapping[str, Any],
        before_image: dict[str, Any] | None,
    ) -> ShadowJob | None:
        """A job for the script's shadow if it has one and this event is sampled: the
        input as the script sees it now, as plain data (an earlier script's result is a
        proxy that remembers the chain's original: the candidate starts from this script's
        input) and copied (the active run must not change it)."""
        if self.shadows is None:
            return None
        shadow = await self.shadows.pick(script)
        if shadow is None:
            return None
        return ShadowJob(
            shadow=shadow,
            script=script,
            phase=hook.event.phase,
            event=hook.event,
            entity_type=hook.entity_type,
            entity_id=hook.entity_id,
            entity=copy.deepcopy(dict(entity)),
            entity_before=copy.deepcopy(before_image),
            user_id=hook.user_id,
            correlation_id=hook.correlation_id,
            event_id=hook.event_id,
        )

    @staticmethod
    def _effects(
        script: Script,
        result: ExecutionResult,
        *,
        source_event_id: str,
        entity_type: str | None,
        entity_id: str | None,
    ) -> list[SideEffect]:
        return [
            SideEffect(
                event_id=SideEffect.derive_id(source_event_id, script.id, index),
                event_type=emitted.event_type,
                payload=emitted.payload,
                source_event_id=source_event_id,
                script_id=script.id,
                script_name=script.name,
                tenant_id=script.tenant_id,
                entity_type=entity_type,
                entity_id=entity_id,
            )
            for index, emitted in enumerate(result.emitted)
        ]

    # -- manual, API and scheduled runs -----------------------------------------------

    async def find_script(
        self, script_id: str | None = None, *, name: str | None = None, tenant_id: str | None = None
    ) -> Script:
        registry = self.registry.for_tenant(tenant_id)
        if script_id is not None:
            return await registry.get(script_id)
        if name is not None:
            return await registry.get_by_name(name)
        raise ScriptNotFound("give a script id or a name")

    async def run_manual(
        self,
        script_id: str | None = None,
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        entity: EntityProxy | Mapping[str, Any] | None = None,
        entity_type: str | None = None,
        tenant_id: str | None = None,
        user_id: str | None = None,
        correlation_id: str | None = None,
        dry_run: bool = False,
        phase: ExecutionPhase | None = None,
    ) -> tuple[Script, ExecutionResult, list[SideEffect]]:
        """Run one script by id or by name with `params` (and an optional sample entity).

        The phase is `api` for API-triggered scripts and `manual` otherwise. Effects go to the
        effects sink unless `dry_run`, which also keeps no execution record and counts no failure.
        """
        script = await self.find_script(script_id, name=name, tenant_id=tenant_id)
        if phase is None:
            phase = ExecutionPhase.API if script.trigger.type == "api" else ExecutionPhase.MANUAL
        return await self._run_one(
            script,
            phase=phase,
            params=params,
            entity=entity,
            entity_type=entity_type,
            user_id=user_id,
            correlation_id=correlation_id,
            dry_run=dry_run,
        )

    async def run_scheduled(
        self, script: Script, scheduled_at: datetime
    ) -> tuple[Script, ExecutionResult, list[SideEffect]]:
        """One cron tick of `script` (the scheduler has already claimed the tick)."""
        return await self._run_one(
            script,
            phase=ExecutionPhase.SCHEDULED,
            params={"scheduled_at": scheduled_at.isoformat()},
            correlation_id=f"cron:{script.id}:{scheduled_at.isoformat()}",
        )

    async def _run_one(
        self,
        script: Script,
        *,
        phase: ExecutionPhase,
        params: Mapping[str, Any] | None = None,
        entity: EntityProxy | Mapping[str, Any] | None = None,
        entity_type: str | None = None,
        user_id: str | None = None,
        correlation_id: str | None = None,
        dry_run: bool = False,
    ) -> tuple[Script, ExecutionResult, list[SideEffect]]:
        proxy = None if entity is None else _as_proxy(entity, entity_type or "entity", None)
        result = await self.executor.execute(
            script,
            phase=phase,
            entity=proxy,
            params=dict(params or {}),
            user_id=user_id,
            correlation_id=correlation_id,
            dry_run=dry_run,
        )
        effects: list[SideEffect] = []
        if result.status is ExecutionStatus.SUCCESS and result.emitted:
            effects = self._effects(
                script,
                result,
                source_event_id=correlation_id or f"{phase.value}:{script.id}:{time.time_ns()}",
                entity_type=proxy.entity_type if proxy is not None else None,
                entity_id=proxy.id if proxy is not None else None,
            )
            if not dry_run and self.effects_sink is not None:
                await self.effects_sink(effects)
        return script, result, effects


def create_orchestrator(
    registry: ScriptRegistry,
    *,
    engine: ScriptEngine | None = None,
    execution_log: ExecutionLog | None = None,
) -> ScriptOrchestrator:
    """The seed's `create_orchestrator(storage)`: default engine, in-memory log unless given."""
    if execution_log is None:
        from alloy_scripting.storage.memory import InMemoryExecutionLog

        execution_log = InMemoryExecutionLog()
    return ScriptOrchestrator(registry, engine or create_default_engine(), execution_log)
