"""Failures as MCP tool errors carrying the REST API's problem (same `type` URIs).

Whatever a tool raises (a `ProblemError`, a storage error, invalid arguments, the REST API's
`ApiError` behind the stdio bridge) becomes a `CallToolResult` with `isError`, the problem
as structured content and as JSON text. Anything else stays the SDK's generic crash answer.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from mcp_types import CallToolResult, TextContent
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure

from alloy_scripting.api.problems import (
    ProblemError,
    problem_body,
    storage_problem,
    type_uri,
    validation_problem,
)
from alloy_scripting.client.rest import ApiError
from alloy_scripting.storage.errors import StorageError


def _body(problem: ProblemError) -> dict[str, Any]:
    return problem_body(problem.kind, problem.detail, **problem.extensions)


def problem_of(exc: BaseException) -> dict[str, Any] | None:
    """The problem `exc` stands for, or None for an unexpected error."""
    if isinstance(exc, ApiError):
        return {"type": type_uri("internal"), "title": "Error", "status": exc.status} | (
            exc.problem
        )
    if isinstance(exc, ProblemError):
        return _body(exc)
    if isinstance(exc, StorageError):
        return _body(storage_problem(exc))
    if isinstance(exc, ValidationError):
        return _body(validation_problem(exc.errors()))
    if isinstance(exc, ConnectionFailure):
        return problem_body("unavailable", "the database does not answer; retry later")
    if isinstance(exc, httpx.TransportError):
        return problem_body("unavailable", f"the alloy-scripting service does not answer: {exc}")
    return None


def tool_error(problem: dict[str, Any]) -> CallToolResult:
    text = json.dumps(problem, ensure_ascii=False, default=str)
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=problem, is_error=True
    )
