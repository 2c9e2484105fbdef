"""The MCP server over its real transports, on FerretDB: streamable HTTP at `/mcp` of a
uvicorn server (the REST app, its lifespan running the SDK's session manager), and stdio
(`alloy-scripting mcp` spawned against that server's REST API)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.unit.api import mcp_flows
from tests.unit.api.fixtures import ACME_KEY, INVALID_SOURCE, KEY, auth
from tests.uvicorn_servers import MongoBackedApi, in_thread

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "alloy-scripting")


@pytest.fixture(scope="module")
def server_url(mongodb_url: str) -> Iterator[str]:
    api = MongoBackedApi(mongodb_url, "t_mcp_")
    # must_stop: uvicorn, and the MCP session manager its lifespan runs, stop in time.
    with in_thread(api, lifespan="on", start_within=30, stop_within=15, must_stop=True) as url:
        yield url


def over_http(url: str, key: str | None, **headers: str) -> Client:
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    http = httpx2.AsyncClient(headers=headers, timeout=30)
    return Client(streamable_http_client(f"{url}/mcp", http_client=http))


def over_stdio(url: str, key: str, tenant: str | None = None) -> Client:
    args = ["mcp", "--url", url, "--api-key", key]
    if tenant is not None:
        args += ["--tenant", tenant]
    return Client(StdioServerParameters(command=CLI, args=args), read_timeout_seconds=60)


# -- streamable HTTP ---------------------------------------------------------------------------


async def test_http_tool_list(server_url: str) -> None:
    async with over_http(server_url, KEY) as client:
        await mcp_flows.check_tool_list(client)


async def test_http_create_validate_run_executions_update_delete(server_url: str) -> None:
    async with over_http(server_url, KEY, **{"X-Tenant-Id": "http-flow"}) as client:
        await mcp_flows.check_lifecycle(client)


async def test_http_tenant_a_never_sees_tenant_b(server_url: str) -> None:
    """The key bound to `acme` against an unbound key acting as another tenant."""
    async with (
        over_http(server_url, ACME_KEY) as acme,
        over_http(server_url, KEY, **{"X-Tenant-Id": "globex"}) as globex,
    ):
        await mcp_flows.check_tenant_isolation(acme, globex)
        await mcp_flows.check_tenant_isolation(globex, acme)


async def test_http_writes_are_the_rest_apis(server_url: str) -> None:
    """What the MCP endpoint creates is what REST reads, for that tenant only."""
    name = mcp_flows.fresh("shared")
    async with over_http(server_url, ACME_KEY) as client:
        created = await mcp_flows.ok(
            client,
            "alloy_create_script",
            name=name,
            source="x = 1\n",
            trigger={"type": "manual"},
        )
    async with httpx.AsyncClient(base_url=server_url) as http:
        mine = await http.get(f"/scripts/{created['id']}", headers=auth(ACME_KEY))
        theirs = await http.get(
            f"/scripts/{created['id']}", headers=auth(KEY, **{"X-Tenant-Id": "globex"})
        )
    assert mine.status_code == 200 and mine.json()["name"] == name
    assert mine.json()["tenant_id"] == "acme" and mine.json()["created_by"].startswith("key-")
    assert theirs.status_code == 404


async def test_http_invalid_input_and_catalogue_resources_prompt(server_url: str) -> None:
    async with over_http(server_url, KEY, **{"X-Tenant-Id": "http-misc"}) as client:
        await mcp_flows.check_invalid_input(client)
        await mcp_flows.check_catalogue(client)
        await mcp_flows.check_resources_and_prompt(client)


async def test_http_401_without_a_key(server_url: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(base_url=server_url, headers=headers) as http:
        missing = await http.post("/mcp", json=body)
        wrong = await http.post("/mcp", json=body, headers=auth("not-a-key"))
    for response in (missing, wrong):
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"] == "https://alloy-scripting.dev/problems/unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
    with pytest.raises(Exception):  # the SDK client cannot even connect without a key
        async with over_http(server_url, None) as client:
            await client.list_tools()


async def test_http_dns_rebinding_protection(server_url: str) -> None:
    """Hosts and origins outside the configured ones are refused, even with a valid key."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {**auth(KEY), "Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(base_url=server_url, headers=headers) as http:
        bad_host = await http.post("/mcp", json=body, headers={"Host": "evil.example"})
        bad_origin = await http.post("/mcp", json=body, headers={"Origin": "http://evil.example"})
    assert bad_host.status_code == 421, bad_host.text
    assert bad_origin.status_code == 403, bad_origin.text


# -- stdio -------------------------------------------------------------------------------------


async def test_stdio_create_validate_run_executions_update_delete(server_url: str) -> None:
    async with over_stdio(server_url, KEY, "stdio-flow") as client:
        await mcp_flows.check_tool_list(client)
        await mcp_flows.check_lifecycle(client)


async def test_stdio_tenant_a_never_sees_tenant_b(server_url: str) -> None:
    async with (
        over_stdio(server_url, ACME_KEY) as acme,
        over_stdio(server_url, KEY, "globex") as globex,
    ):
        await mcp_flows.check_tenant_isolation(acme, globex)


async def test_stdio_errors_carry_the_services_problems(server_url: str) -> None:
    async with over_stdio(server_url, KEY, "stdio-misc") as client:
        await mcp_flows.check_invalid_input(client)
        await mcp_flows.check_catalogue(client)
        await mcp_flows.check_resources_and_prompt(client)
        refused = await mcp_flows.problem(
            client,
            "alloy_create_script",
            "script-invalid",
            name=mcp_flows.fresh("bad"),
            source=INVALID_SOURCE,
            trigger={"type": "manual"},
        )
        assert refused["instance"] == "/scripts"  # the service's own problem, handed on


async def test_stdio_with_a_wrong_key_every_tool_is_unauthorized(server_url: str) -> None:
    async with over_stdio(server_url, "not-a-key") as client:
        found = await mcp_flows.problem(client, "alloy_list_scripts", "unauthorized")
        assert found["status"] == 401
