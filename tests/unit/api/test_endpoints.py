"""API endpoints: `{METHOD} /api/{path}` runs the tenant's active script bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from alloy_scripting.engine import ScriptEngine
from alloy_scripting.engine.config import EngineConfig
from alloy_scripting.runner.orchestrator import ScriptOrchestrator
from alloy_scripting.runner.service import Runtime
from alloy_scripting.storage.protocols import Stores
from tests.unit.api.fixtures import (
    ACME_KEY,
    assert_problem,
    auth,
    client_for,
    create,
    make_api,
    make_runtime,
    make_settings,
    script_body,
)

A = {"X-Tenant-Id": "tenant-a"}
B = {"X-Tenant-Id": "tenant-b"}

SCORE = """\
amount = params["body"]["amount"]
if amount < 0:
    abort("amount must not be negative")
respond({"score": amount * 2, "region": params["query"].get("region")}, 201, {"X-Score": "yes"})
"""


def endpoint_body(
    name: str, source: str, method: str = "POST", path: str = "deals/score", **fields: Any
) -> dict[str, Any]:
    trigger = {"type": "api", "method": method, "path": path}
    return script_body(name, source=source, trigger=trigger, **fields)


async def test_routes_per_tenant_with_body_query_status_and_headers(
    client: httpx.AsyncClient,
) -> None:
    await create(client, endpoint_body("score", SCORE, status="active"), **A)
    other = 'respond({"tenant": "b", "body": params["body"]})\n'
    await create(client, endpoint_body("score_b", other, status="active"), **B)

    answer = await client.post("/api/deals/score?region=eu", json={"amount": 21}, headers=A)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"score": 42, "region": "eu"}
    assert answer.headers["x-score"] == "yes"
    assert answer.headers["content-type"] == "application/json"

    answer = await client.post("/api/deals/score", json={"amount": 1}, headers=B)
    assert answer.status_code == 200
    assert answer.json() == {"tenant": "b", "body": {"amount": 1}}

    # the default tenant has no such endpoint, nor another method or path
    assert_problem(await client.post("/api/deals/score", json={"amount": 1}), 404, "not-found")
    assert_problem(await client.get("/api/deals/score", headers=A), 404, "not-found")
    assert_problem(await client.post("/api/deals/other", json={}, headers=A), 404, "not-found")


async def test_repeated_query_keys_become_lists(client: httpx.AsyncClient) -> None:
    source = 'respond({"query": params["query"], "body": params["body"]})\n'
    await create(client, endpoint_body("echo", source, method="GET", path="echo", status="active"))
    answer = await client.get("/api/echo?tag=a&tag=b&one=1")
    assert answer.status_code == 200
    assert answer.json() == {"query": {"tag": ["a", "b"], "one": "1"}, "body": None}


async def test_no_respond_is_204_and_the_run_is_logged(client: httpx.AsyncClient) -> None:
    created = await create(
        client,
        endpoint_body("quiet", 'log("called")\n', method="DELETE", path="x", status="active"),
    )
    answer = await client.delete("/api/x")
    assert answer.status_code == 204 and answer.content == b""
    log = (await client.get(f"/scripts/{created['id']}/executions")).json()
    assert log["total"] == 1 and log["items"][0]["phase"] == "api"


async def test_errors_map_to_problems(client: httpx.AsyncClient) -> None:
    await create(client, endpoint_body("score", SCORE, status="active"))
    problem = assert_problem(
        await client.post("/api/deals/score", json={"amount": -1}), 422, "script-aborted"
    )
    assert problem["detail"] == "amount must not be negative"

    failing = endpoint_body("boom", 'raise ValueError("boom")\n', path="boom", status="active")
    await create(client, failing)
    problem = assert_problem(await client.post("/api/boom", json={}), 500, "script-failed")
    assert "boom" in problem["detail"]

    huge = endpoint_body("huge", 'x = "a" * 10**9\n', path="huge", status="active")
    await create(client, huge)
    problem = assert_problem(await client.post("/api/huge"), 500, "script-failed")
    assert problem["limit"] == "string_size"

    assert_problem(
        await client.post("/api/deals/score", content=b"{not json"), 400, "malformed-request"
    )


@pytest.fixture
async def patient(stores: Stores) -> AsyncIterator[httpx.AsyncClient]:
    """An API whose engine has a short timeout and an operation budget it never reaches."""
    engine = ScriptEngine(EngineConfig(max_operations=10**9, timeout=0.05))
    runtime = Runtime(
        settings=make_settings(),
        stores=stores,
        engine=engine,
        orchestrator=ScriptOrchestrator(stores.scripts, engine, stores.executions),
    )
    async with client_for(make_api(runtime), auth()) as c:
        yield c


async def test_a_timeout_is_504(patient: httpx.AsyncClient) -> None:
    busy = endpoint_body("busy", "x = 0\nwhile True:\n    x += 1\n", path="busy", status="active")
    await create(patient, busy)
    problem = assert_problem(await patient.post("/api/busy"), 504, "script-timeout")
    assert "timeout" in problem["detail"]


async def test_respond_headers_and_status_are_checked(client: httpx.AsyncClient) -> None:
    cases = {
        "cookie": 'respond({}, 200, {"Set-Cookie": "session=1"})\n',
        "split": 'respond({}, 200, {"X-A": "a\\r\\nSet-Cookie: x=1"})\n',
        "hop": 'respond({}, 200, {"Transfer-Encoding": "chunked"})\n',
        "cors": 'respond({}, 200, {"Access-Control-Allow-Origin": "*"})\n',
        "redirect": "respond({}, 302)\n",
        "status": 'respond({}, "200")\n',
    }
    for path, source in cases.items():
        await create(client, endpoint_body(path, source, path=path, status="active"))
        problem = assert_problem(await client.post(f"/api/{path}"), 500, "script-failed")
        assert "respond()" in problem["detail"], (path, problem)


async def test_respond_is_refused_outside_the_api_phase(client: httpx.AsyncClient) -> None:
    body = script_body("manual_respond", source="respond({})\n", trigger={"type": "manual"})
    problem = assert_problem(await client.post("/scripts", json=body), 422, "script-invalid")
    assert "respond() is not available in the 'manual' phase" in problem["detail"]


async def test_one_active_script_per_endpoint(client: httpx.AsyncClient) -> None:
    first = await create(client, endpoint_body("first", SCORE, status="active"))
    second = await create(client, endpoint_body("second", SCORE))
    problem = assert_problem(
        await client.post(f"/scripts/{second['id']}/activate"), 409, "endpoint-taken"
    )
    assert problem["script_id"] == first["id"]
    assert_problem(
        await client.post("/scripts", json=endpoint_body("third", SCORE, status="active")),
        409,
        "endpoint-taken",
    )
    # another tenant, another method or a disabled first script leave the route free
    await create(client, endpoint_body("first", SCORE, status="active"), **A)
    await create(client, endpoint_body("put", SCORE, method="PUT", status="active"))
    await client.post(f"/scripts/{first['id']}/disable")
    activated = await client.post(f"/scripts/{second['id']}/activate")
    assert activated.status_code == 200, activated.text
    # re-enabling the first one now collides
    assert_problem(await client.post(f"/scripts/{first['id']}/reset"), 409, "endpoint-taken")


async def test_api_endpoints_lists_the_tenants_routes(client: httpx.AsyncClient) -> None:
    await create(client, endpoint_body("score", SCORE, status="active"))
    await create(client, endpoint_body("draft", SCORE, method="GET", path="deals/list"))
    legacy = script_body("legacy", source="x = 1\n", trigger={"type": "api", "name": "legacy"})
    await create(client, legacy)
    await create(client, endpoint_body("theirs", SCORE, path="elsewhere"), **A)
    listed = (await client.get("/api-endpoints")).json()
    assert listed["total"] == 2
    assert [(i["method"], i["path"], i["name"], i["status"]) for i in listed["items"]] == [
        ("GET", "deals/list", "draft", "draft"),
        ("POST", "deals/score", "score", "active"),
    ]


async def test_api_trigger_is_validated(client: httpx.AsyncClient) -> None:
    for trigger in (
        {"type": "api", "method": "POST"},
        {"type": "api", "method": "TRACE", "path": "x"},
        {"type": "api", "method": "GET", "path": "a/../b"},
        {"type": "api", "method": "GET", "path": "a b"},
        {"type": "api"},
    ):
        body = script_body("bad", source="x = 1\n", trigger=trigger)
        assert_problem(await client.post("/scripts", json=body), 422, "validation")


async def test_endpoints_need_an_api_key_and_honour_key_binding(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    await create(client, endpoint_body("score", SCORE, status="active"), **{"X-Tenant-Id": "acme"})
    assert_problem(await anon.post("/api/deals/score", json={"amount": 1}), 401, "unauthorized")
    async with client_for(client._transport.app, auth(ACME_KEY)) as acme:  # type: ignore[attr-defined]
        answer = await acme.post("/api/deals/score", json={"amount": 2})
        assert answer.status_code == 201 and answer.json()["score"] == 4
        assert_problem(
            await acme.post("/api/deals/score", json={"amount": 2}, headers=A), 403, "forbidden"
        )


@pytest.fixture
async def limited(stores: Stores) -> AsyncIterator[httpx.AsyncClient]:
    app = make_api(make_runtime(stores, api_rate_per_second=0.5, api_rate_burst=2))
    async with client_for(app, auth()) as c:
        yield c


async def test_rate_limit_per_tenant(limited: httpx.AsyncClient) -> None:
    source = 'respond({"ok": True})\n'
    for tenant in (A, B):
        await create(limited, endpoint_body("ok", source, path="ok", status="active"), **tenant)
    assert [(await limited.post("/api/ok", headers=A)).status_code for _ in range(2)] == [200, 200]
    problem = assert_problem(await limited.post("/api/ok", headers=A), 429, "rate-limited")
    assert problem["status"] == 429
    limited_answer = await limited.post("/api/ok", headers=A)
    assert limited_answer.status_code == 429
    assert int(limited_answer.headers["retry-after"]) in (1, 2)
    # another tenant has its own bucket; management calls are not limited
    assert (await limited.post("/api/ok", headers=B)).status_code == 200
    assert (await limited.get("/scripts", headers=A)).status_code == 200


async def test_the_generic_route_is_in_openapi(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    operations = schema["paths"]["/api/{path}"]
    assert set(operations) == {"get", "post", "put", "patch", "delete"}
    assert "429" in operations["post"]["responses"] and "401" in operations["post"]["responses"]
    assert "/api-endpoints" in schema["paths"]
    assert "/scripts/{script_id}/debug" in schema["paths"]
    assert "/scripts/{script_id}/test" in schema["paths"]
