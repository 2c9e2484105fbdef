"""Servers and bridges for the HTTP bridge tests: real servers on 127.0.0.1.

The operator setting opens the loopback network (as `ALLOY_EGRESS_PRIVATE_NETWORKS` would),
and tenants name `127.0.0.1:<port>` of the servers they may call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from alloy_scripting.bridge.http import AllowList, HttpBridge, HttpCaps, HttpContext
from alloy_scripting.bridge.http.addresses import parse_networks
from tests.http_servers import HttpTestServer, canary

LOOPBACK = parse_networks("127.0.0.0/8, ::1/128")


@pytest.fixture(scope="module")
def server() -> Iterator[HttpTestServer]:
    running = HttpTestServer()
    yield running
    running.close()


@pytest.fixture(scope="module")
def other_server() -> Iterator[HttpTestServer]:
    running = HttpTestServer()
    yield running
    running.close()


@pytest.fixture
def trap() -> Iterator[HttpTestServer]:
    """A canary per test: any connection to it is a failed test."""
    running = canary()
    yield running
    running.close()


@pytest.fixture
async def bridge() -> AsyncIterator[HttpBridge]:
    made = HttpBridge(HttpCaps(private_networks=LOOPBACK))
    yield made
    await made.aclose()


MakeContext = Callable[..., HttpContext]


@pytest.fixture
def context(bridge: HttpBridge, server: HttpTestServer) -> MakeContext:
    """`context(*allow, **narrowed_caps)`; the allow-list defaults to the main server."""

    def make(*allow: str, **caps: Any) -> HttpContext:
        entries = allow or (f"127.0.0.1:{server.port}",)
        return bridge.context(AllowList.parse(entries), caps=bridge.caps.narrowed(**caps))

    return make
