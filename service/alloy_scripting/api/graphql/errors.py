"""How failures become GraphQL errors: the REST problem of the same failure, in `extensions`.

Every error of a response carries ``extensions`` with the problem's ``type`` (the same stable
URI as REST), ``title``, ``status`` and its extension members. Errors of the document itself
(syntax, unknown fields, wrong argument types, limits) are ``malformed-request`` (400).
Unexpected exceptions are logged and answered as ``internal`` with a fixed message: nothing of
their text reaches the client.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from graphql.error import GraphQLError
from pydantic import BaseModel, ValidationError
from pymongo.errors import ConnectionFailure

from alloy_scripting.api.problems import (
    UNAVAILABLE_DETAIL,
    ProblemError,
    problem_body,
    storage_problem,
    validation_problem,
)
from alloy_scripting.storage.errors import StorageError

logger = logging.getLogger("alloy.api.graphql")

Model = TypeVar("Model", bound=BaseModel)
_UNREADABLE = (ValueError, TypeError, OverflowError, RecursionError)


def validated(model: type[Model], data: dict[str, Any]) -> Model:
    """`model.model_validate(data)` with the REST request models' rules; errors become the
    REST 422 ``validation`` problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc.errors()) from exc


def problem_of(error: GraphQLError) -> ProblemError:
    """The REST problem of a GraphQL error."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return ProblemError("malformed-request", error.message)
    if isinstance(original, ProblemError):
        return original
    if isinstance(original, StorageError):
        return storage_problem(original)
    if isinstance(original, ConnectionFailure):
        return ProblemError("unavailable", UNAVAILABLE_DETAIL)
    if isinstance(original, ValidationError):
        return validation_problem(original.errors())
    if error.path is None and isinstance(original, _UNREADABLE):
        # Raised while the document is read and checked (no field ran): e.g. graphql-core
        # converting an Int literal of thousands of digits.
        return ProblemError("malformed-request", "the document could not be read or checked")
    return ProblemError("internal", "an unexpected error occurred")


def as_graphql_error(error: GraphQLError) -> GraphQLError:
    problem = problem_of(error)
    body = problem_body(problem.kind, problem.detail, **problem.extensions)
    return GraphQLError(
        message=problem.detail or body["title"],
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=body,
    )


def log_unexpected(errors: list[GraphQLError]) -> None:
    for error in errors:
        if problem_of(error).kind == "internal":
            original = error.original_error
            logger.error(
                "unexpected error in GraphQL field %s",
                ".".join(str(p) for p in error.path or ()),
                exc_info=(type(original), original, original.__traceback__) if original else None,
            )
