"""RFC 9457 problem details (``application/problem+json``) and the exception handlers that
turn every error into one.

Each kind of error has a stable ``type`` URI under `PROBLEM_BASE`; clients branch on it,
never on ``title`` or ``detail``. Extension members (``errors``, ``diagnostics``, ``checks``)
carry machine-readable details.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException as StarletteHTTPException

from alloy_scripting.storage.errors import (
    DuplicateScriptName,
    ScriptNotFound,
    StorageError,
    TenantMismatch,
    VersionConflict,
    VersionNotFound,
)

logger = logging.getLogger("alloy.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://alloy-scripting.dev/problems/"

#: slug -> (HTTP status, title). The slugs are part of the API contract.
KINDS: dict[str, tuple[int, str]] = {
    "malformed-request": (400, "Malformed request"),
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "Forbidden"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "conflict": (409, "Conflict"),
    "precondition-failed": (412, "Precondition failed"),
    "payload-too-large": (413, "Payload too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "validation": (422, "Validation failed"),
    "script-invalid": (422, "Script does not validate"),
    "script-aborted": (422, "The script refused the request"),
    "fixtures-failing": (409, "The script's fixtures fail"),
    "endpoint-taken": (409, "Another active script serves this endpoint"),
    "not-replayable": (409, "The execution record keeps no input to replay"),
    "template-params-invalid": (422, "The template's parameters do not match its schema"),
    "template-builtin": (409, "Built-in templates cannot be changed"),
    "rate-limited": (429, "Too many requests"),
    "script-failed": (500, "The script failed"),
    "script-timeout": (504, "The script timed out"),
    "internal": (500, "Internal server error"),
    "unavailable": (503, "Service unavailable"),
    "not-ready": (503, "Not ready"),
}

_BY_STATUS = {
    400: "malformed-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation",
    503: "unavailable",
}


def type_uri(kind: str) -> str:
    return PROBLEM_BASE + kind


class Problem(BaseModel):
    """An RFC 9457 problem; extension members (``errors``, ``diagnostics``, ...) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="Stable URI naming the kind of error.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem."""

    def __init__(
        self,
        kind: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown problem kind {kind!r}")
        super().__init__(detail or KINDS[kind][1])
        self.kind = kind
        self.status = KINDS[kind][0]
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions


def problem_body(kind: str, detail: str | None = None, **extensions: Any) -> dict[str, Any]:
    status, title = KINDS[kind]
    body: dict[str, Any] = {"type": type_uri(kind), "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    body.update(extensions)
    return body


def problem_response(
    kind: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body = problem_body(kind, detail, **extensions)
    if instance is not None:
        body.setdefault("instance", instance)
    return JSONResponse(
        body, status_code=KINDS[kind][0], headers=dict(headers or {}), media_type=PROBLEM_MEDIA_TYPE
    )


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic / FastAPI errors without the (possibly huge or private) input values."""
    out: list[dict[str, Any]] = []
    for error in errors[:50]:
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        out.append(
            {"loc": loc, "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}
        )
    return out


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in errors[:5]]
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def validation_problem(errors: Sequence[Any]) -> ProblemError:
    """Field errors (pydantic's) as a problem: `validation`, or `malformed-request` for bad JSON."""
    found = field_errors(errors)
    if any(e["type"] == "json_invalid" for e in found):
        return ProblemError("malformed-request", "the body is not valid JSON", errors=found)
    return ProblemError("validation", _describe(found), errors=found)


def storage_problem(exc: StorageError) -> ProblemError:
    """The problem a storage error answers with on every API surface."""
    if isinstance(exc, ScriptNotFound | VersionNotFound):
        return ProblemError("not-found", str(exc))
    if isinstance(exc, DuplicateScriptName):
        return ProblemError("conflict", str(exc), name=exc.name)
    if isinstance(exc, VersionConflict):
        return ProblemError(
            "conflict", str(exc), expected_revision=exc.expected, revision=exc.actual
        )
    if isinstance(exc, TenantMismatch):
        return ProblemError("forbidden", "the script belongs to another tenant")
    return ProblemError("internal", "a storage error occurred")


UNAVAILABLE_DETAIL = "the database does not answer; retry later"


# -- handlers -------------------------------------------------------------------------------


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.kind, exc.detail, instance=request.url.path, headers=exc.headers, **exc.extensions
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problem = validation_problem(exc.errors())
    return problem_response(
        problem.kind, problem.detail, instance=request.url.path, **problem.extensions
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = _BY_STATUS.get(exc.status_code)
    if kind is None:
        kind = "internal" if exc.status_code >= 500 else "malformed-request"
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route for {request.method} {request.url.path}"
    return problem_response(kind, detail, instance=request.url.path, headers=exc.headers)


async def _on_storage(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StorageError)
    problem = storage_problem(exc)
    if problem.kind == "internal":
        logger.error("storage error on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        problem.kind, problem.detail, instance=request.url.path, **problem.extensions
    )


async def _on_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        "unavailable",
        UNAVAILABLE_DETAIL,
        instance=request.url.path,
        headers={"Retry-After": "5"},
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response("internal", "an unexpected error occurred", instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(StorageError, _on_storage)
    app.add_exception_handler(ConnectionFailure, _on_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)
