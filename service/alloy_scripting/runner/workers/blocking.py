"""`BlockingPool`: the worker pool behind the engine's synchronous `execute`/`validate`.

For callers without an event loop that want scripts run as the service runs them, in
worker processes (the attack corpus runs against it with
`ALLOY_ATTACKS_ENGINE=alloy_scripting.runner.workers.blocking:create_pooled_engine`).
The pool lives on an event loop of its own, in a daemon thread; `validate` needs no
worker (it only compiles) and runs here.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from alloy_scripting.engine import EngineConfig, ScriptEngine
from alloy_scripting.model.enums import EventType, ExecutionPhase
from alloy_scripting.model.result import Diagnostic, ExecutionResult
from alloy_scripting.runner.workers.pool import PoolConfig, RunRequest, WorkerPool

T = TypeVar("T")


class BlockingPool:
    def __init__(
        self, engine_config: EngineConfig | None = None, config: PoolConfig | None = None
    ) -> None:
        self.engine = ScriptEngine(engine_config)
        self.config = self.engine.config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="alloy-workers", daemon=True
        )
        self._thread.start()
        self.pool = WorkerPool(self.config, config)
        self._call(self.pool.start())
        atexit.register(self.close)

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def validate(self, source: str, phase: ExecutionPhase | str | None = None) -> list[Diagnostic]:
        return self.engine.validate(source, phase)

    def execute(
        self,
        source: str,
        *,
        phase: ExecutionPhase | str | None = None,
        entity: Mapping[str, Any] | None = None,
        event: EventType | str | None = None,
        entity_before: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        ctx: Mapping[str, Any] | None = None,
        script_name: str | None = None,
    ) -> ExecutionResult:
        """`ScriptEngine.execute`, in a worker."""
        event_type = None if event is None else EventType(event)
        if phase is not None:
            run_phase = ExecutionPhase(phase)
        else:
            run_phase = ExecutionPhase.MANUAL if event_type is None else event_type.phase
        request = RunRequest(
            source,
            run_phase,
            event=event_type,
            entity=None if entity is None else dict(entity),
            entity_before=None if entity_before is None else dict(entity_before),
            params=None if params is None else dict(params),
            ctx=None if ctx is None else dict(ctx),
            script_name=script_name,
        )
        return self._call(self.pool.run(request))

    def close(self) -> None:
        if self._loop.is_running():
            self._call(self.pool.close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)


_shared: BlockingPool | None = None


def create_pooled_engine() -> BlockingPool:
    """One pool per process (two workers), shared by every caller, as in the service."""
    global _shared
    if _shared is None:
        _shared = BlockingPool(config=PoolConfig(size=2))
    return _shared
