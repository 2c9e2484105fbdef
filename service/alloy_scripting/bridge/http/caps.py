"""The operator's caps on HTTP calls, and the narrower caps a script may ask for.

Caps come from settings (`HttpCaps.from_settings`); a script's own limits can only lower
them (`narrowed`), never raise them. A per-call `timeout` argument may go up to
`max_timeout`; beyond that it is an `InvalidHttpRequest`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from alloy_scripting.bridge.http.addresses import IPNetwork, parse_networks
from alloy_scripting.bridge.http.errors import InvalidHttpRequest

if TYPE_CHECKING:
    from alloy_scripting.settings import Settings

MiB = 1024 * 1024
T = TypeVar("T", int, float)


@dataclass(frozen=True, slots=True)
class HttpCaps:
    timeout: float = 10.0  # a call without `timeout=`
    max_timeout: float = 30.0  # the most a call may ask for
    response_bytes: int = MiB  # body read, streaming; past it the run ends limit_exceeded
    request_bytes: int = MiB
    response_header_bytes: int = 64 * 1024
    calls_per_run: int = 20
    seconds_per_run: float = 60.0  # wall time spent in HTTP calls by one run
    max_redirects: int = 5
    private_networks: tuple[IPNetwork, ...] = ()  # non-global networks the operator opens

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpCaps:
        return cls(
            timeout=min(settings.http_timeout_seconds, settings.http_max_timeout_seconds),
            max_timeout=settings.http_max_timeout_seconds,
            response_bytes=settings.http_max_response_bytes,
            request_bytes=settings.http_max_request_bytes,
            calls_per_run=settings.http_max_calls_per_run,
            seconds_per_run=settings.http_max_seconds_per_run,
            private_networks=parse_networks(settings.egress_private_networks),
        )

    def narrowed(
        self,
        *,
        timeout: float | None = None,
        response_bytes: int | None = None,
        request_bytes: int | None = None,
        calls_per_run: int | None = None,
        seconds_per_run: float | None = None,
    ) -> HttpCaps:
        """These caps lowered by a script's own limits (a higher value changes nothing)."""
        max_timeout = _lower(self.max_timeout, timeout)
        return replace(
            self,
            timeout=min(self.timeout, max_timeout),
            max_timeout=max_timeout,
            response_bytes=_lower(self.response_bytes, response_bytes),
            request_bytes=_lower(self.request_bytes, request_bytes),
            calls_per_run=_lower(self.calls_per_run, calls_per_run),
            seconds_per_run=_lower(self.seconds_per_run, seconds_per_run),
        )

    def call_timeout(self, requested: Any) -> float:
        """The timeout of one call: `requested` (seconds) if given and allowed."""
        if requested is None:
            return self.timeout
        if (
            isinstance(requested, bool)
            or not isinstance(requested, int | float)
            or not math.isfinite(requested)
            or requested <= 0
        ):
            raise InvalidHttpRequest("timeout must be a positive number of seconds")
        if requested > self.max_timeout:
            raise InvalidHttpRequest(f"timeout may be at most {self.max_timeout:g} seconds")
        return float(requested)


def _lower(cap: T, wanted: T | None) -> T:
    if wanted is None:
        return cap
    if wanted <= 0:
        raise ValueError("a limit must be positive")
    return min(cap, wanted)
