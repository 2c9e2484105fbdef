"""What a GraphQL document may cost before anything runs: depth, size, aliases, complexity,
and (by setting) no introspection. The request body is capped by the app's middleware.

Complexity is estimated from the document and the schema: each field costs 1; a field with
a `limit` argument (a page) multiplies the cost of its selection by that limit (given or
default); `items` of a page then counts once per item; any other list field multiplies
by `LIST_FACTOR`; an introspection root costs `INTROSPECTION_COST`. Fragments are expanded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
)
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from alloy_scripting.settings import Settings

ExtensionFactory = Callable[[], SchemaExtension]

#: How many items an unbounded list field is assumed to hold.
LIST_FACTOR = 10
#: What `__schema` / `__type` cost, whatever is selected: graphql-core's
#: MaxIntrospectionDepthRule bounds their nesting; the standard introspection query costs one.
INTROSPECTION_COST = 2_500
_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
_PAGE_ITEMS = "items"
_MAX_DIGITS = 12


class _Cost:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        ceiling: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.ceiling = ceiling

    def of(
        self,
        selections: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        in_page: bool = False,
        seen: frozenset[str] = frozenset(),
    ) -> int:
        if selections is None:
            return 0
        total = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                total += self._field(node, parent, in_page, seen)
            elif isinstance(node, InlineFragmentNode):
                inner = self._type(node.type_condition.name.value) if node.type_condition else None
                total += self.of(node.selection_set, inner or parent, in_page, seen)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue  # unknown or cyclic: the validation rules report it
                inner = self._type(fragment.type_condition.name.value)
                total += self.of(fragment.selection_set, inner, in_page, seen | {name})
            if total > self.ceiling:
                return total  # enough to refuse; stop walking
        return total

    def _type(self, name: str) -> GraphQLNamedType | None:
        return self.schema.get_type(name)

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType | None, in_page: bool, seen: frozenset[str]
    ) -> int:
        name = node.name.value
        if name in _INTROSPECTION_ROOTS:
            return INTROSPECTION_COST
        fields = getattr(parent, "fields", None)
        definition = fields.get(name) if isinstance(fields, dict) else None
        if definition is None:  # unknown or meta fields: the validation rules decide
            return 1 + self.of(node.selection_set, None, False, seen)
        factor = 1
        page = "limit" in definition.args
        if page:
            factor = self._limit(node, definition.args["limit"].default_value)
        elif isinstance(get_nullable_type(definition.type), GraphQLList):
            factor = 1 if in_page and name == _PAGE_ITEMS else LIST_FACTOR
        child = get_named_type(definition.type)
        return 1 + factor * self.of(node.selection_set, child, page, seen)

    def _limit(self, node: FieldNode, default: Any) -> int:
        for argument in node.arguments or ():
            if argument.name.value != "limit":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                digits = value.value.lstrip("-")
                if len(digits) > _MAX_DIGITS:  # far above any ceiling (and any Int)
                    return self.ceiling + 1
                return max(int(value.value), 1)
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                if isinstance(given, int) and not isinstance(given, bool):
                    return max(given, 1)
        return max(default, 1) if isinstance(default, int) else LIST_FACTOR


def document_cost(
    schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any], ceiling: int
) -> int:
    """The largest cost of the document's operations (walks stop past `ceiling`)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    cost = _Cost(schema, fragments, variables, ceiling)
    worst = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            root = schema.get_root_type(definition.operation)
            worst = max(worst, cost.of(definition.selection_set, root))
    return worst


class ComplexityLimiter(SchemaExtension):
    """Refuses a document whose `document_cost` exceeds `max_complexity`."""

    def __init__(self, max_complexity: int) -> None:
        self.max_complexity = max_complexity

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            variables = context.variables if isinstance(context.variables, dict) else {}
            cost = document_cost(context.schema._schema, document, variables, self.max_complexity)
            if cost > self.max_complexity:
                context.pre_execution_errors = [
                    GraphQLError(
                        f"the query is too complex: cost above {self.max_complexity} "
                        "(one per field, times `limit` inside pages); ask for fewer "
                        "fields or smaller pages"
                    )
                ]
        yield


def limit_extensions(settings: Settings) -> list[ExtensionFactory]:
    """Factories of the extensions enforcing the settings' GraphQL limits (one fresh
    extension per request: an extension holds its request's execution context)."""
    factories: list[ExtensionFactory] = [
        partial(MaxTokensLimiter, max_token_count=settings.graphql_max_tokens),
        partial(MaxAliasesLimiter, max_alias_count=settings.graphql_max_aliases),
        partial(QueryDepthLimiter, max_depth=settings.graphql_max_depth),
        partial(ComplexityLimiter, settings.graphql_max_complexity),
    ]
    if not settings.graphql_introspection:
        factories.append(DisableIntrospection)
    return factories
