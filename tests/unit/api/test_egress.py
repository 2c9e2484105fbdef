"""GET/PUT /egress: the tenant's allow-list over REST."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.unit.api.fixtures import ACME_KEY, assert_problem, auth, client_for

A = {"X-Tenant-Id": "tenant-a"}
B = {"X-Tenant-Id": "tenant-b"}


async def test_no_rules_means_an_empty_list(client: httpx.AsyncClient) -> None:
    response = await client.get("/egress", headers=A)
    assert response.status_code == 200
    assert response.json() == {
        "tenant_id": "tenant-a",
        "allow": [],
        "updated_at": None,
        "updated_by": None,
    }


async def test_put_stores_canonical_entries_per_tenant(client: httpx.AsyncClient) -> None:
    body = {
        "allow": ["API.Example.com", "*.hooks.example.com", "2130706433:8081", "api.example.com"]
    }
    response = await client.put("/egress", json=body, headers={**A, "X-User-Id": "ops"})
    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored["allow"] == ["api.example.com", "*.hooks.example.com", "127.0.0.1:8081"]
    assert stored["updated_by"] == "ops" and stored["updated_at"]
    assert (await client.get("/egress", headers=A)).json()["allow"] == stored["allow"]
    assert (await client.get("/egress", headers=B)).json()["allow"] == []
    assert (await client.get("/egress")).json()["allow"] == []  # the default tenant
    cleared = await client.put("/egress", json={"allow": []}, headers=A)
    assert cleared.json()["allow"] == []


async def test_bad_entries_are_a_validation_problem_naming_each(client: httpx.AsyncClient) -> None:
    body = {"allow": ["ok.example.com", "http://evil.example", "*.com", "a.example:99999"]}
    problem = assert_problem(await client.put("/egress", json=body, headers=A), 422, "validation")
    assert [e["loc"] for e in problem["errors"]] == [
        ["body", "allow", 1],
        ["body", "allow", 2],
        ["body", "allow", 3],
    ]
    assert (await client.get("/egress", headers=A)).json()["allow"] == []  # nothing stored


async def test_malformed_bodies(client: httpx.AsyncClient) -> None:
    for body in ({}, {"allow": "api.example.com"}, {"allow": [1]}, {"allow": [], "x": 1}):
        assert_problem(await client.put("/egress", json=body, headers=A), 422, "validation")
    assert_problem(
        await client.put("/egress", json={"allow": ["a.example"] * 201}, headers=A),
        422,
        "validation",
    )
    response = await client.put(
        "/egress", content=b"{not json", headers={**A, "Content-Type": "application/json"}
    )
    assert_problem(response, 400, "malformed-request")


async def test_same_auth_as_the_rest_of_the_api(app: FastAPI, anon: httpx.AsyncClient) -> None:
    assert_problem(await anon.get("/egress"), 401, "unauthorized")
    assert_problem(await anon.put("/egress", json={"allow": []}), 401, "unauthorized")
    async with client_for(app, auth(ACME_KEY)) as acme:
        assert_problem(await acme.get("/egress", headers=A), 403, "forbidden")
        stored = await acme.put("/egress", json={"allow": ["acme.example"]})
        assert stored.json()["tenant_id"] == "acme"
    schema = (await anon.get("/openapi.json")).json()
    assert schema["paths"]["/egress"]["put"]["security"] == [{"HTTPBearer": []}]
    assert "401" in schema["paths"]["/egress"]["get"]["responses"]
