"""`respond(body, status=200, headers=None)`: the HTTP answer of an API-phase script.

The body is JSON (plain data, bounded like an emitted payload). The status is 2xx, 4xx or
5xx: redirects are refused (an endpoint of ours must not send callers elsewhere). Headers
are checked before anything is recorded, so a script cannot split a response or speak for
the service:

* names are HTTP tokens of at most 64 characters, values at most 1024 characters of
  printable ASCII (no CR, LF, NUL or other control characters: Starlette writes
  headers as Latin-1, and proxies disagree on anything beyond ASCII);
* hop-by-hop and framing headers (``Connection``, ``Transfer-Encoding``,
  ``Content-Length``, ``Content-Type`` — the body is always JSON, ...) are refused, and so
  are headers that change the caller's security state: cookies (``Set-Cookie``), auth
  challenges, CORS (``Access-Control-*``), HSTS, CSP, frame options, ``Sec-*`` and
  ``Proxy-*``;
* at most 32 headers.
"""

from __future__ import annotations

from typing import Any

from alloy_scripting.bridge.header_syntax import is_header_name, is_header_value
from alloy_scripting.bridge.host import HelperHost, HelperSpec
from alloy_scripting.model.enums import ExecutionPhase

MAX_HEADERS = 32
MAX_HEADER_NAME = 64
MAX_HEADER_VALUE = 1024

#: Lower-case names a script may not set.
FORBIDDEN_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-type",
        "content-encoding",
        "host",
        "date",
        "server",
        "set-cookie",
        "set-cookie2",
        "www-authenticate",
        "authorization",
        "strict-transport-security",
        "content-security-policy",
        "content-security-policy-report-only",
        "x-frame-options",
        "x-content-type-options",
        "x-xss-protection",
        "referrer-policy",
        "permissions-policy",
        "cross-origin-opener-policy",
        "cross-origin-embedder-policy",
        "cross-origin-resource-policy",
        "clear-site-data",
        "alt-svc",
        "link",
        "refresh",
        "location",
        "retry-after",
    }
)
FORBIDDEN_PREFIXES = ("access-control-", "sec-", "proxy-")


def check_status(status: Any) -> int:
    if type(status) is not int or not (200 <= status <= 299 or 400 <= status <= 599):
        raise ValueError("respond() status must be an int in 200-299 or 400-599")
    return status


def check_headers(headers: Any) -> dict[str, str]:
    """The headers as a plain dict, or a `ValueError` / `TypeError` naming the bad one."""
    if headers is None:
        return {}
    if not isinstance(headers, dict):
        raise TypeError("respond() headers must be a dict of str to str")
    if len(headers) > MAX_HEADERS:
        raise ValueError(f"respond() accepts at most {MAX_HEADERS} headers")
    checked: dict[str, str] = {}
    for name, value in dict.items(headers):
        if type(name) is not str or not is_header_name(name, MAX_HEADER_NAME):
            raise ValueError(
                f"respond() header names are HTTP tokens of at most {MAX_HEADER_NAME} characters"
            )
        lowered = name.lower()
        if lowered in FORBIDDEN_HEADERS or lowered.startswith(FORBIDDEN_PREFIXES):
            raise ValueError(f"respond() may not set the {name!r} header")
        if type(value) is not str or not is_header_value(value, MAX_HEADER_VALUE):
            raise ValueError(
                f"respond() header {name!r}: the value must be a str of at most "
                f"{MAX_HEADER_VALUE} printable characters (no CR, LF or control characters)"
            )
        if any(existing.lower() == lowered for existing in checked):
            raise ValueError(f"respond() header {name!r} given twice")
        checked[str.__str__(name)] = str.__str__(value)
    return checked


def respond(host: HelperHost, body: Any = None, status: Any = 200, headers: Any = None) -> None:
    """Set the endpoint's answer: `body` as JSON with `status` and `headers` (the last call
    wins). Without it, the endpoint answers 204."""
    host.set_response(body, check_status(status), check_headers(headers))


HELPERS = (HelperSpec("respond", respond, frozenset({ExecutionPhase.API}), needs_host=True),)
