"""/health/live, /health/ready, /metrics, /asyncapi, /openapi.json, /docs."""

from __future__ import annotations

import importlib

import httpx
import pytest

from alloy_scripting.runner.service import Runtime
from tests.unit.api.fixtures import assert_problem


async def test_live(anon: httpx.AsyncClient, runtime: Runtime) -> None:
    response = await anon.get("/health/live")
    assert response.json() == {"status": "ok", "instance_id": runtime.instance_id}


async def test_ready_when_all_checks_pass(anon: httpx.AsyncClient, runtime: Runtime) -> None:
    async def yes() -> bool:
        return True

    runtime.health_checks = {"kafka": yes, "mongodb": yes}
    response = await anon.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"kafka": True, "mongodb": True}}


async def test_not_ready_names_the_failing_checks(
    anon: httpx.AsyncClient, runtime: Runtime
) -> None:
    async def yes() -> bool:
        return True

    async def no() -> bool:
        return False

    async def broken() -> bool:
        raise ConnectionError("down")

    runtime.health_checks = {"kafka": no, "mongodb": yes, "other": broken}
    problem = assert_problem(await anon.get("/health/ready"), 503, "not-ready")
    assert problem["failing"] == ["kafka", "other"]
    assert problem["checks"] == {"kafka": False, "mongodb": True, "other": False}


async def test_metrics_are_prometheus_text(anon: httpx.AsyncClient) -> None:
    await anon.get("/scripts/some-id")
    response = await anon.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# HELP" in response.text and "# TYPE" in response.text
    assert (
        'alloy_http_requests_total{method="GET",route="/scripts/{script_id}",status="401"}'
        in response.text
    )


async def test_asyncapi(anon: httpx.AsyncClient) -> None:
    response = await anon.get("/asyncapi")
    try:
        importlib.import_module("alloy_scripting.messaging.contract")
    except ImportError:
        assert_problem(response, 503, "unavailable")
    else:
        assert response.status_code == 200
        assert "asyncapi" in response.json()


async def test_openapi_documents_every_operation(anon: httpx.AsyncClient) -> None:
    schema = (await anon.get("/openapi.json")).json()
    operations = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    assert operations >= {
        ("GET", "/scripts"),
        ("POST", "/scripts"),
        ("POST", "/scripts/validate"),
        ("GET", "/scripts/{script_id}"),
        ("PUT", "/scripts/{script_id}"),
        ("DELETE", "/scripts/{script_id}"),
        ("POST", "/scripts/{script_id}/run"),
        ("POST", "/scripts/name/{name}/run"),
        ("GET", "/scripts/{script_id}/executions"),
        ("POST", "/scripts/{script_id}/activate"),
        ("POST", "/scripts/{script_id}/disable"),
        ("POST", "/scripts/{script_id}/reset"),
        ("GET", "/scripts/{script_id}/versions"),
        ("GET", "/scripts/{script_id}/versions/{version}"),
        ("POST", "/scripts/{script_id}/rollback"),
        ("GET", "/health/live"),
        ("GET", "/health/ready"),
        ("GET", "/metrics"),
        ("GET", "/asyncapi"),
    }
    assert "Problem" in schema["components"]["schemas"]
    create = schema["paths"]["/scripts"]["post"]
    assert "application/problem+json" in create["responses"]["422"]["content"]
    assert create["security"] == [{"HTTPBearer": []}]
    assert "security" not in schema["paths"]["/health/live"]["get"]


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
async def test_docs_are_served(anon: httpx.AsyncClient, path: str) -> None:
    assert (await anon.get(path)).status_code == 200
