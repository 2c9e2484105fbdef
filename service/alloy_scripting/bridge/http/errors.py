"""The typed errors of the HTTP bridge.

Two families, because a script may handle one and never the other:

* `HttpBridgeError` and its subclasses are *call* failures a script may catch and handle
  (`HttpError` for a response or transport failure, `EgressDenied` for a refused
  destination, `InvalidHttpRequest` for arguments the bridge will not send);
* `HttpLimitExceeded` is a run limit (calls per run, total HTTP time, response size): like
  every limit it ends the run as ``limit_exceeded`` and is not catchable by the script.

Every error carries `reason`, a short stable code for the audit entry and the metrics.
Messages are plain text safe to show to the script's author (no host objects, no secrets).

The call failures cross to the script as they are: their `args` are plain data a worker
process can rebuild them from (``cls(*args)``) and a script reads after catching one:
``HttpError`` has ``(message, status)``, ``EgressDenied`` ``(message, rule)``,
``InvalidHttpRequest`` ``(message,)``. They are `RuntimeError`s.
"""

from __future__ import annotations

from typing import Any


class HttpBridgeError(RuntimeError):
    """A call that failed in a way the script may handle."""

    reason = "error"

    def __init__(self, message: str = "", *extra: Any, reason: str | None = None) -> None:
        super().__init__(message, *extra)
        self.message = message
        if reason is not None:
            self.reason = reason

    def __str__(self) -> str:
        return self.message


class InvalidHttpRequest(HttpBridgeError):
    """Arguments the bridge refuses to send: malformed URL, bad header, oversized body..."""

    reason = "invalid_request"

    def __init__(self, message: str = "", *, reason: str | None = None) -> None:
        super().__init__(message, reason=reason)


class EgressDenied(HttpBridgeError):
    """The egress policy refused the destination; `rule` names the rule that did."""

    reason = "denied"

    def __init__(self, message: str = "", rule: str = "denied", *, detail: str | None = None):
        super().__init__(message, rule)
        self.rule = rule
        self.detail = message if detail is None else detail

    @classmethod
    def by(cls, rule: str, detail: str) -> EgressDenied:
        return cls(f"egress denied ({rule}): {detail}", rule, detail=detail)


class HttpError(HttpBridgeError):
    """The call got no usable answer: an error status >= 400 (`status` set, and `response`
    the same plain data a success returns), or a transport failure such as a refused
    connection, a TLS failure, a timeout or a malformed response (`status` None)."""

    def __init__(
        self,
        message: str = "",
        status: int | None = None,
        *,
        reason: str = "error",
        response: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, status, reason=reason)
        self.status = status
        self.response = response


#: The call failures a script may name in ``except`` (and a worker rebuilds by name).
SCRIPT_ERRORS: dict[str, type[HttpBridgeError]] = {
    cls.__name__: cls for cls in (HttpError, EgressDenied, InvalidHttpRequest)
}


class HttpLimitExceeded(Exception):
    """A per-run limit of the bridge; `limit` names it (``http_calls``, ``http_time``,
    ``http_response_bytes``). Not catchable by the script: the run ends ``limit_exceeded``."""

    reason = "limit_exceeded"

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.message = message
