"""Open endpoints (no API key): health probes, Prometheus metrics, the AsyncAPI document."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from alloy_scripting.api.deps import get_runtime
from alloy_scripting.api.problems import problem_response
from alloy_scripting.api.schemas import Liveness, Readiness
from alloy_scripting.runner.service import Runtime

router = APIRouter(tags=["operations"])
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@router.get("/health/live", summary="Liveness (open)")
async def live(runtime: RuntimeDep) -> Liveness:
    """The process answers."""
    return Liveness(status="ok", instance_id=runtime.instance_id)


@router.get(
    "/health/ready",
    summary="Readiness (open)",
    response_model=Readiness,
    responses={503: {"description": "A dependency (Kafka, MongoDB) does not answer."}},
)
async def ready(runtime: RuntimeDep) -> Any:
    """Ready when every readiness check (Kafka, MongoDB) passes; otherwise 503 naming them."""
    checks = await runtime.readiness()
    failing = sorted(name for name, ok in checks.items() if not ok)
    if failing:
        return problem_response(
            "not-ready", f"not ready: {', '.join(failing)}", checks=checks, failing=failing
        )
    return Readiness(status="ready", checks=checks)


@router.get(
    "/metrics",
    summary="Prometheus metrics (open)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/asyncapi",
    summary="The AsyncAPI document of the Kafka surface (open)",
    response_model=dict[str, Any],
)
async def asyncapi(request: Request) -> Any:
    """The contract as this instance serves it (its topic prefix, its bootstrap servers)."""
    document = request.app.state.asyncapi
    if document is None:
        return problem_response("unavailable", "this instance serves no AsyncAPI document")
    return JSONResponse(document)
