"""Per-(tenant, entity type, event) cache of the active scripts bound to an event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from alloy_scripting.model import EventType
from alloy_scripting.model.script import Script
from alloy_scripting.storage.protocols import ScriptRegistry

CacheKey = tuple[str | None, str, EventType]


class TriggerCache:
    """Caches `find_by_trigger` results.

    Entries are dropped by `invalidate` (called on every script change, locally and,
    through `alloy.scripts.changed`, on every other instance) and, as a safety net for a
    lost invalidation, after `ttl` seconds. Concurrent misses on one key share one query.
    """

    def __init__(
        self,
        registry: ScriptRegistry,
        *,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[CacheKey, tuple[float, list[Script]]] = {}
        self._loading: dict[CacheKey, asyncio.Future[list[Script]]] = {}
        self._generation = 0
        self.hits = 0
        self.misses = 0

    async def get(self, tenant_id: str | None, entity_type: str, event: EventType) -> list[Script]:
        key = (tenant_id, entity_type, event)
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[0] < self._ttl:
            self.hits += 1
            return entry[1]
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        self.misses += 1
        generation = self._generation
        future: asyncio.Future[list[Script]] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            scripts = await self._registry.for_tenant(tenant_id).find_by_trigger(entity_type, event)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            self._loading.pop(key, None)
        future.set_result(scripts)
        if generation == self._generation:  # not invalidated while loading
            self._entries[key] = (self._clock(), scripts)
        return scripts

    def invalidate(self, tenant_id: str | None = None, *, everything: bool = False) -> None:
        """Drop the entries of one tenant (or all of them)."""
        self._generation += 1
        if everything:
            self._entries.clear()
            return
        for key in [k for k in self._entries if k[0] == tenant_id]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
