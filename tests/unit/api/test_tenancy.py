"""X-Tenant-Id confines every call; tenant-bound keys act only as their tenant."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.unit.api.fixtures import ACME_KEY, assert_problem, auth, client_for, create, manual_body

A = {"X-Tenant-Id": "tenant-a"}
B = {"X-Tenant-Id": "tenant-b"}


async def test_another_tenants_script_is_not_found(client: httpx.AsyncClient) -> None:
    created = await create(client, manual_body("shared", status="active"), **A)
    sid = created["id"]
    assert created["tenant_id"] == "tenant-a"
    assert (await client.post(f"/scripts/{sid}/run", json={}, headers=A)).status_code == 200

    for headers in (B, {}):
        calls = [
            client.get(f"/scripts/{sid}", headers=headers),
            client.get("/scripts/name/shared", headers=headers),
            client.put(f"/scripts/{sid}", json={"description": "x"}, headers=headers),
            client.delete(f"/scripts/{sid}", headers=headers),
            client.post(f"/scripts/{sid}/run", json={}, headers=headers),
            client.post("/scripts/name/shared/run", json={}, headers=headers),
            client.get(f"/scripts/{sid}/executions", headers=headers),
            client.post(f"/scripts/{sid}/activate", headers=headers),
            client.post(f"/scripts/{sid}/disable", headers=headers),
            client.post(f"/scripts/{sid}/reset", headers=headers),
            client.get(f"/scripts/{sid}/versions", headers=headers),
            client.get(f"/scripts/{sid}/versions/1", headers=headers),
            client.post(f"/scripts/{sid}/rollback", json={"version": 1}, headers=headers),
        ]
        for call in calls:
            assert_problem(await call, 404, "not-found")
        listed = (await client.get("/scripts", headers=headers)).json()
        assert listed["total"] == 0 and listed["items"] == []

    still = (await client.get(f"/scripts/{sid}", headers=A)).json()
    assert still["description"] == "" and still["status"] == "active" and still["revision"] == 1
    assert (await client.get(f"/scripts/{sid}/executions", headers=A)).json()["total"] == 1


async def test_names_are_unique_per_tenant(client: httpx.AsyncClient) -> None:
    a = await create(client, manual_body("same"), **A)
    b = await create(client, manual_body("same"), **B)
    assert a["id"] != b["id"]
    assert (await client.get("/scripts/name/same", headers=B)).json()["id"] == b["id"]
    assert [s["id"] for s in (await client.get("/scripts", headers=A)).json()["items"]] == [a["id"]]


@pytest.fixture
async def acme(app: FastAPI) -> httpx.AsyncClient:
    return client_for(app, auth(ACME_KEY))


async def test_tenant_bound_key(client: httpx.AsyncClient, acme: httpx.AsyncClient) -> None:
    async with acme:
        created = await create(acme, manual_body("acme_script"))
        assert created["tenant_id"] == "acme"
        same = await acme.get(f"/scripts/{created['id']}", headers={"X-Tenant-Id": "acme"})
        assert same.status_code == 200
        for other in ("tenant-a", "ACME", "acme "):
            problem = assert_problem(
                await acme.get("/scripts", headers={"X-Tenant-Id": other}), 403, "forbidden"
            )
            assert "tenant" in problem["detail"]
        assert_problem(
            await acme.post("/scripts", json=manual_body("x"), headers={"X-Tenant-Id": "tenant-a"}),
            403,
            "forbidden",
        )
    # the unbound key sees acme's script only when acting as acme
    assert (
        await client.get(f"/scripts/{created['id']}", headers={"X-Tenant-Id": "acme"})
    ).status_code == 200
    assert_problem(await client.get(f"/scripts/{created['id']}"), 404, "not-found")


async def test_invalid_tenant_header_is_a_validation_problem(client: httpx.AsyncClient) -> None:
    for value in ("x" * 129, "   ", "a\tb"):
        assert_problem(
            await client.get("/scripts", headers={"X-Tenant-Id": value}), 422, "validation"
        )
    assert_problem(
        await client.get("/scripts", headers={"X-User-Id": "u" * 300}), 422, "validation"
    )
