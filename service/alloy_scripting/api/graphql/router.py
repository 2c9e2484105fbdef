"""`/graphql` in the REST app: POST only, authenticated like REST, refused like REST.

Authentication and tenancy are REST's (`auth.current_caller`): a missing or invalid key is an
HTTP 401 (with ``WWW-Authenticate``), a key acting for another tenant a 403, before anything
is parsed. Those, and requests that are not GraphQL at all (no JSON object, no query), are
answered with a GraphQL error body whose ``extensions`` carry the problem, and the problem's
status. Everything else is HTTP 200 with the errors in the body.
"""

from __future__ import annotations

import json
from typing import Any

from cross_web import HTTPException
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from starlette import status
from starlette.exceptions import WebSocketException
from starlette.requests import HTTPConnection
from starlette.responses import Response
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from alloy_scripting.api.auth import current_caller
from alloy_scripting.api.deps import Ctx, get_runtime
from alloy_scripting.api.graphql.context import GraphQLContext
from alloy_scripting.api.graphql.errors import as_graphql_error
from alloy_scripting.api.graphql.schema import build_schema
from alloy_scripting.api.problems import ProblemError, problem_body
from alloy_scripting.settings import Settings

PATH = "/graphql"
_bearer = HTTPBearer(auto_error=False)


class GraphQLRefused(Exception):
    """A request refused before GraphQL runs (auth, tenancy, not GraphQL)."""

    def __init__(self, problem: ProblemError) -> None:
        super().__init__(problem.detail)
        self.problem = problem


def refusal_response(problem: ProblemError) -> JSONResponse:
    body = problem_body(problem.kind, problem.detail, **problem.extensions)
    return JSONResponse(
        {
            "data": None,
            "errors": [{"message": problem.detail or body["title"], "extensions": body}],
        },
        status_code=problem.status,
        headers=problem.headers,
    )


async def graphql_context(connection: HTTPConnection) -> GraphQLContext:
    """The caller, authenticated as REST does; WebSockets (subscriptions) are not served."""
    if not isinstance(connection, Request):
        raise WebSocketException(
            status.WS_1008_POLICY_VIOLATION, "GraphQL over WebSocket is not served"
        )
    try:
        caller = await current_caller(
            connection,
            await _bearer(connection),
            connection.headers.get("x-tenant-id"),
            connection.headers.get("x-user-id"),
        )
    except ProblemError as exc:
        raise GraphQLRefused(exc) from exc
    return GraphQLContext(Ctx(get_runtime(connection), caller))


class AlloyGraphQLRouter(GraphQLRouter[GraphQLContext, None]):
    """Strawberry's router, answering its HTTP-level refusals as GraphQL errors."""

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as exc:
            kind = {404: "not-found", 405: "method-not-allowed"}.get(
                exc.status_code, "malformed-request"
            )
            return refusal_response(ProblemError(kind, exc.reason))

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Every error leaves as its REST problem (`errors.as_graphql_error`): the one place
        all results pass, including those of failures inside Strawberry's own steps."""
        if result.errors:
            result.errors = [as_graphql_error(e) for e in result.errors]
        return await super().process_result(request, result)

    def parse_json(self, data: str | bytes) -> Any:
        """A JSON object (no batches), refused cleanly however the body is broken; `NaN`
        and `Infinity` are not JSON (as in REST)."""
        try:
            parsed = json.loads(data, parse_constant=_not_json)
        except (ValueError, RecursionError) as exc:
            raise HTTPException(400, "the body is not valid JSON") from exc
        if not isinstance(parsed, dict):
            raise HTTPException(400, "the body must be a JSON object with a `query`")
        return parsed


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


async def _on_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GraphQLRefused)
    return refusal_response(exc.problem)


def mount_graphql(app: FastAPI, settings: Settings) -> None:
    """Adds `/graphql` (POST) to `app`, with the limits of `settings`."""
    router = AlloyGraphQLRouter(
        build_schema(settings),
        path=PATH,
        graphql_ide=None,
        allow_queries_via_get=False,
        context_getter=graphql_context,
        subscription_protocols=(),
        include_in_schema=False,
    )
    app.include_router(router)
    app.add_exception_handler(GraphQLRefused, _on_refused)
