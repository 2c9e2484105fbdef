"""The audit entry of one HTTP call, as it lands in the execution record.

Only what is safe to keep: the method, host and port, the path without its query (queries
often carry tokens), the final status, the duration, the bytes read, the redirects
followed, and for a failure its outcome and reason. Never headers or bodies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MAX_PATH = 512
MAX_REASON = 300


class Outcome:
    """The closed set of call outcomes (also the metric label values)."""

    OK = "ok"
    HTTP_ERROR = "http_error"  # a response with status >= 400
    DENIED = "denied"  # the egress policy refused
    INVALID = "invalid"  # arguments refused
    ERROR = "error"  # transport: connect, TLS, protocol, DNS
    TIMEOUT = "timeout"
    LIMIT_EXCEEDED = "limit_exceeded"

    ALL = (OK, HTTP_ERROR, DENIED, INVALID, ERROR, TIMEOUT, LIMIT_EXCEEDED)


@dataclass(slots=True)
class HttpCall:
    method: str
    host: str | None = None
    port: int | None = None
    path: str | None = None
    status: int | None = None
    duration_ms: float = 0.0
    bytes: int = 0
    redirects: int = 0
    outcome: str = Outcome.OK
    reason: str | None = None

    def at(self, host: str, port: int, path: str) -> None:
        """Where the call is going (each redirect hop moves it)."""
        self.host, self.port, self.path = host, port, path[:MAX_PATH]

    def failed(self, outcome: str, reason: str) -> None:
        self.outcome, self.reason = outcome, reason[:MAX_REASON]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
