"""`create_api(runtime)`: the FastAPI application of the management REST API.

Open endpoints (no API key): ``/health/live``, ``/health/ready``, ``/metrics``, ``/asyncapi``,
``/openapi.json`` and ``/docs``. Everything under ``/scripts``, ``/egress``, ``/state``,
``/api/``, ``/api-endpoints``, ``/graphql`` and the MCP endpoint ``/mcp`` needs
``Authorization: Bearer`` unless ``settings.auth_disabled``. Every REST error is
``application/problem+json``; GraphQL errors carry the same problem in ``extensions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace

from alloy_scripting import telemetry
from alloy_scripting.api import (
    routes_authoring,
    routes_egress,
    routes_endpoints,
    routes_executions,
    routes_health,
    routes_lifecycle,
    routes_runs,
    routes_scripts,
    routes_shadow,
    routes_state,
    routes_templates,
)
from alloy_scripting.api.auth import KeyRing
from alloy_scripting.api.graphql import mount_graphql
from alloy_scripting.api.limits import BodyLimitMiddleware
from alloy_scripting.api.mcp.http import McpHttp
from alloy_scripting.api.metrics import HttpMetricsMiddleware
from alloy_scripting.api.problems import PROBLEM_MEDIA_TYPE, Problem, install_problem_handlers
from alloy_scripting.runner.service import Runtime

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_ERRORS = {
    "400": "Malformed request (e.g. invalid JSON).",
    "401": "Missing or invalid API key.",
    "403": "The API key may not act for that tenant.",
    "404": "Not found (another tenant's script is not found either).",
    "409": "Conflict: duplicate name, stale revision, not runnable, failing fixtures, or an "
    "endpoint already served.",
    "412": "If-Match does not match the current ETag.",
    "413": "The body exceeds the configured size cap.",
    "422": "Validation failed (fields, or the script's diagnostics).",
}


def create_api(runtime: Runtime, *, asyncapi: Mapping[str, Any] | None = None) -> FastAPI:
    """The REST API over `runtime`; `asyncapi` is the Kafka contract served at `/asyncapi`
    (the edge describes it: the API does not reach into the messaging layer)."""
    key_ring = KeyRing(runtime.settings)
    mcp = McpHttp(runtime, key_ring, asyncapi)
    app = FastAPI(
        title="alloy-scripting",
        summary="Manage and run sandboxed business scripts.",
        version="0.1.0",
        lifespan=mcp.lifespan,
    )
    app.state.runtime = runtime
    app.state.asyncapi = asyncapi
    app.state.key_ring = key_ring
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=runtime.settings.max_body_bytes)
    app.add_middleware(HttpMetricsMiddleware)
    app.include_router(routes_authoring.router)
    app.include_router(routes_scripts.router)
    app.include_router(routes_endpoints.router)
    app.include_router(routes_runs.router)
    app.include_router(routes_executions.router)
    app.include_router(routes_lifecycle.router)
    app.include_router(routes_shadow.router)
    app.include_router(routes_egress.router)
    app.include_router(routes_health.router)
    mount_graphql(app, runtime.settings)
    app.router.routes.append(mcp.route())
    app.include_router(routes_state.router)
    app.include_router(routes_templates.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_problems(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    if telemetry.tracing_active():  # a server span per request; nothing at all without tracing
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=trace.get_tracer_provider(), excluded_urls="/metrics,/health/.*"
        )
    return app


def _with_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Document errors as they are: problem+json, on every operation."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for path, operations in schema.get("paths", {}).items():
        secured = path.startswith(
            ("/scripts", "/egress", "/state", "/api/", "/api-endpoints", "/templates")
        )
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, text in _ERRORS.items():
                if code in ("401", "403") and not secured:
                    continue
                responses.setdefault(code, {"description": text})
            for code, response in responses.items():
                if code.isdigit() and int(code) >= 400:
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}
            responses.setdefault(
                "default",
                {
                    "description": "Any other error.",
                    "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}},
                },
            )
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema
