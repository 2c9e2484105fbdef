"""The HTTP bridge: scripts' HTTP calls, made by the service under an egress policy.

Service-side API (plain data in, plain data out): build one `HttpBridge` per service, a
`HttpContext` per run (`bridge.context(allow_list, caps=...)`), and await
`http_request(ctx, method, url, ...)`, `http_get` or `http_post`. Failures are
`HttpBridgeError`s a script may catch (`HttpError`, `EgressDenied`, `InvalidHttpRequest`);
`HttpLimitExceeded` ends the run. `ctx.audit()` lists the calls for the execution record.
`helpers` is the family as scripts see it (`HELPERS` for the registry; the host-call
side for worker processes).

Names are imported on first use: the engine and worker processes need `errors` and the
helpers' signatures, not httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from alloy_scripting.bridge.http.helpers import HELPERS

if TYPE_CHECKING:
    from alloy_scripting.bridge.http.addresses import Reach, ip_literal, reachability
    from alloy_scripting.bridge.http.allowlist import AllowEntry, AllowList, AllowListError
    from alloy_scripting.bridge.http.audit import HttpCall, Outcome
    from alloy_scripting.bridge.http.call import http_get, http_post, http_request
    from alloy_scripting.bridge.http.caps import HttpCaps
    from alloy_scripting.bridge.http.context import HttpBridge, HttpContext
    from alloy_scripting.bridge.http.errors import (
        EgressDenied,
        HttpBridgeError,
        HttpError,
        HttpLimitExceeded,
        InvalidHttpRequest,
    )
    from alloy_scripting.bridge.http.policy import EgressPolicy, Resolver, system_resolver

_HOMES = {
    "addresses": ("Reach", "ip_literal", "reachability"),
    "allowlist": ("AllowEntry", "AllowList", "AllowListError"),
    "audit": ("HttpCall", "Outcome"),
    "call": ("http_get", "http_post", "http_request"),
    "caps": ("HttpCaps",),
    "context": ("HttpBridge", "HttpContext"),
    "errors": (
        "EgressDenied",
        "HttpBridgeError",
        "HttpError",
        "HttpLimitExceeded",
        "InvalidHttpRequest",
    ),
    "policy": ("EgressPolicy", "Resolver", "system_resolver"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "HELPERS",
    "AllowEntry",
    "AllowList",
    "AllowListError",
    "EgressDenied",
    "EgressPolicy",
    "HttpBridge",
    "HttpBridgeError",
    "HttpCall",
    "HttpCaps",
    "HttpContext",
    "HttpError",
    "HttpLimitExceeded",
    "InvalidHttpRequest",
    "Outcome",
    "Reach",
    "Resolver",
    "http_get",
    "http_post",
    "http_request",
    "ip_literal",
    "reachability",
    "system_resolver",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
