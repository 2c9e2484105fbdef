"""Who gets the next free worker: per-tenant queues served round-robin, at most K each.

A tenant holds at most `per_tenant` workers at once (runs pipelined on a worker it holds
already do not count again, and a quick run may borrow an idle worker no other tenant
waits for: `next_quick`); its further runs wait in its own FIFO queue. When a worker
frees up, the tenants with waiting runs are visited in turn (skipping those at their cap),
so a tenant flooding the pool delays its own runs, not the others'. Pure bookkeeping: the
pool owns the workers and the clock.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False, slots=True)
class Waiter:
    tenant: str
    future: asyncio.Future[Any]
    enqueued_at: float
    cost: float = 0.0
    """Seconds its run is expected to take (the pool's estimate, for pipelining)."""


@dataclass(eq=False, slots=True, weakref_slot=True)
class FairQueue:
    per_tenant: int
    busy: dict[str, int] = field(default_factory=dict)
    queues: dict[str, deque[Waiter]] = field(default_factory=dict)
    order: deque[str] = field(default_factory=deque)

    def may_start(self, tenant: str) -> bool:
        """Whether a new run of `tenant` may take a free worker without queueing."""
        return self.busy.get(tenant, 0) < self.per_tenant and tenant not in self.queues

    def push(self, waiter: Waiter) -> None:
        queue = self.queues.get(waiter.tenant)
        if queue is None:
            queue = self.queues[waiter.tenant] = deque()
            self.order.append(waiter.tenant)
        queue.append(waiter)

    def discard(self, waiter: Waiter) -> None:
        """A waiter that gave up (its deadline passed, its caller was cancelled)."""
        queue = self.queues.get(waiter.tenant)
        if queue is None:
            return
        try:
            queue.remove(waiter)
        except ValueError:
            return
        if not queue:
            self._drop(waiter.tenant)

    def below_cap(self, tenant: str) -> bool:
        """Whether `tenant` may hold one more worker."""
        return self.busy.get(tenant, 0) < self.per_tenant

    def next_waiter(self, may_take: Callable[[str], bool] | None = None) -> Waiter | None:
        """The next waiting run that may start, visiting tenants in turn: of a tenant
        below its cap, or for which `may_take(tenant)` says so (a worker it holds)."""
        allowed = may_take or self.below_cap
        for _ in range(len(self.order)):
            tenant = self.order[0]
            self.order.rotate(-1)
            if not allowed(tenant):
                continue
            queue = self.queues[tenant]
            waiter = queue.popleft()
            if not queue:
                self._drop(tenant)
            return waiter
        return None

    def next_quick(self, most: float) -> Waiter | None:
        """The next waiting run expected to take at most `most` seconds, whatever its
        tenant holds, visiting tenants in turn (for a worker no capped-below tenant wants)."""
        for _ in range(len(self.order)):
            tenant = self.order[0]
            self.order.rotate(-1)
            queue = self.queues[tenant]
            if queue[0].cost > most:
                continue
            waiter = queue.popleft()
            if not queue:
                self._drop(tenant)
            return waiter
        return None

    def started(self, tenant: str) -> None:
        self.busy[tenant] = self.busy.get(tenant, 0) + 1

    def finished(self, tenant: str) -> None:
        count = self.busy.get(tenant, 0) - 1
        if count > 0:
            self.busy[tenant] = count
        else:
            self.busy.pop(tenant, None)

    def waiting(self) -> int:
        return sum(len(queue) for queue in self.queues.values())

    def _drop(self, tenant: str) -> None:
        del self.queues[tenant]
        self.order.remove(tenant)
