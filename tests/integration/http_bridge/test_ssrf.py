"""Every SSRF form aimed at a canary server on 127.0.0.1: it must see zero connections.

Two operator set-ups. With the loopback network opened by the operator and only the main
server's port allowed, the allow-list stops every form (other port, redirect, userinfo,
each spelling of the address). With no private network opened, the tenant's allow-list
names the canary in every spelling, so the address rule is what stops each of them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import quote

import pytest

from alloy_scripting.bridge.http import (
    AllowList,
    EgressDenied,
    HttpBridge,
    HttpBridgeError,
    HttpCaps,
    InvalidHttpRequest,
    http_get,
    http_request,
)
from alloy_scripting.bridge.http.addresses import IPAddress
from tests.http_servers import HttpTestServer
from tests.integration.http_bridge.conftest import LOOPBACK, MakeContext

SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "2130706433",
    "0x7f000001",
    "0x7f.0.0.1",
    "0x7f.1",
    "017700000001",
    "0177.0.0.1",
    "0177.0.0.01",
    "127.000.000.001",
    "127.0.0.1.",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::127.0.0.1]",
    "localhost",
    "LOCALHOST",
    "localhost.",
]
#: dotted quads with leading zeros: the URL parser refuses them outright (malformed URL)
MALFORMED = {"0177.0.0.1", "0177.0.0.01", "127.000.000.001"}
UNSPECIFIED = ["0.0.0.0", "0", "[::]"]
WRAPPED = ["[64:ff9b::7f00:1]", "[2002:7f00:1::]", "[::1]"]


async def _refused(ctx: object, url: str, method: str = "GET") -> HttpBridgeError:
    with pytest.raises(HttpBridgeError) as caught:
        await http_request(ctx, method, url)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize("host", [*SPELLINGS, *UNSPECIFIED, *WRAPPED])
async def test_every_spelling_of_the_canary_outside_the_allow_list(
    context: MakeContext, trap: HttpTestServer, host: str
) -> None:
    error = await _refused(context(), f"http://{host}:{trap.port}/")
    if host in MALFORMED:
        assert isinstance(error, InvalidHttpRequest) and "IPv4" in str(error)
    else:
        assert isinstance(error, EgressDenied)
        assert error.rule == "not_in_allow_list"
    assert trap.connections == 0


@pytest.mark.parametrize("host", [*SPELLINGS, *UNSPECIFIED, *WRAPPED])
async def test_every_spelling_refused_as_non_public_even_when_allow_listed(
    trap: HttpTestServer, host: str
) -> None:
    bridge = HttpBridge(HttpCaps())  # the operator opened no private network
    allow = AllowList.parse([f"{h}:{trap.port}" for h in [*SPELLINGS, *UNSPECIFIED, *WRAPPED]])
    try:
        error = await _refused(bridge.context(allow), f"http://{host}:{trap.port}/")
        if host in MALFORMED:
            assert isinstance(error, InvalidHttpRequest) and "IPv4" in str(error)
        else:
            assert isinstance(error, EgressDenied)
            assert error.rule == "non_public_address"
    finally:
        await bridge.aclose()
    assert trap.connections == 0


async def test_spellings_become_the_address_they_mean(
    context: MakeContext, server: HttpTestServer
) -> None:
    """Allowed as 127.0.0.1:<port>, every IPv4 spelling reaches that address (and is
    audited under its canonical form)."""
    ctx = context()
    for host in ["2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]"]:
        result = await http_get(ctx, f"http://{host}:{server.port}/json")
        assert result["status"] == 200
    assert {call["host"] for call in ctx.audit()} == {"127.0.0.1"}


async def test_other_port_of_an_allowed_host(context: MakeContext, trap: HttpTestServer) -> None:
    error = await _refused(context(), trap.url("/"))
    assert isinstance(error, EgressDenied) and error.rule == "not_in_allow_list"
    assert f"127.0.0.1:{trap.port}" in str(error)
    assert trap.connections == 0


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "localhost", "[::ffff:127.0.0.1]"])
async def test_redirect_to_the_canary(
    context: MakeContext, server: HttpTestServer, trap: HttpTestServer, status: int, host: str
) -> None:
    ctx = context()
    target = quote(f"http://{host}:{trap.port}/latest/meta-data", safe="")
    error = await _refused(ctx, server.url(f"/redirect-to?status={status}&url={target}"))
    assert isinstance(error, EgressDenied)
    assert error.rule == "not_in_allow_list"
    assert "redirect refused" in str(error)
    assert trap.connections == 0
    assert ctx.audit()[0]["port"] == trap.port  # the refused hop is what the audit shows


async def test_redirect_to_another_scheme_or_userinfo(
    context: MakeContext, server: HttpTestServer, trap: HttpTestServer
) -> None:
    for location, rule in [
        ("file:///etc/passwd", "scheme"),
        (f"gopher://127.0.0.1:{trap.port}/", "scheme"),
        (f"http://127.0.0.1:{server.port}@127.0.0.1:{trap.port}/", "userinfo"),
    ]:
        error = await _refused(
            context(), server.url(f"/redirect-to?url={quote(location, safe='')}")
        )
        assert isinstance(error, EgressDenied) and error.rule == rule, location
    assert trap.connections == 0


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{good}@127.0.0.1:{trap}/",
        "http://user:pass@127.0.0.1:{good}/",
        "http://127.0.0.1:{good}\\@127.0.0.1:{trap}/",
        "http://@127.0.0.1:{good}/",
    ],
)
async def test_userinfo_is_refused(
    context: MakeContext, server: HttpTestServer, trap: HttpTestServer, template: str
) -> None:
    url = template.format(good=server.port, trap=trap.port)
    error = await _refused(context(), url)
    assert isinstance(error, EgressDenied) and error.rule == "userinfo"
    assert trap.connections == 0


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{trap}#@127.0.0.1:{good}/",
        "http://127.0.0.1:{trap}?@127.0.0.1:{good}/",
        "http://127.0.0.1:{trap}/127.0.0.1:{good}",
    ],
)
async def test_parser_confusion_goes_where_it_is_parsed(
    context: MakeContext, server: HttpTestServer, trap: HttpTestServer, template: str
) -> None:
    error = await _refused(context(), template.format(good=server.port, trap=trap.port))
    assert isinstance(error, EgressDenied)
    assert trap.connections == 0


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
        "dict://127.0.0.1:11211/",
        "//127.0.0.1/",
    ],
)
async def test_only_http_and_https(context: MakeContext, url: str) -> None:
    error = await _refused(context(), url)
    assert isinstance(error, EgressDenied | InvalidHttpRequest)
    if isinstance(error, EgressDenied):
        assert error.rule == "scheme"


async def test_wildcard_entries_do_not_open_private_networks(trap: HttpTestServer) -> None:
    async def resolver(host: str, port: int) -> Sequence[IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")]

    bridge = HttpBridge(HttpCaps(private_networks=LOOPBACK), resolver=resolver)
    try:
        ctx = bridge.context(AllowList.parse([f"*.alloy.test:{trap.port}"]))
        error = await _refused(ctx, f"http://svc.alloy.test:{trap.port}/")
        assert isinstance(error, EgressDenied) and error.rule == "private_needs_exact_entry"
    finally:
        await bridge.aclose()
    assert trap.connections == 0


async def test_a_name_with_any_non_public_answer_is_refused(trap: HttpTestServer) -> None:
    """DNS answers mixing a public and a private address (rebinding set-ups) are refused."""

    async def resolver(host: str, port: int) -> Sequence[IPAddress]:
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("127.0.0.1")]

    bridge = HttpBridge(HttpCaps(), resolver=resolver)
    try:
        ctx = bridge.context(AllowList.parse([f"rebind.alloy.test:{trap.port}"]))
        error = await _refused(ctx, f"http://rebind.alloy.test:{trap.port}/")
        assert isinstance(error, EgressDenied) and error.rule == "non_public_address"
        assert "127.0.0.1" in str(error)
    finally:
        await bridge.aclose()
    assert trap.connections == 0


async def test_metadata_and_other_special_addresses_are_refused() -> None:
    bridge = HttpBridge(HttpCaps())
    hosts = [
        "169.254.169.254", "[fd00:ec2::254]", "100.64.0.1", "10.0.0.1", "192.168.1.1",
        "172.16.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255", "[fe80::1]", "[ff02::1]",
        "[fc00::1]", "198.18.0.1", "[::ffff:169.254.169.254]", "[64:ff9b::a9fe:a9fe]",
        "[2002:a9fe:a9fe::]", "0xa9fea9fe", "2852039166",
    ]  # fmt: skip
    allow = AllowList.parse(hosts)
    try:
        for host in hosts:
            error = await _refused(bridge.context(allow), f"http://{host}/")
            assert isinstance(error, EgressDenied) and error.rule == "non_public_address", host
    finally:
        await bridge.aclose()
