"""The attack corpus in pool mode: `PoolEngine` runs each script in a real `WorkerPool`.

It has the two methods the corpus calls on an engine, `execute` and `validate`, so the
same oracles judge both modes. The pool runs on an event loop in a thread of its own (the
tests are synchronous); one pool serves the whole module, as one serves the service.
`validate` is the service's static check (`ScriptEngine.validate`): the pool only runs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any

from alloy_scripting.engine import create_default_engine
from alloy_scripting.model.enums import EventType, ExecutionPhase
from alloy_scripting.model.result import ExecutionResult
from alloy_scripting.runner.workers import PoolConfig, RunRequest, WorkerPool

#: Two workers, both for the one (anonymous) tenant of the corpus: a worker killed at a
#: deadline is replaced while the other serves the next case.
POOL_CONFIG = PoolConfig(size=2, per_tenant=2)
#: How long the test waits for one answer (the pool's own deadlines are far shorter).
ANSWER_WITHIN = 60.0


class PoolEngine:
    def __init__(self, config: PoolConfig = POOL_CONFIG) -> None:
        self._checker = create_default_engine()
        self.config = self._checker.config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="attack-pool", daemon=True
        )
        self._thread.start()
        self.pool = WorkerPool(self.config, config)
        self._call(self.pool.start())

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(ANSWER_WITHIN)

    def execute(
        self,
        source: str,
        *,
        phase: str | None = None,
        entity: Mapping[str, Any] | None = None,
        event: str | None = None,
        entity_before: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> ExecutionResult:
        event_type = None if event is None else EventType(event)
        if phase is not None:
            run_phase = ExecutionPhase(phase)
        else:
            run_phase = event_type.phase if event_type is not None else ExecutionPhase.MANUAL
        request = RunRequest(
            source=source,
            phase=run_phase,
            event=event_type,
            entity=None if entity is None else dict(entity),
            entity_before=None if entity_before is None else dict(entity_before),
            params=None if params is None else dict(params),
        )
        result: ExecutionResult = self._call(self.pool.run(request))
        return result

    def validate(self, source: str, *, phase: str | None = None) -> Any:
        return self._checker.validate(source, phase=phase)

    def close(self) -> None:
        try:
            self._call(self.pool.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
