"""`HttpBridge`, one per service, and `HttpContext`, one per script run.

The bridge owns what outlives runs: the operator's caps, the egress policy (the operator's
private networks and the resolver) and the pinned clients. A run's context holds what is
the tenant's and the run's: the allow-list, the caps after the script's own narrowing,
the budgets left (calls, HTTP seconds) and the audit entries of its calls.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from alloy_scripting.bridge.http.allowlist import AllowList
from alloy_scripting.bridge.http.audit import HttpCall
from alloy_scripting.bridge.http.caps import HttpCaps
from alloy_scripting.bridge.http.errors import HttpLimitExceeded
from alloy_scripting.bridge.http.policy import EgressPolicy, Resolver, system_resolver
from alloy_scripting.bridge.http.transport import PinnedClients


class HttpBridge:
    def __init__(
        self,
        caps: HttpCaps | None = None,
        *,
        resolver: Resolver = system_resolver,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.caps = caps or HttpCaps()
        self.policy = EgressPolicy(self.caps.private_networks, resolver)
        self.clients = PinnedClients(ssl_context)

    def context(
        self,
        allow: AllowList,
        *,
        tenant_id: str | None = None,
        caps: HttpCaps | None = None,
    ) -> HttpContext:
        """A run's context; `caps` (a script's narrowing of `self.caps`) can only be lower."""
        run_caps = self.caps if caps is None else caps
        return HttpContext(self, allow, run_caps, tenant_id)

    async def aclose(self) -> None:
        await self.clients.aclose()


@dataclass(slots=True)
class HttpContext:
    bridge: HttpBridge
    allow: AllowList
    caps: HttpCaps
    tenant_id: str | None = None
    calls: list[HttpCall] = field(default_factory=list)
    calls_made: int = 0
    seconds_spent: float = 0.0

    @property
    def seconds_left(self) -> float:
        return self.caps.seconds_per_run - self.seconds_spent

    def take_call(self) -> None:
        """Count one call against the run's budget, or `HttpLimitExceeded`."""
        if self.calls_made >= self.caps.calls_per_run:
            raise HttpLimitExceeded(
                "http_calls", f"at most {self.caps.calls_per_run} HTTP calls per run"
            )
        if self.seconds_left <= 0:
            raise HttpLimitExceeded(
                "http_time", f"at most {self.caps.seconds_per_run:g} s of HTTP calls per run"
            )
        self.calls_made += 1

    def audit(self) -> list[dict[str, object]]:
        """The audit entries of the run's calls, as plain data."""
        return [call.to_dict() for call in self.calls]
