"""The MCP server in memory (the SDK's own client, in-process), on in-memory stores."""

from __future__ import annotations

import httpx
import pytest
from mcp import Client

from alloy_scripting.api.app import create_api
from alloy_scripting.api.auth import Caller
from alloy_scripting.api.catalogue import helper_catalogue
from alloy_scripting.api.mcp.http import local_server, transport_security
from alloy_scripting.bridge.registry import REGISTRY
from alloy_scripting.messaging.contract import asyncapi_document
from alloy_scripting.runner.service import Runtime
from alloy_scripting.storage import InMemoryStores
from tests.unit.api import mcp_flows
from tests.unit.api.fixtures import auth, make_runtime, make_settings


@pytest.fixture
def runtime() -> Runtime:
    return make_runtime(InMemoryStores())


def connect(runtime: Runtime, tenant: str) -> Client:
    """An in-process client acting as `tenant`. Entered inside each test: the SDK's task
    groups must start and end in the same task (an async fixture would split them)."""
    return Client(
        local_server(
            runtime,
            Caller(tenant, f"agent-{tenant}"),
            asyncapi=asyncapi_document(runtime.settings),
        )
    )


async def test_tool_list(runtime: Runtime) -> None:
    async with connect(runtime, "acme") as acme:
        await mcp_flows.check_tool_list(acme)


async def test_create_validate_run_executions_update_delete(runtime: Runtime) -> None:
    async with connect(runtime, "acme") as acme:
        await mcp_flows.check_lifecycle(acme)


async def test_tenant_a_never_sees_tenant_b(runtime: Runtime) -> None:
    async with connect(runtime, "acme") as acme, connect(runtime, "globex") as globex:
        await mcp_flows.check_tenant_isolation(acme, globex)
        await mcp_flows.check_tenant_isolation(globex, acme)


async def test_invalid_input_is_a_tool_error_with_the_rest_problem(runtime: Runtime) -> None:
    async with connect(runtime, "acme") as acme:
        await mcp_flows.check_invalid_input(acme)


async def test_helper_catalogue_equals_the_registry(runtime: Runtime) -> None:
    async with connect(runtime, "acme") as acme:
        await mcp_flows.check_catalogue(acme)
    assert [h.name for h in helper_catalogue()] == list(REGISTRY)


async def test_resources_and_prompt(runtime: Runtime) -> None:
    async with connect(runtime, "acme") as acme:
        await mcp_flows.check_resources_and_prompt(acme)


async def test_a_before_event_is_required_by_the_prompt(runtime: Runtime) -> None:
    async with connect(runtime, "acme") as acme:
        with pytest.raises(Exception, match="event one of"):
            await acme.get_prompt(
                "write_before_hook", {"entity_type": "deal", "event": "after_create"}
            )


async def test_an_unknown_script_resource_is_not_found(runtime: Runtime) -> None:
    async with connect(runtime, "acme") as acme:
        with pytest.raises(Exception, match="not found"):
            await acme.read_resource("alloy://scripts/0123456789abcdef0123456789abcdef")


async def test_the_events_bound_are_listed(runtime: Runtime) -> None:
    async with connect(runtime, "acme") as acme:
        await _two_deal_scripts(acme)
        listing = await mcp_flows.ok(acme, "alloy_list_entity_types")
    assert listing["entity_types"] == [
        {"entity_type": "deal", "events": ["before_create", "after_update"], "scripts": 2}
    ]


async def _two_deal_scripts(acme: Client) -> None:
    name = mcp_flows.fresh("deal_hook")
    await mcp_flows.ok(
        acme,
        "alloy_create_script",
        name=name,
        source="x = 1\n",
        trigger={"type": "event", "entity_type": "deal", "event": "after_update"},
    )
    await mcp_flows.ok(
        acme,
        "alloy_create_script",
        name=name + "_2",
        source="x = 1\n",
        trigger=mcp_flows.DEAL_TRIGGER,
    )


async def test_without_a_caller_every_tool_is_unauthorized(runtime: Runtime) -> None:
    async with Client(
        local_server(runtime, asyncapi=asyncapi_document(runtime.settings))
    ) as client:
        await mcp_flows.problem(client, "alloy_list_scripts", "unauthorized")


async def test_rest_and_mcp_answer_the_same_problem(runtime: Runtime) -> None:
    api = create_api(runtime, asyncapi=asyncapi_document(runtime.settings))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://test"
    ) as http:
        body = {"name": "dup", "source": "x = 1\n", "trigger": {"type": "manual"}}
        assert (
            await http.post("/scripts", json=body, headers=auth("test-key-acme-0123456789"))
        ).status_code == 201
        rest = await http.post("/scripts", json=body, headers=auth("test-key-acme-0123456789"))
    async with connect(runtime, "acme") as acme:
        mcp = await mcp_flows.problem(acme, "alloy_create_script", "conflict", **body)
    assert rest.json()["type"] == mcp["type"] and rest.json()["name"] == mcp["name"] == "dup"


async def test_mcp_endpoint_refuses_a_missing_or_wrong_key(runtime: Runtime) -> None:
    """Authentication happens before the MCP transport (no lifespan needed to refuse)."""
    api = create_api(runtime, asyncapi=asyncapi_document(runtime.settings))
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://127.0.0.1"
    ) as http:
        missing = await http.post("/mcp", json=initialize)
        wrong = await http.post("/mcp", json=initialize, headers=auth("nope"))
        other_tenant = await http.post(
            "/mcp",
            json=initialize,
            headers=auth("test-key-acme-0123456789", **{"X-Tenant-Id": "globex"}),
        )
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["type"].endswith("/unauthorized")
    assert wrong.status_code == 401 and "invalid_token" in wrong.headers["www-authenticate"]
    assert other_tenant.status_code == 403 and other_tenant.json()["type"].endswith("/forbidden")


def test_dns_rebinding_protection_comes_from_the_settings() -> None:
    default = transport_security(make_settings())
    assert default.enable_dns_rebinding_protection
    assert "127.0.0.1:*" in default.allowed_hosts
    deployed = transport_security(
        make_settings(
            mcp_allowed_hosts="alloy.example.com, alloy.internal:8080",
            mcp_allowed_origins="https://agents.example.com",
        )
    )
    assert deployed.allowed_hosts == ["alloy.example.com", "alloy.internal:8080"]
    assert deployed.allowed_origins == ["https://agents.example.com"]
    assert not transport_security(
        make_settings(mcp_allowed_hosts="*")
    ).enable_dns_rebinding_protection
