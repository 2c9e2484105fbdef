"""API endpoints: ``{METHOD} /api/{path}`` runs the tenant's active script bound to that
method and path; ``GET /api-endpoints`` lists the tenant's endpoints."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from alloy_scripting.api import operations
from alloy_scripting.api.authoring_schemas import EndpointList, EndpointOut
from alloy_scripting.api.deps import CtxDep
from alloy_scripting.api.problems import ProblemError
from alloy_scripting.api.rate_limit import TenantRateLimiter
from alloy_scripting.model.json_check import check_json

router = APIRouter(tags=["endpoints"])

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

_CALL_DOC = """Runs the caller's tenant's **active** script whose trigger is
`{"type": "api", "method": <METHOD>, "path": <path>}`, in the `api` phase, with
`params["body"]` (the JSON body, or null) and `params["query"]` (the query string: a value,
or a list for a repeated key). The script answers with `respond(body, status, headers)`;
without it the answer is 204. `abort(reason)` gives 422 `script-aborted`; an error or a
limit 500 `script-failed`; a timeout 504 `script-timeout`; no such endpoint 404; more
requests than the tenant's rate 429 `rate-limited` with `Retry-After`."""


def _limiter(request: Request) -> TenantRateLimiter:
    state = request.app.state
    limiter: TenantRateLimiter | None = getattr(state, "endpoint_limiter", None)
    if limiter is None:
        settings = state.runtime.settings
        limiter = TenantRateLimiter(settings.api_rate_per_second, settings.api_rate_burst)
        state.endpoint_limiter = limiter
    return limiter


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ProblemError("malformed-request", "the body is not valid JSON") from error
    try:
        check_json(body)
    except ValueError as error:
        raise ProblemError("validation", str(error)) from None
    return body


def _query(request: Request) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in query:
            earlier = query[key]
            query[key] = [*earlier, value] if isinstance(earlier, list) else [earlier, value]
        else:
            query[key] = value
    try:
        check_json(query)
    except ValueError as error:
        raise ProblemError("validation", f"query: {error}") from None
    return query


async def call_endpoint(path: str, request: Request, ctx: CtxDep) -> Response:
    retry_after = _limiter(request).acquire(ctx.tenant_id)
    if retry_after is not None:
        raise ProblemError(
            "rate-limited",
            "too many requests to this tenant's API endpoints",
            headers={"Retry-After": str(retry_after)},
        )
    method = request.method
    script = await operations.find_endpoint(ctx.scripts, method, path.strip("/"))
    if script is None:
        raise ProblemError("not-found", f"no active script serves {method} /api/{path}")
    answer = await operations.call_endpoint(
        ctx.runtime,
        script,
        body=await _json_body(request),
        query=_query(request),
        tenant_id=ctx.tenant_id,
        user_id=ctx.caller.actor,
    )
    if answer.status == 204 and answer.body is None:
        return Response(status_code=204, headers=answer.headers)
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)


for _method in METHODS:
    router.add_api_route(
        "/api/{path:path}",
        call_endpoint,
        methods=[_method],
        name=f"call_endpoint_{_method.lower()}",
        summary=f"Call an API endpoint ({_method})",
        description=_CALL_DOC,
        response_class=JSONResponse,
        responses={
            204: {"description": "The script did not call respond()."},
            429: {"description": "Rate limited (see Retry-After)."},
            504: {"description": "The script timed out."},
        },
    )


@router.get("/api-endpoints", summary="The tenant's API endpoints")
async def list_endpoints(ctx: CtxDep) -> EndpointList:
    """Every API-triggered script bound to a route (any status), by method and path."""
    items = []
    for script in await operations.api_scripts(ctx.scripts, active_only=False):
        route = operations.route_of(script)
        if route is not None:
            items.append(
                EndpointOut(
                    method=route[0],
                    path=route[1],
                    script_id=script.id,
                    name=script.name,
                    status=script.status,
                )
            )
    items.sort(key=lambda item: (item.path, item.method, item.name))
    return EndpointList(items=items, total=len(items))
