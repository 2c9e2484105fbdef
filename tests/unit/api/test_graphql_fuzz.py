"""Hostile GraphQL documents and variables: always a GraphQL answer, never a 5xx, never an
`internal` error (in-memory stores; the same app as over HTTP)."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alloy_scripting.api.app import create_api
from alloy_scripting.storage import InMemoryStores
from tests.unit.api.fixtures import auth, client_for, make_runtime

PROBLEMS = "https://alloy-scripting.dev/problems/"
_app = create_api(make_runtime(InMemoryStores()))

_WORDS = st.sampled_from(
    [
        "{", "}", "(", ")", ":", "$n", "...", "query", "mutation", "fragment", "on", "Query",
        "scripts", "script", "executions", "helpers", "entityTypes", "items", "total", "id",
        "name", "trigger", "type", "limit", "offset", "runScript", "createScript", "input",
        "__schema", "__type", "__typename", "1", "-1", "99999999999", '"x"', "null", "true",
        "[", "]", "@skip", "@include(if: true)", "a:", "ACTIVE", "scriptId", "source",
    ]
)  # fmt: skip
_DOCUMENTS = st.one_of(st.text(max_size=200), st.lists(_WORDS, max_size=60).map(" ".join))
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


async def _post(body: dict[str, Any]) -> httpx.Response:
    async with client_for(_app, auth()) as client:
        return await client.post("/graphql", json=body)


def _check(response: httpx.Response) -> None:
    assert response.status_code in (200, 400), response.text
    payload = response.json()
    for error in payload.get("errors") or []:
        assert "extensions" in error and error["extensions"]["type"].startswith(PROBLEMS), (
            error,
            response.request.content,
        )
        assert error["extensions"]["status"] < 500, error


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(document=_DOCUMENTS)
async def test_random_documents(document: str) -> None:
    _check(await _post({"query": document}))


_RUN = """mutation($id: ID, $name: String, $params: JSON, $entity: JSON, $dry: Boolean!) {
  runScript(id: $id, name: $name, params: $params, entity: $entity, dryRun: $dry) { status } }"""
_CREATE = "mutation($input: CreateScriptInput!) { createScript(input: $input) { id } }"


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    variables=st.dictionaries(
        st.sampled_from(["id", "name", "params", "entity", "dry", "input"]), _JSON, max_size=6
    ),
    mutation=st.sampled_from([_RUN, _CREATE]),
)
async def test_random_variables(variables: dict[str, Any], mutation: str) -> None:
    _check(await _post({"query": mutation, "variables": variables}))
