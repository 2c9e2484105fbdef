"""`TenantRateLimiter`: a token bucket per tenant for the API endpoints (`/api/...`).

Per instance: N instances behind a balancer admit up to N times the rate. Idle buckets
are dropped once more than `MAX_TENANTS` are held, so random tenant ids cannot grow it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

MAX_TENANTS = 10_000


class TenantRateLimiter:
    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str | None, tuple[float, float]] = {}

    def acquire(self, tenant_id: str | None) -> int | None:
        """None when the request may go on, else the seconds to wait (`Retry-After`)."""
        now = self.clock()
        tokens, at = self._buckets.get(tenant_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[tenant_id] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))
        if len(self._buckets) >= MAX_TENANTS and tenant_id not in self._buckets:
            self._forget_idle(now)
        self._buckets[tenant_id] = (tokens - 1.0, now)
        return None

    def _forget_idle(self, now: float) -> None:
        full = [
            tenant
            for tenant, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate >= self.burst
        ]
        for tenant in full:
            del self._buckets[tenant]
        if len(self._buckets) >= MAX_TENANTS:  # all busy: forget the oldest half
            oldest = sorted(self._buckets, key=lambda tenant: self._buckets[tenant][1])
            for tenant in oldest[: MAX_TENANTS // 2]:
                del self._buckets[tenant]
