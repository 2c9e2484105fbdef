"""The AsyncAPI 3.0 document of the Kafka surface, generated from the FastStream app.

FastStream derives channels, operations and servers from the broker. The entity-event
subscribers take raw batches (each record is decoded once, at the edge, so that a bad
record goes to the DLQ instead of failing its batch), so their message payloads are
filled in here from the models the edge decodes into and answers with.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from faststream.specification import AsyncAPI

from alloy_scripting import __version__
from alloy_scripting.messaging.edge import DESCRIPTION, KafkaEdge
from alloy_scripting.model.hooks import EntityEvent, ScriptsChanged, hook_outcome_adapter
from alloy_scripting.settings import Settings

REQUEST_HEADERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reply_to": {"type": "string", "description": "Topic the `HookOutcome` is sent to (before-hooks)."},
        "correlation_id": {"type": "string", "description": "Echoed on the reply."},
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def _schema(model_schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Move pydantic `$defs` into the document's components and point refs there."""
    defs = model_schema.pop("$defs", {})
    components.update(defs)
    text = yaml.safe_dump(model_schema)
    text = text.replace("#/$defs/", "#/components/schemas/")
    patched: dict[str, Any] = yaml.safe_load(text)
    for name, value in list(components.items()):
        components[name] = yaml.safe_load(yaml.safe_dump(value).replace("#/$defs/", "#/components/schemas/"))
    return patched


def asyncapi_document(settings: Settings | None = None) -> dict[str, Any]:
    edge = KafkaEdge(settings or Settings())
    spec = AsyncAPI(
        edge.broker,
        title="alloy-scripting",
        version=__version__,
        description=DESCRIPTION,
        schema_version="3.0.0",
    )
    document: dict[str, Any] = spec.to_specification().to_jsonable()
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    event_schema = _schema(EntityEvent.model_json_schema(), schemas)
    schemas["EntityEvent"] = event_schema
    outcome_schema = _schema(hook_outcome_adapter.json_schema(), schemas)
    schemas["HookOutcome"] = outcome_schema
    schemas.setdefault("ScriptsChanged", _schema(ScriptsChanged.model_json_schema(), schemas))

    messages = document["components"].setdefault("messages", {})
    for name, message in messages.items():
        if name.startswith("entity.before_*") or name.startswith("entity.after_*"):
            message["payload"] = {"$ref": "#/components/schemas/EntityEvent"}
            message["headers"] = REQUEST_HEADERS
            message["contentType"] = "application/json"
    messages["HookOutcome"] = {
        "name": "HookOutcome",
        "title": "HookOutcome",
        "summary": "The reply to a before-hook request, sent to the request's `reply_to` topic "
        "with the request's `correlation_id` header.",
        "contentType": "application/json",
        "payload": {"$ref": "#/components/schemas/HookOutcome"},
        "headers": {
            "type": "object",
            "properties": {"correlation_id": {"type": "string"}},
            "required": ["correlation_id"],
        },
    }
    document.setdefault("channels", {})["hookReplies"] = {
        "address": "{reply_to}",
        "description": "The requester's own reply topic, named by the request's `reply_to` header.",
        "parameters": {"reply_to": {"description": "Value of the request's `reply_to` header."}},
        "messages": {"HookOutcome": {"$ref": "#/components/messages/HookOutcome"}},
    }
    for operation in document.get("operations", {}).values():
        channel_ref = operation.get("channel", {}).get("$ref", "")
        if "before" in channel_ref and operation.get("action") == "receive":
            operation["reply"] = {
                "channel": {"$ref": "#/channels/hookReplies"},
                "messages": [{"$ref": "#/channels/hookReplies/messages/HookOutcome"}],
            }
    return document


def asyncapi_yaml(settings: Settings | None = None) -> str:
    return yaml.safe_dump(asyncapi_document(settings), sort_keys=False, allow_unicode=True)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    text = asyncapi_yaml()
    if args:
        Path(args[0]).write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
