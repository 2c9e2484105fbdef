"""Bearer API keys; open endpoints; auth_disabled."""

from __future__ import annotations

import httpx
import pytest

from alloy_scripting.api.auth import KeyRing, key_label, parse_api_keys
from alloy_scripting.storage import InMemoryStores
from tests.unit.api.fixtures import (
    KEY,
    assert_problem,
    client_for,
    make_api,
    make_runtime,
    make_settings,
    manual_body,
)

PROTECTED = [
    ("GET", "/scripts"),
    ("POST", "/scripts"),
    ("POST", "/scripts/validate"),
    ("GET", "/scripts/some-id"),
    ("PUT", "/scripts/some-id"),
    ("DELETE", "/scripts/some-id"),
    ("POST", "/scripts/some-id/run"),
    ("POST", "/scripts/name/some-name/run"),
    ("GET", "/scripts/some-id/executions"),
    ("POST", "/scripts/some-id/activate"),
    ("POST", "/scripts/some-id/disable"),
    ("POST", "/scripts/some-id/reset"),
    ("GET", "/scripts/some-id/versions"),
    ("GET", "/scripts/some-id/versions/1"),
    ("POST", "/scripts/some-id/rollback"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_protected_without_key(anon: httpx.AsyncClient, method: str, path: str) -> None:
    response = await anon.request(method, path, json={})
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong",
        f"Bearer {KEY}x",
        f"Bearer {KEY[:-1]}",
        f"Basic {KEY}",
        KEY,
        "Bearer",
        "Bearer  ",
    ],
)
async def test_invalid_credentials(anon: httpx.AsyncClient, authorization: str) -> None:
    response = await anon.get("/scripts", headers={"Authorization": authorization})
    assert_problem(response, 401, "unauthorized")
    assert "Bearer" in response.headers["www-authenticate"]


async def test_valid_key_and_case_insensitive_scheme(anon: httpx.AsyncClient) -> None:
    assert (
        await anon.get("/scripts", headers={"Authorization": f"Bearer {KEY}"})
    ).status_code == 200
    assert (
        await anon.get("/scripts", headers={"Authorization": f"bearer {KEY}"})
    ).status_code == 200


@pytest.mark.parametrize(
    "path", ["/health/live", "/health/ready", "/metrics", "/openapi.json", "/docs"]
)
async def test_open_endpoints(anon: httpx.AsyncClient, path: str) -> None:
    assert (await anon.get(path)).status_code == 200


async def test_auth_disabled_needs_no_key() -> None:
    app = make_api(make_runtime(InMemoryStores(), auth_disabled=True, api_keys=""))
    async with client_for(app) as c:
        created = await c.post("/scripts", json=manual_body())
        assert created.status_code == 201, created.text
        assert created.json()["created_by"] is None
        assert (await c.get("/scripts", headers={"X-Tenant-Id": "t1"})).json()["total"] == 0


async def test_no_keys_configured_refuses_everyone() -> None:
    app = make_api(make_runtime(InMemoryStores(), api_keys=""))
    async with client_for(app, {"Authorization": "Bearer "}) as c:
        assert_problem(await c.get("/scripts"), 401, "unauthorized")


def test_key_parsing_and_labels() -> None:
    keys = parse_api_keys(" k1 , k2:tenant-x,,k3: ,:orphan")
    assert [(k.secret, k.tenant_id) for k in keys] == [
        ("k1", None),
        ("k2", "tenant-x"),
        ("k3", None),
    ]
    ring = KeyRing(make_settings(api_keys="k1,k2:tenant-x"))
    assert ring.find("k2") is not None and ring.find("k2").tenant_id == "tenant-x"  # type: ignore[union-attr]
    assert ring.find("k") is None and ring.find("") is None
    label = key_label("k1")
    assert label.startswith("key-") and len(label) == 12 and "k1" not in label[4:]
