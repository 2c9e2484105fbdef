"""The HTTP bridge's calls against real servers: what a script gets back and what is recorded."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest
from opentelemetry import trace
from prometheus_client import REGISTRY

from alloy_scripting.bridge.http import (
    AllowList,
    HttpBridge,
    HttpCaps,
    HttpError,
    http_get,
    http_post,
    http_request,
)
from alloy_scripting.bridge.http.addresses import IPAddress
from tests.http_servers import HttpTestServer, ScratchCa
from tests.integration.http_bridge.conftest import LOOPBACK, MakeContext


async def test_get_returns_plain_json_data(context: MakeContext, server: HttpTestServer) -> None:
    ctx = context()
    result = await http_get(ctx, server.url("/json"), params={"q": "deals", "n": [1, 2]})
    assert result["status"] == 200
    assert result["json"] == {"hello": "world", "query": {"q": ["deals"], "n": ["1", "2"]}}
    assert result["headers"]["content-type"] == "application/json"
    assert isinstance(result["text"], str) and '"hello"' in result["text"]
    assert set(result) == {"status", "headers", "text", "json"}
    assert type(result["headers"]) is dict


async def test_post_sends_json_and_headers(context: MakeContext, server: HttpTestServer) -> None:
    ctx = context()
    result = await http_post(
        ctx, server.url("/echo"), json={"deal": 7, "name": "Ünïcode"}, headers={"X-Trace": "abc"}
    )
    echoed = result["json"]
    assert echoed["method"] == "POST"
    assert echoed["body"] == '{"deal":7,"name":"Ünïcode"}'
    assert echoed["headers"]["content-type"] == "application/json"
    assert echoed["headers"]["x-trace"] == "abc"
    assert echoed["headers"]["host"] == f"127.0.0.1:{server.port}"
    assert echoed["headers"]["accept-encoding"] == "identity"


async def test_request_with_form_data_and_other_methods(
    context: MakeContext, server: HttpTestServer
) -> None:
    ctx = context()
    form = await http_request(ctx, "put", server.url("/echo"), data={"a": "1", "b": ["x", "y"]})
    assert form["json"]["method"] == "PUT"
    assert form["json"]["body"] == "a=1&b=x&b=y"
    assert form["json"]["headers"]["content-type"] == "application/x-www-form-urlencoded"
    head = await http_request(ctx, "HEAD", server.url("/json"))
    assert head["status"] == 200 and head["text"] == "" and head["json"] is None


async def test_non_json_body_reads_as_json_none(
    context: MakeContext, server: HttpTestServer
) -> None:
    result = await http_get(context(), server.url("/text"))
    assert result["json"] is None
    assert result["text"] == "not json {"


async def test_error_status_raises_http_error_with_status_and_body(
    context: MakeContext, server: HttpTestServer
) -> None:
    ctx = context()
    with pytest.raises(HttpError) as caught:
        await http_get(ctx, server.url("/status/404"))
    assert caught.value.status == 404
    assert caught.value.response is not None
    assert caught.value.response["json"] == {"error": "status 404"}
    assert "404" in str(caught.value)
    assert ctx.audit()[0]["outcome"] == "http_error"
    assert ctx.audit()[0]["status"] == 404


async def test_redirect_chain_inside_the_allow_list_is_followed(
    context: MakeContext, server: HttpTestServer
) -> None:
    ctx = context()
    before = len(server.hits)
    result = await http_get(ctx, server.url("/redirect/3"))
    assert result["json"]["hello"] == "world"
    paths = [hit.path for hit in server.hits[before:]]
    assert paths == ["/redirect/3", "/redirect/2", "/redirect/1", "/redirect/0", "/json"]
    assert ctx.audit()[0]["redirects"] == 4
    assert ctx.audit()[0]["path"] == "/json"


async def test_more_than_five_redirects_is_an_error(
    context: MakeContext, server: HttpTestServer
) -> None:
    ctx = context()
    before = len(server.hits)
    with pytest.raises(HttpError) as caught:
        await http_get(ctx, server.url("/redirect/9"))
    assert caught.value.reason == "too_many_redirects"
    assert len(server.hits) - before == 6  # the first request and 5 redirects, no more


async def test_see_other_after_post_becomes_get_without_body(
    context: MakeContext, server: HttpTestServer
) -> None:
    ctx = context()
    target = server.url("/echo")
    result = await http_post(
        ctx, server.url(f"/redirect-to?status=303&url={target}"), json={"secret": 1}
    )
    assert result["json"]["method"] == "GET"
    assert result["json"]["body"] == ""
    assert "content-type" not in result["json"]["headers"]


async def test_credentials_are_not_sent_to_another_origin(
    context: MakeContext, server: HttpTestServer, other_server: HttpTestServer
) -> None:
    ctx = context(f"127.0.0.1:{server.port}", f"127.0.0.1:{other_server.port}")
    target = other_server.url("/echo")
    result = await http_get(
        ctx,
        server.url(f"/redirect-to?url={target}"),
        headers={"Authorization": "Bearer s3cret", "X-Keep": "yes"},
    )
    assert "authorization" not in result["json"]["headers"]
    assert result["json"]["headers"]["x-keep"] == "yes"
    assert server.hits[-1].headers["authorization"] == "Bearer s3cret"


async def test_audit_entry_fields(context: MakeContext, server: HttpTestServer) -> None:
    ctx = context()
    await http_get(ctx, server.url("/json?token=very-secret"))
    with pytest.raises(Exception, match="allow-list"):
        await http_get(ctx, "http://127.0.0.1:1/private?key=abc")
    ok, refused = ctx.audit()
    assert ok["method"] == "GET"
    assert ok["host"] == "127.0.0.1" and ok["port"] == server.port
    assert ok["path"] == "/json"  # the query never lands in the record
    assert ok["status"] == 200 and ok["outcome"] == "ok" and ok["reason"] is None
    assert ok["bytes"] > 0 and ok["duration_ms"] > 0
    assert refused["outcome"] == "denied"
    assert refused["reason"].startswith("not_in_allow_list:")
    assert refused["path"] == "/private" and refused["status"] is None
    assert "abc" not in str(ctx.audit())
    assert "very-secret" not in str(ctx.audit())


async def test_calls_are_counted_by_outcome(context: MakeContext, server: HttpTestServer) -> None:
    def count(outcome: str) -> float:
        value = REGISTRY.get_sample_value("alloy_script_http_calls_total", {"outcome": outcome})
        return value or 0.0

    ok, denied = count("ok"), count("denied")
    ctx = context()
    await http_get(ctx, server.url("/json"))
    with pytest.raises(Exception, match="egress denied"):
        await http_get(ctx, "http://127.0.0.1:2/")
    assert count("ok") == ok + 1
    assert count("denied") == denied + 1


async def test_client_span_propagates_traceparent(
    context: MakeContext, server: HttpTestServer, spans: object
) -> None:
    ctx = context()
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("script.execute") as parent:
        result = await http_get(ctx, server.url("/echo"))
    sent = result["json"]["headers"]["traceparent"]
    trace_id = format(parent.get_span_context().trace_id, "032x")
    assert sent.split("-")[1] == trace_id
    finished = [s for s in spans.get_finished_spans() if s.name == "HTTP GET"]  # type: ignore[attr-defined]
    assert len(finished) == 1
    client_span = finished[0]
    assert client_span.kind is trace.SpanKind.CLIENT
    assert client_span.parent.span_id == parent.get_span_context().span_id
    assert sent.split("-")[2] == format(client_span.context.span_id, "016x")
    assert client_span.attributes["http.response.status_code"] == 200


async def test_a_name_is_resolved_once_and_connected_to_as_vetted(
    server: HttpTestServer,
) -> None:
    """The resolver is asked once; the connection goes to its answer although the system
    resolver does not know the name; the Host header keeps the name."""
    asked: list[str] = []

    async def resolver(host: str, port: int) -> Sequence[IPAddress]:
        asked.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    bridge = HttpBridge(HttpCaps(private_networks=LOOPBACK), resolver=resolver)
    try:
        ctx = bridge.context(AllowList.parse([f"api.alloy.test:{server.port}"]))
        result = await http_get(ctx, f"http://api.alloy.test:{server.port}/echo")
        assert result["json"]["headers"]["host"] == f"api.alloy.test:{server.port}"
        assert asked == ["api.alloy.test"]
    finally:
        await bridge.aclose()


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> ScratchCa:
    return ScratchCa(tmp_path_factory.mktemp("ca"))


async def test_https_keeps_the_name_for_sni_and_the_certificate(ca: ScratchCa) -> None:
    server = HttpTestServer(tls=ca.server_context("api.alloy.test"))

    async def resolver(host: str, port: int) -> Sequence[IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")]

    bridge = HttpBridge(
        HttpCaps(private_networks=LOOPBACK), resolver=resolver, ssl_context=ca.client_context()
    )
    try:
        ctx = bridge.context(AllowList.parse([f"api.alloy.test:{server.port}"]))
        result = await http_get(ctx, f"https://api.alloy.test:{server.port}/echo")
        assert result["status"] == 200
        assert result["json"]["headers"]["host"] == f"api.alloy.test:{server.port}"
    finally:
        await bridge.aclose()
        server.close()


async def test_tls_failures_are_clear_errors(ca: ScratchCa) -> None:
    server = HttpTestServer(tls=ca.server_context("api.alloy.test"))
    untrusting = HttpBridge(HttpCaps(private_networks=LOOPBACK))  # the public CAs only
    trusting = HttpBridge(HttpCaps(private_networks=LOOPBACK), ssl_context=ca.client_context())
    try:
        for bridge in (untrusting, trusting):  # unknown CA; then a name the cert does not carry
            ctx = bridge.context(AllowList.parse([f"127.0.0.1:{server.port}"]))
            with pytest.raises(HttpError) as caught:
                await http_get(ctx, f"https://127.0.0.1:{server.port}/json")
            assert caught.value.reason == "tls"
            assert "certificate" in str(caught.value)
            assert ctx.audit()[0]["outcome"] == "error"
        assert server.hits == []
    finally:
        await untrusting.aclose()
        await trusting.aclose()
        server.close()
