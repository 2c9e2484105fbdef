"""Fixtures shared by the API tests: the unit suite (in-memory stores) and the integration
suite (MongoDB), which overrides only `stores`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from alloy_scripting.api.app import create_api
from alloy_scripting.engine import create_default_engine
from alloy_scripting.messaging.contract import asyncapi_document
from alloy_scripting.runner.orchestrator import ScriptOrchestrator
from alloy_scripting.runner.service import Runtime
from alloy_scripting.settings import Settings
from alloy_scripting.storage import InMemoryStores
from alloy_scripting.storage.protocols import Stores

KEY = "test-key-unbound-0123456789"
ACME_KEY = "test-key-acme-0123456789"
API_KEYS = f"{KEY}, {ACME_KEY}:acme"

SEED_SOURCE = """\
if entity["amount"] < 100:
    abort("Minimum deal amount is 100")
if entity["amount"] > 100000:
    entity["status"] = "needs_approval"
"""
MANUAL_SOURCE = 'log("hello")\nemit("greeted", {"who": params.get("who", "nobody")})\n'
FAILING_SOURCE = 'raise ValueError("boom")\n'
INVALID_SOURCE = "total = undefined_thing + 1\n"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"api_keys": API_KEYS, "auth_disabled": False}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def make_runtime(stores: Stores, **overrides: Any) -> Runtime:
    engine = create_default_engine()
    orchestrator = ScriptOrchestrator(stores.scripts, engine, stores.executions)
    return Runtime(
        settings=make_settings(**overrides), stores=stores, engine=engine, orchestrator=orchestrator
    )


def make_api(runtime: Runtime) -> FastAPI:
    """The REST app as `serve` builds it: with the AsyncAPI document of its settings."""
    return create_api(runtime, asyncapi=asyncapi_document(runtime.settings))


def auth(key: str = KEY, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


def script_body(name: str = "validate_deal", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "source": SEED_SOURCE,
        "trigger": {"type": "event", "entity_type": "deal", "event": "before_create"},
    }
    body.update(fields)
    return body


def manual_body(name: str = "greeter", **fields: Any) -> dict[str, Any]:
    return script_body(name, **{"source": MANUAL_SOURCE, "trigger": {"type": "manual"}, **fields})


async def create(client: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = await client.post("/scripts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"https://alloy-scripting.dev/problems/{kind}"
    assert problem["status"] == status
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem.get("detail"), str) and problem["detail"]
    return problem


@pytest.fixture
async def stores() -> AsyncIterator[Stores]:
    yield InMemoryStores()


@pytest.fixture
def runtime(stores: Stores) -> Runtime:
    return make_runtime(stores)


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return make_api(runtime)


@pytest.fixture
def changes(runtime: Runtime) -> list[str | None]:
    """Tenants of every `scripts_changed` broadcast."""
    seen: list[str | None] = []

    async def listener(tenant_id: str | None) -> None:
        seen.append(tenant_id)

    runtime.orchestrator.change_listeners.append(listener)
    return seen


def client_for(app: FastAPI, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://api.test", headers=headers)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Authenticated with the unbound key, default tenant."""
    async with client_for(app, auth()) as c:
        yield c


@pytest.fixture
async def anon(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """No credentials."""
    async with client_for(app) as c:
        yield c


def cli_runner(url: str, tenant: str, key: str = KEY) -> CliRunner:
    """A command-line runner whose environment points at the REST API at ``url``, as ``tenant``."""
    return CliRunner(env={"ALLOY_API_URL": url, "ALLOY_API_KEY": key, "ALLOY_TENANT": tenant})
