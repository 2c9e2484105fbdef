"""The GraphQL schema: its types (the same for every deployment, exported as the contract)
and, per deployment, the extensions enforcing the limits of its settings."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql.error import GraphQLError
from strawberry.types import ExecutionContext

from alloy_scripting.api.graphql.errors import log_unexpected
from alloy_scripting.api.graphql.limits import ExtensionFactory, limit_extensions
from alloy_scripting.api.graphql.mutations import Mutation
from alloy_scripting.api.graphql.queries import Query
from alloy_scripting.settings import Settings


class AlloySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logs unexpected errors only: a not-found or a refused query is the client's."""
        log_unexpected(errors)


def build_schema(settings: Settings | None = None) -> AlloySchema:
    """The schema; with `settings`, guarded by their limits (without: for the SDL only)."""
    extensions: list[ExtensionFactory] = []
    if settings is not None:
        extensions = limit_extensions(settings)
    return AlloySchema(query=Query, mutation=Mutation, extensions=extensions)


def schema_sdl() -> str:
    """The schema in the GraphQL schema definition language, as `contracts/schema.graphql`."""
    text: Any = build_schema().as_str()
    return str(text).rstrip("\n") + "\n"
