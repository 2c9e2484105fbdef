"""The template tools over both transports, on a real server with FerretDB behind: streamable
HTTP (`LocalBackend`) and stdio (`alloy-scripting mcp`, `RemoteBackend` through REST)."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.api.test_mcp_transports import over_http, over_stdio, server_url
from tests.unit.api import mcp_template_flows
from tests.unit.api.fixtures import KEY

__all__ = ["server_url"]

pytestmark = pytest.mark.integration


def tenant(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_http_templates(server_url: str) -> None:
    async with over_http(server_url, KEY, **{"X-Tenant-Id": tenant("http-tpl")}) as client:
        await mcp_template_flows.check_templates(client)


async def test_http_tenant_templates_are_isolated(server_url: str) -> None:
    async with (
        over_http(server_url, KEY, **{"X-Tenant-Id": tenant("http-a")}) as a,
        over_http(server_url, KEY, **{"X-Tenant-Id": tenant("http-b")}) as b,
    ):
        await mcp_template_flows.check_template_isolation(a, b)


async def test_stdio_templates(server_url: str) -> None:
    async with over_stdio(server_url, KEY, tenant("stdio-tpl")) as client:
        await mcp_template_flows.check_templates(client)


async def test_stdio_tenant_templates_are_isolated(server_url: str) -> None:
    async with (
        over_stdio(server_url, KEY, tenant("stdio-a")) as a,
        over_stdio(server_url, KEY, tenant("stdio-b")) as b,
    ):
        await mcp_template_flows.check_template_isolation(a, b)
