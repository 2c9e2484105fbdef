"""``/state``: list, read and delete the caller's tenant's state documents."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from alloy_scripting.runner.service import Runtime
from tests.unit.api.fixtures import ACME_KEY, assert_problem, auth, client_for


@pytest.fixture
async def seeded(runtime: Runtime) -> Runtime:
    state = runtime.state
    await state.put(None, "customers", "c2", {"name": "Bob"})
    await state.put(None, "customers", "c1", {"name": "Ann", "visits": 3}, ttl_seconds=3600)
    await state.put(None, "customers", "a/b é", {"name": "Slash"})
    await state.put(None, "orders", "o1", {})
    await state.put("acme", "customers", "c1", {"name": "Acme's Ann"})
    return runtime


async def test_list_a_collection_by_key(client: httpx.AsyncClient, seeded: Runtime) -> None:
    response = await client.get("/state/customers")
    assert response.status_code == 200, response.text
    page = response.json()
    assert [item["key"] for item in page["items"]] == ["a/b é", "c1", "c2"]
    assert (page["total"], page["offset"], page["limit"]) == (3, 0, 50)
    first = page["items"][1]
    assert first["collection"] == "customers"
    assert first["doc"] == {"name": "Ann", "visits": 3}
    assert first["expires_at"] is not None and first["updated_at"]
    second = (await client.get("/state/customers", params={"offset": 1, "limit": 1})).json()
    assert [item["key"] for item in second["items"]] == ["c1"]
    assert second["total"] == 3
    empty = (await client.get("/state/nothing_here")).json()
    assert (empty["items"], empty["total"]) == ([], 0)


async def test_read_and_delete_one(client: httpx.AsyncClient, seeded: Runtime) -> None:
    response = await client.get("/state/customers/c2")
    assert response.status_code == 200
    assert response.json()["doc"] == {"name": "Bob"}
    slashed = await client.get("/state/customers/a%2Fb%20%C3%A9")
    assert slashed.status_code == 200 and slashed.json()["key"] == "a/b é"
    assert (await client.delete("/state/customers/c2")).status_code == 204
    assert_problem(await client.get("/state/customers/c2"), 404, "not-found")
    assert_problem(await client.delete("/state/customers/c2"), 404, "not-found")
    assert await seeded.state.get(None, "customers", "c2") is None
    assert await seeded.state.get(None, "customers", "c1") is not None


async def test_bad_names_are_validation_problems(
    client: httpx.AsyncClient, seeded: Runtime
) -> None:
    for path in ("/state/Customers", "/state/a.b", f"/state/{'x' * 65}", "/state/c%24/k"):
        assert_problem(await client.get(path), 422, "validation")
    assert_problem(await client.get(f"/state/customers/{'k' * 257}"), 422, "validation")
    assert_problem(await client.get("/state/customers/a%01b"), 422, "validation")
    assert_problem(await client.delete("/state/customers/a%00b"), 422, "validation")
    assert_problem(await client.get("/state/customers", params={"limit": 201}), 422, "validation")


async def test_tenants_see_only_their_own(
    app: FastAPI, client: httpx.AsyncClient, seeded: Runtime
) -> None:
    mine = (await client.get("/state/customers/c1")).json()
    assert mine["doc"]["name"] == "Ann"
    theirs = await client.get("/state/customers/c1", headers={"X-Tenant-Id": "acme"})
    assert theirs.json()["doc"]["name"] == "Acme's Ann"
    async with client_for(app, auth(ACME_KEY)) as acme:
        assert [i["key"] for i in (await acme.get("/state/customers")).json()["items"]] == ["c1"]
        assert_problem(await acme.get("/state/orders/o1"), 404, "not-found")
        assert_problem(await acme.delete("/state/orders/o1"), 404, "not-found")
        forbidden = await acme.get("/state/customers", headers={"X-Tenant-Id": "globex"})
        assert_problem(forbidden, 403, "forbidden")
    assert await seeded.state.get(None, "orders", "o1") is not None


async def test_state_needs_an_api_key(anon: httpx.AsyncClient, seeded: Runtime) -> None:
    assert_problem(await anon.get("/state/customers"), 401, "unauthorized")
    assert_problem(await anon.delete("/state/customers/c1"), 401, "unauthorized")
    assert await seeded.state.get(None, "customers", "c1") is not None


async def test_openapi_documents_state(anon: httpx.AsyncClient) -> None:
    paths = (await anon.get("/openapi.json")).json()["paths"]
    assert set(paths["/state/{collection}"]) == {"get"}
    assert set(paths["/state/{collection}/{key}"]) == {"get", "delete"}
    assert "401" in paths["/state/{collection}"]["get"]["responses"]
