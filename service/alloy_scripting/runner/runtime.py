"""The parts of a running service, wired once and handed to every edge (Kafka, REST, scheduler)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from alloy_scripting.engine import ScriptEngine
from alloy_scripting.runner.orchestrator import ScriptOrchestrator
from alloy_scripting.settings import Settings
from alloy_scripting.storage.registry import Stores

HealthCheck = Callable[[], Awaitable[bool]]


@dataclass
class Runtime:
    settings: Settings
    stores: Stores
    engine: ScriptEngine
    orchestrator: ScriptOrchestrator
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    """Named readiness checks (`kafka`, `mongodb`); `/health/ready` is ready when all pass."""

    async def readiness(self) -> dict[str, bool]:
        results: dict[str, bool] = {}
        for name, check in self.health_checks.items():
            try:
                results[name] = bool(await check())
            except Exception:
                results[name] = False
        return results


def build_runtime(
    settings: Settings, stores: Stores, engine: ScriptEngine | None = None
) -> Runtime:
    """Wire engine, write-behind execution log and orchestrator over `stores`."""
    from alloy_scripting.engine import create_default_engine
    from alloy_scripting.runner.buffered_log import BufferedExecutionLog

    engine = engine or create_default_engine()
    log = BufferedExecutionLog(stores.executions)
    orchestrator = ScriptOrchestrator(stores.scripts, engine, log)
    return Runtime(settings=settings, stores=stores, engine=engine, orchestrator=orchestrator)
