"""The HTTP bridge: scripts' HTTP calls, made by the service under an egress policy.

Parent-side API (plain data in, plain data out): build one `HttpBridge` per service, a
`HttpContext` per run (`bridge.context(allow_list, caps=...)`), and await
`http_request(ctx, method, url, ...)`, `http_get` or `http_post`. Failures are
`HttpBridgeError`s a script may catch (`HttpError`, `EgressDenied`, `InvalidHttpRequest`);
`HttpLimitExceeded` ends the run. `ctx.audit()` lists the calls for the execution record.
"""

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

__all__ = [
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
