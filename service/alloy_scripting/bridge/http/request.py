"""A call's arguments checked and turned into what is sent: method, headers, body.

Scripts are hostile: header names must be RFC 9110 tokens, values printable ASCII (no CR,
LF or NUL: no header injection), hop-by-hop and framing headers (``Host``,
``Content-Length``, ``Transfer-Encoding``, ``Connection``...) are the bridge's own, and
the body is bounded before it is built. ``json=`` and ``data=`` are exclusive.
"""

from __future__ import annotations

import json as jsonlib
import math
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alloy_scripting.bridge.header_syntax import is_header_name, is_header_value
from alloy_scripting.bridge.http.errors import InvalidHttpRequest

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_HEADERS = 64
MAX_HEADER_NAME = 256
MAX_HEADER_VALUE = 8192
MAX_PARAMS = 256
#: set by the bridge, never by a script
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "expect",
        "accept-encoding",
        "proxy-authorization",
        "proxy-connection",
        "traceparent",
        "tracestate",
    }
)
_SCALARS = (str, int, float)


@dataclass(frozen=True, slots=True)
class Outgoing:
    method: str
    headers: list[tuple[str, str]]
    body: bytes | None


def check_method(method: Any) -> str:
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise InvalidHttpRequest(f"method must be one of {', '.join(sorted(METHODS))}")
    return method.upper()


def check_headers(headers: Any) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if not isinstance(headers, Mapping):
        raise InvalidHttpRequest("headers must be a dict of names to values")
    if len(headers) > MAX_HEADERS:
        raise InvalidHttpRequest(f"at most {MAX_HEADERS} headers")
    checked: list[tuple[str, str]] = []
    for name, value in headers.items():
        if not isinstance(name, str) or not is_header_name(name, MAX_HEADER_NAME):
            raise InvalidHttpRequest(f"header name {str(name)[:40]!r} is not a valid token")
        if name.lower() in RESERVED_HEADERS or name.lower().startswith("proxy-"):
            raise InvalidHttpRequest(f"header {name!r} is set by the bridge, not by scripts")
        if isinstance(value, bool) or not isinstance(value, _SCALARS):
            raise InvalidHttpRequest(f"header {name!r}: the value must be a string or number")
        text = str(value)
        if not is_header_value(text, MAX_HEADER_VALUE):
            raise InvalidHttpRequest(
                f"header {name!r}: the value must be printable ASCII without CR, LF or NUL, "
                f"at most {MAX_HEADER_VALUE} characters"
            )
        checked.append((name, text))
    return checked


def check_params(params: Any) -> dict[str, Any] | None:
    """Query parameters: names to scalars or lists of scalars."""
    if params is None:
        return None
    if not isinstance(params, Mapping) or len(params) > MAX_PARAMS:
        raise InvalidHttpRequest(f"params must be a dict of at most {MAX_PARAMS} entries")
    for name, value in params.items():
        if not isinstance(name, str):
            raise InvalidHttpRequest("params names must be strings")
        values = value if isinstance(value, list | tuple) else [value]
        if len(values) > MAX_PARAMS or not all(_param_scalar(v) for v in values):
            raise InvalidHttpRequest(f"params[{name[:40]!r}]: values must be text or numbers")
    return dict(params)


def _param_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int)


def _body(json: Any, data: Any, limit: int) -> tuple[bytes | None, str | None]:
    if json is not None and data is not None:
        raise InvalidHttpRequest("give json= or data=, not both")
    if json is not None:
        try:
            text = jsonlib.dumps(json, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            body = text.encode("utf-8")
        except (TypeError, ValueError, RecursionError, UnicodeEncodeError) as exc:
            raise InvalidHttpRequest(f"json body is not JSON data: {exc}") from None
        return _bounded(body, limit), "application/json"
    if data is None:
        return None, None
    if isinstance(data, str):
        try:
            return _bounded(data.encode("utf-8"), limit), "text/plain; charset=utf-8"
        except UnicodeEncodeError:
            raise InvalidHttpRequest("data must be valid Unicode text") from None
    if isinstance(data, bytes):
        return _bounded(data, limit), "application/octet-stream"
    if isinstance(data, Mapping):
        fields = check_params(data) or {}
        try:
            encoded = urllib.parse.urlencode(
                {k: v if isinstance(v, list | tuple) else [v] for k, v in fields.items()},
                doseq=True,
            )
        except (TypeError, UnicodeEncodeError) as exc:
            raise InvalidHttpRequest(f"data cannot be form-encoded: {exc}") from None
        return _bounded(encoded.encode("ascii"), limit), "application/x-www-form-urlencoded"
    raise InvalidHttpRequest("data must be text, bytes or a dict of form fields")


def _bounded(body: bytes, limit: int) -> bytes:
    if len(body) > limit:
        raise InvalidHttpRequest(
            f"the request body is {len(body)} bytes; at most {limit} are allowed",
            reason="request_too_large",
        )
    return body


def outgoing(method: Any, headers: Any, json: Any, data: Any, *, body_limit: int) -> Outgoing:
    """The checked request, or `InvalidHttpRequest` saying what is wrong."""
    checked_method = check_method(method)
    checked_headers = check_headers(headers)
    body, content_type = _body(json, data, body_limit)
    named = {name.lower() for name, _ in checked_headers}
    if content_type is not None and "content-type" not in named:
        checked_headers.append(("Content-Type", content_type))
    return Outgoing(checked_method, checked_headers, body)
