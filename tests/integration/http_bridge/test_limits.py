"""Caps, budgets and bad input: each a clear, typed error; the bridge goes on serving."""

from __future__ import annotations

import time

import pytest

from alloy_scripting.bridge.http import (
    HttpError,
    HttpLimitExceeded,
    InvalidHttpRequest,
    http_get,
    http_post,
    http_request,
)
from tests.http_servers import HttpTestServer
from tests.integration.http_bridge.conftest import MakeContext


async def test_response_body_over_the_cap_ends_the_run(
    context: MakeContext, server: HttpTestServer
) -> None:
    ctx = context(response_bytes=4096)
    assert (await http_get(ctx, server.url("/big?n=4096")))["text"] == "x" * 4096
    with pytest.raises(HttpLimitExceeded) as caught:
        await http_get(ctx, server.url("/big?n=4097"))
    assert caught.value.limit == "http_response_bytes"
    assert ctx.audit()[1]["outcome"] == "limit_exceeded"
    assert ctx.audit()[1]["reason"].startswith("http_response_bytes")


async def test_default_response_cap_is_one_mebibyte(
    context: MakeContext, server: HttpTestServer
) -> None:
    ctx = context()
    assert len((await http_get(ctx, server.url(f"/big?n={1024 * 1024}")))["text"]) == 1024 * 1024
    with pytest.raises(HttpLimitExceeded):
        await http_get(ctx, server.url(f"/big?n={1024 * 1024 + 1}"))


async def test_a_gzip_bomb_is_cut_off_while_decompressing(
    context: MakeContext, server: HttpTestServer
) -> None:
    ctx = context(response_bytes=100_000)
    with pytest.raises(HttpLimitExceeded) as caught:
        await http_get(ctx, server.url("/gzip-bomb?n=50000000"))
    assert caught.value.limit == "http_response_bytes"
    small = await http_get(ctx, server.url("/gzip-bomb?n=1000"))
    assert small["text"] == "\0" * 1000


async def test_a_slow_server_times_out(context: MakeContext, server: HttpTestServer) -> None:
    ctx = context()
    started = time.monotonic()
    with pytest.raises(HttpError) as caught:
        await http_get(ctx, server.url("/slow?seconds=3"), timeout=0.3)
    assert time.monotonic() - started < 1.0
    assert caught.value.reason == "timeout" and caught.value.status is None
    assert ctx.audit()[0]["outcome"] == "timeout"


async def test_a_trickling_server_times_out_on_the_whole_call(
    context: MakeContext, server: HttpTestServer
) -> None:
    """One byte every 50 ms never trips a read timeout; the call's deadline still holds."""
    ctx = context()
    started = time.monotonic()
    with pytest.raises(HttpError) as caught:
        await http_get(ctx, server.url("/trickle"), timeout=0.5)
    assert 0.45 < time.monotonic() - started < 1.5
    assert caught.value.reason == "timeout"


async def test_the_run_http_time_budget_is_a_limit(
    context: MakeContext, server: HttpTestServer
) -> None:
    ctx = context(seconds_per_run=0.4)
    started = time.monotonic()
    with pytest.raises(HttpLimitExceeded) as caught:
        await http_get(ctx, server.url("/slow?seconds=2"))
    assert time.monotonic() - started < 1.0
    assert caught.value.limit == "http_time"
    with pytest.raises(HttpLimitExceeded):  # nothing left for another call
        await http_get(ctx, server.url("/json"))


async def test_timeout_argument_is_bounded(context: MakeContext, server: HttpTestServer) -> None:
    ctx = context()
    for bad in (31, 0, -1, "5", True, float("nan"), float("inf")):
        with pytest.raises(InvalidHttpRequest, match="timeout"):
            await http_get(ctx, server.url("/json"), timeout=bad)
    assert (await http_get(ctx, server.url("/json"), timeout=30))["status"] == 200
    narrowed = context(timeout=2)
    with pytest.raises(InvalidHttpRequest, match="at most 2 seconds"):
        await http_get(narrowed, server.url("/json"), timeout=5)


async def test_calls_per_run_cap(context: MakeContext, server: HttpTestServer) -> None:
    ctx = context(calls_per_run=3)
    before = len(server.hits)
    for _ in range(3):
        await http_get(ctx, server.url("/json"))
    with pytest.raises(HttpLimitExceeded) as caught:
        await http_get(ctx, server.url("/json"))
    assert caught.value.limit == "http_calls"
    assert len(server.hits) - before == 3
    assert [c["outcome"] for c in ctx.audit()] == ["ok", "ok", "ok", "limit_exceeded"]


async def test_default_calls_per_run_is_twenty(
    context: MakeContext, server: HttpTestServer
) -> None:
    ctx = context()
    for _ in range(20):
        await http_get(ctx, server.url("/json"))
    with pytest.raises(HttpLimitExceeded):
        await http_get(ctx, server.url("/json"))


async def test_script_caps_only_go_lower(context: MakeContext, server: HttpTestServer) -> None:
    ctx = context(calls_per_run=1000, response_bytes=10**9, timeout=999)
    assert ctx.caps.calls_per_run == 20
    assert ctx.caps.response_bytes == 1024 * 1024
    assert ctx.caps.max_timeout == 30


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "http://[::1"}, "malformed url"),
        ({"url": "http://exa mple.com/"}, "spaces or control"),
        ({"url": "http:///path"}, "no host"),
        ({"url": "http://127.0.0.1:99999/"}, "port"),
        ({"url": ""}, "url must be"),
        ({"url": 42}, "url must be a string"),
        ({"url": "http://a..b/"}, "not a valid host"),
        ({"url": "http://1.2.3.4.5/"}, "IPv4"),
        ({"url": "http://256.1/"}, "IPv4"),
        ({"method": "TRACE"}, "method must be"),
        ({"method": "GET\r\nX: y"}, "method must be"),
        ({"headers": {"X-A\r\nInjected": "1"}}, "not a valid token"),
        ({"headers": {"X-A": "ok\r\nInjected: 1"}}, "without CR, LF"),
        ({"headers": {"X-A": "nul\x00"}}, "without CR, LF"),
        ({"headers": {"X-A\n": "1"}}, "not a valid token"),
        ({"headers": {"X-A": "trailing newline\n"}}, "without CR, LF"),
        ({"headers": {"Host": "internal.example"}}, "set by the bridge"),
        ({"headers": {"Transfer-Encoding": "chunked"}}, "set by the bridge"),
        ({"headers": {"X-A": ["list"]}}, "string or number"),
        ({"headers": ["not", "a", "dict"]}, "headers must be a dict"),
        ({"params": {"q": {"nested": 1}}}, "params"),
        ({"json": {"a": 1}, "data": "b"}, "not both"),
        ({"json": {"nan": float("nan")}}, "json body"),
        ({"json": {1, 2}}, "json body"),
        ({"data": 12}, "data must be"),
        ({"data": "x" * (1024 * 1024 + 1)}, "request body"),
    ],
)
async def test_bad_input_is_a_clear_error(
    context: MakeContext, server: HttpTestServer, kwargs: dict[str, object], message: str
) -> None:
    ctx = context()
    arguments: dict[str, object] = {"method": "POST", "url": server.url("/echo"), **kwargs}
    before = len(server.hits)
    with pytest.raises(InvalidHttpRequest, match=message):
        await http_request(ctx, **arguments)  # type: ignore[arg-type]
    assert len(server.hits) == before
    assert ctx.audit()[0]["outcome"] == "invalid"
    assert ctx.audit()[0]["method"] == ("?" if "method" in kwargs else "POST")
    assert (await http_get(ctx, server.url("/json")))["status"] == 200  # and it goes on


async def test_huge_response_headers_are_refused(
    context: MakeContext, server: HttpTestServer
) -> None:
    ctx = context()
    with pytest.raises(HttpError) as over_cap:
        await http_get(ctx, server.url("/huge-headers?n=80000"))
    assert over_cap.value.reason == "response_headers_too_large"
    with pytest.raises(HttpError) as over_parser:
        await http_get(ctx, server.url("/huge-headers?n=300000"))
    assert over_parser.value.reason == "protocol"
    assert (await http_get(ctx, server.url("/huge-headers?n=100")))["status"] == 200


async def test_connection_refused_is_an_http_error(context: MakeContext) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ctx = context(f"127.0.0.1:{port}")
    with pytest.raises(HttpError) as caught:
        await http_post(ctx, f"http://127.0.0.1:{port}/", json={})
    assert caught.value.reason == "connect" and caught.value.status is None
    assert ctx.audit()[0]["outcome"] == "error"


async def test_unresolvable_name_is_an_http_error(context: MakeContext) -> None:
    ctx = context("no-such-host.invalid")
    with pytest.raises(HttpError) as caught:
        await http_get(ctx, "http://no-such-host.invalid/")
    assert caught.value.reason == "dns"
