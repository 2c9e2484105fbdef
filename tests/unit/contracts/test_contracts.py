"""contracts/ is generated from the code and checked in: a drift fails here."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from alloy_scripting.messaging.contract import asyncapi_document, contract_files
from alloy_scripting.model.events import EntityEvent, SideEffect
from alloy_scripting.model.outcomes import hook_outcome_adapter

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"


@pytest.mark.parametrize("relative", sorted(contract_files()))
def test_committed_contract_matches_the_code(relative: str) -> None:
    generated = contract_files()[relative]
    committed = (CONTRACTS / relative).read_text()
    assert committed == generated, f"contracts/{relative} is stale: run `make contracts`"


def test_asyncapi_documents_the_request_reply_and_every_topic() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in document["channels"].values()}
    for event in ("before_create", "after_update", "on_commit_delete"):
        assert f"entity.{event}" in addresses
    assert {
        "alloy.effects",
        "alloy.executions",
        "alloy.dlq",
        "alloy.scripts.changed",
        "{reply_to}",
    } <= addresses
    replies = [op for op in document["operations"].values() if "reply" in op]
    assert len(replies) == 3  # the three before_* channels answer on reply_to
    before = next(
        m for n, m in document["components"]["messages"].items() if n.startswith("BeforeHooks")
    )
    assert before["payload"] == {"$ref": "#/components/schemas/EntityEvent"}
    assert "reply_to" in before["headers"]["properties"]


EXAMPLES = {
    "before-create-request.json": ("entity-event.schema.json", EntityEvent.model_validate),
    "after-update-event.json": ("entity-event.schema.json", EntityEvent.model_validate),
    "hook-outcome-continue.json": (
        "hook-outcome.schema.json",
        hook_outcome_adapter.validate_python,
    ),
    "hook-outcome-rejected.json": (
        "hook-outcome.schema.json",
        hook_outcome_adapter.validate_python,
    ),
    "hook-outcome-error.json": ("hook-outcome.schema.json", hook_outcome_adapter.validate_python),
    "side-effect.json": ("side-effect.schema.json", SideEffect.model_validate),
}


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_examples_match_the_schemas_and_the_models(example: str) -> None:
    schema_name, parse = EXAMPLES[example]
    instance = json.loads((CONTRACTS / "examples" / example).read_text())
    schema = json.loads((CONTRACTS / "schemas" / schema_name).read_text())
    jsonschema.validate(instance, schema, cls=jsonschema.Draft202012Validator)
    parse(instance)


def test_schemas_refuse_what_the_edge_refuses() -> None:
    schema = json.loads((CONTRACTS / "schemas" / "entity-event.schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"entity_type": "deal", "event": "before_create"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"entity_type": "deal", "entity_id": "1", "event": "sideways"},
            schema,
        )
