"""The typed errors of the HTTP bridge.

Two families, because a script may handle one and never the other:

* `HttpBridgeError` and its subclasses are *call* failures a script may catch and handle
  (`HttpError` for a response or transport failure, `EgressDenied` for a refused
  destination, `InvalidHttpRequest` for arguments the bridge will not send);
* `HttpLimitExceeded` is a run limit (calls per run, total HTTP time, response size): like
  every limit it ends the run as ``limit_exceeded`` and is not catchable by the script.

Every error carries `reason`, a short stable code for the audit entry and the metrics.
Messages are plain text safe to show to the script's author (no host objects, no secrets).
"""

from __future__ import annotations

from typing import Any


class HttpBridgeError(Exception):
    """A call that failed in a way the script may handle."""

    reason = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class InvalidHttpRequest(HttpBridgeError):
    """Arguments the bridge refuses to send: malformed URL, bad header, oversized body..."""

    reason = "invalid_request"


class EgressDenied(HttpBridgeError):
    """The egress policy refused the destination; `rule` names the rule that did."""

    reason = "denied"

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"egress denied ({rule}): {detail}")
        self.rule = rule
        self.detail = detail


class HttpError(HttpBridgeError):
    """The call got no usable answer: an error status >= 400 (`status` set, and `response`
    the same plain data a success returns), or a transport failure such as a refused
    connection, a TLS failure, a timeout or a malformed response (`status` None)."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        status: int | None = None,
        response: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, reason=reason)
        self.status = status
        self.response = response


class HttpLimitExceeded(Exception):
    """A per-run limit of the bridge; `limit` names it (``http_calls``, ``http_time``,
    ``http_response_bytes``). Not catchable by the script: the run ends ``limit_exceeded``."""

    reason = "limit_exceeded"

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.message = message
