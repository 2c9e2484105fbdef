"""The service's parts, wired once and handed to every edge (Kafka, REST, scheduler):
settings, stores, engine, orchestrator, the write-behind execution log and the readiness
checks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from alloy_scripting.bridge.state import StateLimits, quotas_from
from alloy_scripting.bridge.state.store import StateStore
from alloy_scripting.engine import ScriptEngine, create_default_engine
from alloy_scripting.runner.buffered_log import BufferedExecutionLog, FlushListener
from alloy_scripting.runner.orchestrator import ChangeListener, EffectsSink, ScriptOrchestrator
from alloy_scripting.runner.workers import PoolConfig, WorkerPool, available_cpus
from alloy_scripting.settings import Settings
from alloy_scripting.storage.protocols import Stores
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
    records: BufferedExecutionLog | None = None
    """The write-behind execution log, when records are written behind (`build_runtime`)."""
    state: StateStore = field(default_factory=InMemoryStateStore)
    """The tenants' state documents (`store.*`, `/state`); `serve` puts MongoDB's here."""
    pool: WorkerPool | None = None
    """The worker processes scripts run in (`execution_mode=pool`); started by the edge."""
    _flusher: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def readiness(self) -> dict[str, bool]:
        results: dict[str, bool] = {}
        for name, check in self.health_checks.items():
            try:
                results[name] = bool(await check())
            except Exception:
                results[name] = False
        return results

    def start_flusher(self, interval: float = 0.5) -> None:
        """Write buffered execution records every `interval` seconds (until `stop_flusher`)."""
        if self.records is not None and self._flusher is None:
            self._flusher = asyncio.create_task(self.records.run_flusher(interval))

    async def stop_flusher(self) -> None:
        """Stop the periodic writes; what is still buffered waits for `flush_records`."""
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher

    async def start_workers(self) -> None:
        """Start the worker pool (if any) and wait until its workers are ready."""
        if self.pool is not None:
            await self.pool.start()

    async def stop_workers(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def flush_records(self) -> None:
        """Write the buffered execution records now (on shutdown); a failure is logged."""
        if self.records is None:
            return
        try:
            await self.records.flush()
        except Exception:
            logger.exception("could not write the last execution records")


def build_runtime(
    settings: Settings,
    stores: Stores,
    engine: ScriptEngine | None = None,
    *,
    instance_id: str | None = None,
    effects_sink: EffectsSink | None = None,
    change_listeners: Iterable[ChangeListener] = (),
    record_listeners: Iterable[FlushListener] = (),
    health_checks: Mapping[str, HealthCheck] | None = None,
    state: StateStore | None = None,
) -> Runtime:
    """Wire engine, write-behind execution log and orchestrator over `stores`, with the
    edges' sinks: where effects go, who hears of script changes and of written records."""
    engine = engine or create_default_engine()
    records = BufferedExecutionLog(stores.executions, listeners=record_listeners)
    pool = worker_pool(settings, engine)
    state = state if state is not None else InMemoryStateStore(quotas_from(settings))
    orchestrator = ScriptOrchestrator(
        stores.scripts,
        engine,
        records,
        effects_sink=effects_sink,
        change_listeners=change_listeners,
        pool=pool,
        before_wait=settings.worker_queue_timeout_ms / 1000,
        state=state,
        state_limits=StateLimits.from_settings(settings),
    )
    return Runtime(
        settings=settings,
        stores=stores,
        engine=engine,
        orchestrator=orchestrator,
        instance_id=instance_id or new_instance_id(),
        health_checks=dict(health_checks or {}),
        records=records,
        pool=pool,
        state=state,
    )


def worker_pool(settings: Settings, engine: ScriptEngine) -> WorkerPool | None:
    """The pool of `settings` (None in `inline` mode), with the engine's limits."""
    if settings.execution_mode != "pool":
        return None
    config = PoolConfig(
        size=settings.worker_pool_size or available_cpus(),
        per_tenant=settings.worker_tenant_limit or None,
        recycle_after=settings.worker_recycle_after,
        memory_limit=settings.worker_memory_mb * 1024 * 1024,
        host_call_budget=settings.worker_host_call_budget_ms / 1000,
    )
    return WorkerPool(engine.config, config)
