"""HTTP helpers (`http_get`, `http_post`, `http_request`): reserved. Offered in the same
phases as `emit`, they fail with "HTTP helpers are not configured on this service" until an
HTTP bridge backs them, except in a debug run: there a call is recorded as an intent and
answered from the run's HTTP fixtures, or refused (`model.debug.DebugEffects`)."""

from __future__ import annotations

from typing import Any

from alloy_scripting.bridge.host import (
    EFFECT_PHASES,
    HelperHost,
    HelperNotConfiguredError,
    HelperSpec,
)


def _http(host: HelperHost, method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    effects = host.effects
    if effects is None:
        raise HelperNotConfiguredError("HTTP helpers are not configured on this service")
    if method is None:
        method, *rest = args or (None,)
        args = tuple(rest)
    url = args[0] if args else kwargs.get("url")
    body = args[1] if len(args) > 1 else kwargs.get("body", kwargs.get("json"))
    if not isinstance(method, str) or not isinstance(url, str):
        raise TypeError("HTTP helpers take the method and the URL as str")
    fixture = effects.http(method, url, body)
    return {"status": fixture.status, "body": fixture.body, "headers": dict(fixture.headers)}


def http_get(host: HelperHost, *args: Any, **kwargs: Any) -> Any:
    """`http_get(url)`."""
    return _http(host, "GET", args, kwargs)


def http_post(host: HelperHost, *args: Any, **kwargs: Any) -> Any:
    """`http_post(url, body)`."""
    return _http(host, "POST", args, kwargs)


def http_request(host: HelperHost, *args: Any, **kwargs: Any) -> Any:
    """`http_request(method, url, body=None)`."""
    return _http(host, None, args, kwargs)


HELPERS = (
    HelperSpec("http_get", http_get, EFFECT_PHASES, needs_host=True, reserved=True),
    HelperSpec("http_post", http_post, EFFECT_PHASES, needs_host=True, reserved=True),
    HelperSpec("http_request", http_request, EFFECT_PHASES, needs_host=True, reserved=True),
)
