"""contracts/schema.graphql is generated from the code (`make contracts`): a drift fails here."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema

from alloy_scripting.api.graphql.contract import FILE_NAME, main
from alloy_scripting.api.graphql.schema import schema_sdl

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"


def test_committed_graphql_schema_matches_the_code() -> None:
    committed = (CONTRACTS / FILE_NAME).read_text()
    assert committed == schema_sdl(), f"contracts/{FILE_NAME} is stale: run `make contracts`"


def test_the_export_writes_what_the_code_defines(tmp_path: Path) -> None:
    main([str(tmp_path)])
    written = (tmp_path / FILE_NAME).read_text()
    assert written == schema_sdl()
    schema = build_schema(written)  # a valid SDL document, with the operations of the issue
    query = schema.query_type
    mutation = schema.mutation_type
    assert query is not None and mutation is not None
    assert {"scripts", "script", "executions", "helpers", "entityTypes"} <= set(query.fields)
    assert {
        "runScript",
        "createScript",
        "updateScript",
        "deleteScript",
        "activateScript",
        "disableScript",
        "resetScript",
        "rollbackScript",
        "validateScript",
    } <= set(mutation.fields)
    assert "expectedRevision" in mutation.fields["updateScript"].args
