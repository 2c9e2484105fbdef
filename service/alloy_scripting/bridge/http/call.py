"""`http_request` (and `http_get`, `http_post`): one HTTP call of a script, done by the
service under the egress policy and the run's budgets, answered with plain data.

The call: arguments checked (`request`), the run's call budget taken, the URL vetted to
one address (`policy`), the request sent over a client pinned to it (`transport`), each
redirect (at most `max_redirects`) vetted again before it is followed, the body read
within its cap (`response`). The whole call, redirects included, runs under one deadline:
the call's timeout, or what is left of the run's HTTP time if that is less (then running
out is the run's limit, not the call's timeout). Whatever happens, the call leaves an
audit entry, a metric and a span.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx

from alloy_scripting.bridge.http.audit import HttpCall, Outcome
from alloy_scripting.bridge.http.context import HttpContext
from alloy_scripting.bridge.http.errors import (
    EgressDenied,
    HttpBridgeError,
    HttpError,
    HttpLimitExceeded,
    InvalidHttpRequest,
)
from alloy_scripting.bridge.http.policy import Destination, parse_url
from alloy_scripting.bridge.http.request import METHODS, Outgoing, check_params, outgoing
from alloy_scripting.bridge.http.response import check_header_size, plain_response, read_body
from alloy_scripting.bridge.http.telemetry import client_span, observe, propagate_into

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CREDENTIALS = frozenset({"authorization", "cookie"})
_BODY_HEADERS = frozenset({"content-type", "content-encoding", "content-language"})


async def http_request(
    ctx: HttpContext,
    method: Any,
    url: Any,
    *,
    headers: Any = None,
    params: Any = None,
    json: Any = None,
    data: Any = None,
    timeout: Any = None,
) -> dict[str, Any]:
    """Plain data ``{"status", "headers", "text", "json"}``; raises `HttpBridgeError`
    (catchable by the script) or `HttpLimitExceeded` (ends the run)."""
    known = isinstance(method, str) and method.upper() in METHODS
    call = HttpCall(method=method.upper() if known else "?")
    ctx.calls.append(call)
    started = time.perf_counter()
    run_bound = False
    try:
        ctx.take_call()
        request = outgoing(method, headers, json, data, body_limit=ctx.caps.request_bytes)
        destination = parse_url(url, check_params(params))
        call.at(destination.host, destination.port, destination.path)
        per_call = ctx.caps.call_timeout(timeout)
        run_bound = ctx.seconds_left < per_call
        with client_span(request.method) as span, _transport_errors():
            async with asyncio.timeout(min(per_call, ctx.seconds_left)):
                result = await _exchange(ctx, call, request, destination, per_call)
            if span.is_recording():
                span.set_attributes(
                    {
                        "server.address": call.host or "",
                        "server.port": call.port or 0,
                        "http.response.status_code": call.status or 0,
                    }
                )
        return result
    except TimeoutError:
        if run_bound:
            error: Exception = HttpLimitExceeded(
                "http_time", f"at most {ctx.caps.seconds_per_run:g} s of HTTP calls per run"
            )
        else:
            error = HttpError("the call timed out", reason="timeout")
        call.failed(_outcome(error), _reason(error))
        raise error from None
    except (HttpBridgeError, HttpLimitExceeded) as exc:
        call.failed(_outcome(exc), _reason(exc))
        raise
    finally:
        elapsed = time.perf_counter() - started
        ctx.seconds_spent += elapsed
        call.duration_ms = round(elapsed * 1000, 3)
        observe(call.outcome, elapsed)


async def http_get(
    ctx: HttpContext, url: Any, headers: Any = None, params: Any = None, timeout: Any = None
) -> dict[str, Any]:
    return await http_request(ctx, "GET", url, headers=headers, params=params, timeout=timeout)


async def http_post(
    ctx: HttpContext,
    url: Any,
    json: Any = None,
    data: Any = None,
    headers: Any = None,
    timeout: Any = None,
) -> dict[str, Any]:
    return await http_request(
        ctx, "POST", url, headers=headers, json=json, data=data, timeout=timeout
    )


async def _exchange(
    ctx: HttpContext,
    call: HttpCall,
    request: Outgoing,
    destination: Destination,
    timeout: float,
) -> dict[str, Any]:
    for hop in range(ctx.caps.max_redirects + 1):
        call.at(destination.host, destination.port, destination.path)
        try:
            target = await ctx.bridge.policy.vet(destination, ctx.allow)
        except EgressDenied as exc:
            if hop == 0:
                raise
            raise EgressDenied.by(exc.rule, f"redirect refused: {exc.detail}") from None
        client = await ctx.bridge.clients.client_for(target)
        trace_headers: dict[str, str] = {}
        propagate_into(trace_headers)
        sent = client.build_request(
            request.method,
            target.url,
            headers=[*request.headers, *trace_headers.items()],
            content=request.body,
            timeout=timeout,
        )
        response = await client.send(sent, stream=True)
        try:
            call.status = response.status_code
            check_header_size(response, ctx.caps.response_header_bytes)
            location = response.headers.get("location")
            if response.status_code in REDIRECTS and location is not None:
                if hop == ctx.caps.max_redirects:
                    raise HttpError(
                        f"more than {ctx.caps.max_redirects} redirects",
                        status=response.status_code,
                        reason="too_many_redirects",
                    )
                following = _redirect_target(target.url, location)
                request = _redirected(request, response.status_code, destination, following)
                destination = following
                call.redirects += 1
                continue
            body = await read_body(response, ctx.caps.response_bytes)
        finally:
            await response.aclose()
        call.bytes = len(body)
        result = plain_response(response, body)
        if response.status_code >= 400:
            raise HttpError(
                f"HTTP {response.status_code} from {destination.host}",
                status=response.status_code,
                response=result,
                reason="status",
            )
        return result
    raise AssertionError("unreachable: the last hop returns or raises")


def _redirect_target(current: httpx.URL, location: str) -> Destination:
    try:
        return parse_url(current.join(location))
    except InvalidHttpRequest as exc:
        raise HttpError(f"bad redirect: {exc.message}", reason="bad_redirect") from None
    except EgressDenied as exc:
        raise EgressDenied.by(exc.rule, f"redirect refused: {exc.detail}") from None
    except (httpx.InvalidURL, ValueError) as exc:
        raise HttpError(f"bad redirect: {exc}", reason="bad_redirect") from None


def _redirected(
    request: Outgoing, status: int, before: Destination, after: Destination
) -> Outgoing:
    """The request a redirect asks for: 303 (and 301/302 after a POST) become a GET without
    body; credentials are not sent to another origin."""
    method, body, headers = request.method, request.body, request.headers
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = [(n, v) for n, v in headers if n.lower() not in _BODY_HEADERS]
    if (before.scheme, before.host, before.port) != (after.scheme, after.host, after.port):
        headers = [(n, v) for n, v in headers if n.lower() not in _CREDENTIALS]
    return Outgoing(method, headers, body)


@contextlib.contextmanager
def _transport_errors() -> Iterator[None]:
    """httpx's errors as the bridge's: each a `HttpError` with a short reason."""
    try:
        yield
    except httpx.TimeoutException:
        raise TimeoutError from None
    except httpx.ConnectError as exc:
        if _caused_by_tls(exc):
            raise HttpError(f"TLS failure: {_first_line(exc)}", reason="tls") from None
        raise HttpError(f"cannot connect: {_first_line(exc)}", reason="connect") from None
    except httpx.ProtocolError as exc:
        raise HttpError(f"malformed response: {_first_line(exc)}", reason="protocol") from None
    except httpx.TransportError as exc:
        raise HttpError(f"connection failed: {_first_line(exc)}", reason="connection") from None


def _caused_by_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError) or "SSL" in str(seen) or "certificate" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def _outcome(exc: Exception) -> str:
    if isinstance(exc, HttpLimitExceeded):
        return Outcome.LIMIT_EXCEEDED
    if isinstance(exc, EgressDenied):
        return Outcome.DENIED
    if isinstance(exc, InvalidHttpRequest):
        return Outcome.INVALID
    if isinstance(exc, HttpError):
        if exc.status is not None and exc.reason == "status":
            return Outcome.HTTP_ERROR
        return Outcome.TIMEOUT if exc.reason == "timeout" else Outcome.ERROR
    return Outcome.ERROR


def _reason(exc: Exception) -> str:
    if isinstance(exc, HttpLimitExceeded):
        return f"{exc.limit}: {exc.message}"
    if isinstance(exc, EgressDenied):
        return f"{exc.rule}: {exc.detail}"
    if isinstance(exc, HttpBridgeError):
        return f"{exc.reason}: {exc.message}"
    return str(exc)
