"""The service's parts, wired once and handed to every edge (Kafka, REST, scheduler):
settings, stores, engine, orchestrator (with where execution records go), the script
worker pool and the readiness checks."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from alloy_scripting import telemetry
from alloy_scripting.bridge.http.helpers import HttpRuns
from alloy_scripting.bridge.state import StateLimits, quotas_from
from alloy_scripting.bridge.state.store import StateStore
from alloy_scripting.engine import EngineConfig, ScriptEngine
from alloy_scripting.runner.orchestrator import ChangeListener, EffectsSink, ScriptOrchestrator
from alloy_scripting.runner.records import RecordListener
from alloy_scripting.runner.shadow import ShadowRunner
from alloy_scripting.runner.workers import PoolConfig, WorkerPool, available_cpus
from alloy_scripting.settings import Settings
from alloy_scripting.storage.protocols import EgressStore, Stores
from alloy_scripting.storage.state_memory import InMemoryStateStore

logger = logging.getLogger("alloy.runner")

HealthCheck = Callable[[], Awaitable[bool]]


def new_instance_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Runtime:
    settings: Settings
    stores: Stores
    engine: ScriptEngine
    orchestrator: ScriptOrchestrator
    instance_id: str = field(default_factory=new_instance_id)
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    """Named readiness checks (`kafka`, `mongodb`); `/health/ready` is ready when all pass."""
    state: StateStore = field(default_factory=InMemoryStateStore)
    """The tenants' state documents (`store.*`, `/state`); `serve` puts MongoDB's here."""
    pool: WorkerPool | None = None
    """The worker processes scripts run in (`execution_mode=pool`); started by the edge."""

    async def readiness(self) -> dict[str, bool]:
        results: dict[str, bool] = {}
        for name, check in self.health_checks.items():
            try:
                results[name] = bool(await check())
            except Exception:
                results[name] = False
        return results

    async def start_workers(self) -> None:
        """Start the worker pool (if any) and wait until its workers are ready."""
        if self.pool is not None:
            await self.pool.start()

    async def stop_workers(self) -> None:
        if self.pool is not None:
            await self.pool.close()


def engine_config(settings: Settings) -> EngineConfig:
    """The engine's limits from `ALLOY_LIMIT_*` (the others keep the seed's defaults)."""
    timeout = settings.limit_timeout_ms / 1000
    return EngineConfig(
        timeout=timeout,
        warn_after=min(0.05, timeout / 2),  # the seed default, or half a shorter timeout
        max_operations=settings.limit_operations,
        max_call_depth=settings.limit_call_depth,
        max_string_size=settings.limit_string_size,
        max_array_size=settings.limit_array_size,
        max_memory=settings.limit_memory_mb * 1024 * 1024,
    )


def build_runtime(
    settings: Settings,
    stores: Stores,
    engine: ScriptEngine | None = None,
    *,
    instance_id: str | None = None,
    effects_sink: EffectsSink | None = None,
    change_listeners: Iterable[ChangeListener] = (),
    record_listeners: Iterable[RecordListener] = (),
    health_checks: Mapping[str, HealthCheck] | None = None,
    state: StateStore | None = None,
) -> Runtime:
    """Wire engine and orchestrator over `stores`, with the edges' sinks: where effects
    go, who hears of script changes, who takes execution records (each is stored and handed
    to every record listener before it counts as written)."""
    engine = engine or ScriptEngine(engine_config(settings))
    telemetry.label_scripts(settings.metrics_script_names())
    pool = worker_pool(settings, engine, stores.egress)
    state = state if state is not None else InMemoryStateStore(quotas_from(settings))
    orchestrator = ScriptOrchestrator(
        stores.scripts,
        engine,
        stores.executions,
        effects_sink=effects_sink,
        change_listeners=change_listeners,
        record_listeners=record_listeners,
        pool=pool,
        before_wait=settings.worker_queue_timeout_ms / 1000,
        state=state,
        state_limits=StateLimits.from_settings(settings),
    )
    instance_id = instance_id or new_instance_id()
    orchestrator.shadows = ShadowRunner(
        stores.shadows,
        engine,
        instance_id=instance_id,
        pool=pool,
        state=state,
        state_limits=StateLimits.from_settings(settings),
    )
    orchestrator.executor.input_limit = settings.execution_input_max_bytes
    return Runtime(
        settings=settings,
        stores=stores,
        engine=engine,
        orchestrator=orchestrator,
        instance_id=instance_id,
        health_checks=dict(health_checks or {}),
        pool=pool,
        state=state,
    )


def worker_pool(
    settings: Settings, engine: ScriptEngine, egress: EgressStore | None = None
) -> WorkerPool | None:
    """The pool of `settings` (None in `inline` mode), with the engine's limits; with the
    tenants' egress rules, the pool makes the scripts' HTTP calls (`bridge.http`)."""
    if settings.execution_mode != "pool":
        return None
    http = None if egress is None else HttpRuns.from_settings(settings, egress)
    # HTTP time has its own per-run budget (the bridge's `http_max_seconds_per_run`, a
    # limit named `http_time`); the host-call budget covers the other host calls on top.
    http_seconds = 0.0 if http is None else settings.http_max_seconds_per_run
    config = PoolConfig(
        size=settings.worker_pool_size or available_cpus(),
        per_tenant=settings.worker_tenant_limit or None,
        recycle_after=settings.worker_recycle_after,
        memory_limit=settings.worker_memory_mb * 1024 * 1024,
        host_call_budget=settings.worker_host_call_budget_ms / 1000 + http_seconds,
        pipeline_below=settings.worker_quick_run_ms / 1000,
        borrow_below=settings.worker_quick_run_ms / 1000,
        nice=settings.worker_nice,
        fork_server=settings.worker_fork_server,
    )
    return WorkerPool(engine.config, config, http=http)
