"""Write-behind execution log for the hot path.

`append` only buffers; `flush` writes everything buffered in one round and hands the
records to the flush listeners (the Kafka edge publishes them to `alloy.executions`).
`run_flusher` flushes every `interval` seconds (the service runs it, and flushes once more
on shutdown); reads (`find_by_script`) flush first. The audit trail is thus at most one
interval behind, and a crash of the process can lose that interval's records: the price
of keeping a database write off every hook's path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.page import ExecutionPage, ExecutionQuery
from alloy_scripting.storage.protocols import ExecutionLog

logger = logging.getLogger("alloy.runner")

FlushListener = Callable[[list[ExecutionRecord]], Awaitable[None]]


class BufferedExecutionLog:
    def __init__(
        self,
        inner: ExecutionLog,
        *,
        max_buffer: int = 10_000,
        listeners: Iterable[FlushListener] = (),
    ) -> None:
        self.inner = inner
        self.listeners: list[FlushListener] = list(listeners)
        self._buffer: list[ExecutionRecord] = []
        self._max_buffer = max_buffer
        self._lock = asyncio.Lock()

    @property
    def tenant_id(self) -> str | None:
        return self.inner.tenant_id

    @property
    def retention_days(self) -> int:
        return self.inner.retention_days

    def for_tenant(self, tenant_id: str | None) -> ExecutionLog:
        return self.inner.for_tenant(tenant_id)

    async def ensure_indexes(self) -> None:
        await self.inner.ensure_indexes()

    async def append(self, record: ExecutionRecord) -> None:
        self._buffer.append(record)
        if len(self._buffer) >= self._max_buffer:
            await self.flush()

    async def append_many(self, records: list[ExecutionRecord]) -> None:
        self._buffer.extend(records)
        if len(self._buffer) >= self._max_buffer:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            records, self._buffer = self._buffer, []
            if not records:
                return
            try:
                await self.inner.append_many(records)
                await asyncio.gather(*(listener(records) for listener in self.listeners))
            except BaseException:
                self._buffer[:0] = records  # keep them for the next flush
                raise

    async def run_flusher(self, interval: float = 0.5) -> None:
        """Flush every `interval` seconds until cancelled; a failed flush is retried."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush()
            except Exception:
                logger.exception("could not write the execution log; retrying")

    async def find_by_script(
        self,
        script_id: str,
        offset: int = 0,
        limit: int = 50,
        query: ExecutionQuery | None = None,
    ) -> ExecutionPage:
        await self.flush()
        return await self.inner.find_by_script(script_id, offset, limit, query)

    async def purge_expired(self, now: datetime | None = None) -> int:
        return await self.inner.purge_expired(now)
