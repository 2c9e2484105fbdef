"""The Kafka surface as a contract: its FastStream declaration and the AsyncAPI 3.0 document
generated from it.

FastStream derives channels, operations and servers from a broker's declarations. The
declaration broker built here is never connected: the hook topics are consumed by
`BatchConsumer`s (each record is decoded once, at the edge, so that a bad record goes to
the DLQ instead of failing its batch), so their subscribers only document how they are
consumed, and their message payloads are filled in here from the models the edge decodes
into and answers with. The live broker (`kafka_broker`) carries the scripts-changed
broadcast, declared by `declare_scripts_changed` for both.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.specification import AsyncAPI

from alloy_scripting import __version__
from alloy_scripting.messaging.topics import Topics, hook_groups
from alloy_scripting.model.events import EntityEvent, ScriptsChanged, SideEffect
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.outcomes import hook_outcome_adapter
from alloy_scripting.settings import Settings

DESCRIPTION = """\
Domain services publish entity lifecycle events; alloy-scripting runs the active scripts
bound to (tenant, entity type, event) and answers.

Before-hooks (`entity.before_*`) are request/reply: send the request with headers `reply_to`
(a topic you consume) and `correlation_id`; the `HookOutcome` reply arrives on `reply_to` with
the same `correlation_id` header. After and on-commit events run side effects, published to
`alloy.effects`; every script run is summarised on `alloy.executions`. Records that cannot be
decoded go to `alloy.dlq` (and, when they carried `reply_to`, get an `error` outcome at once).
Record keys are `<entity_type>:<entity_id>`: one entity's events are handled in order.
"""

ScriptsChangedHandler = Callable[[ScriptsChanged], Awaitable[None]]


def kafka_broker(settings: Settings) -> KafkaBroker:
    """A FastStream broker on the service's Kafka cluster (not connected yet)."""
    return KafkaBroker(
        settings.kafka_bootstrap,
        acks="all",
        client_id="alloy-scripting",
        description="The Kafka cluster shared with the domain services.",
        graceful_timeout=30.0,
        logger=logging.getLogger("alloy.kafka"),
        log_level=logging.DEBUG,
    )


def declare_scripts_changed(
    broker: KafkaBroker, topics: Topics, handler: ScriptsChangedHandler
) -> None:
    broker.subscriber(
        topics.scripts_changed,
        group_id=None,
        auto_offset_reset="latest",
        title="ScriptsChanged",
        description="Broadcast to every instance: drop cached trigger lookups.",
    )(handler)


async def _raw_body(msg: Any) -> Any:
    return msg.body


def _declared_only() -> None:
    """Not run: the declaration broker is never started."""
    raise RuntimeError("a documentation-only subscriber was started")


async def _on_scripts_changed(body: ScriptsChanged) -> None:
    _declared_only()


def _hook_subscriber(
    broker: KafkaBroker,
    settings: Settings,
    topics: list[str],
    group: str,
    title: str,
    description: str,
) -> BatchSubscriber:
    """How the hook topics are consumed, as the contract shows it (see `BatchConsumer`)."""
    return broker.subscriber(
        *topics,
        group_id=group,
        batch=True,
        max_records=settings.hook_batch_size,
        ack_policy=AckPolicy.MANUAL,
        decoder=_raw_body,
        no_reply=True,
        title=title,
        description=description,
    )


def declaration(settings: Settings) -> KafkaBroker:
    """A broker declaring the whole Kafka surface, for the AsyncAPI document only."""
    broker = kafka_broker(settings)
    topics = Topics(settings.topic_prefix)
    (before_topics, before_group), (effects_topics, effects_group) = hook_groups(
        topics, settings.consumer_group
    )
    before = _hook_subscriber(
        broker,
        settings,
        before_topics,
        before_group,
        "BeforeHooks",
        "Before-hook requests (`EntityEvent`). Headers: `reply_to` (topic for the "
        "answer), `correlation_id`. Answer: a `HookOutcome` on `reply_to`.",
    )
    effects = _hook_subscriber(
        broker,
        settings,
        effects_topics,
        effects_group,
        "AfterHooks",
        "After and on-commit events (`EntityEvent`); scripts run once per `event_id`.",
    )

    @before
    async def on_before(msg: KafkaMessage) -> None:
        _declared_only()

    @effects
    async def on_effects(msg: KafkaMessage) -> None:
        _declared_only()

    declare_scripts_changed(broker, topics, _on_scripts_changed)
    broker.publisher(
        topics.effects,
        schema=SideEffect,
        title="Effects",
        description="Side-effect intents of successful scripts; `event_id` is deterministic.",
    )
    broker.publisher(
        topics.executions,
        schema=ExecutionRecord,
        title="Executions",
        description=(
            "One `ExecutionRecord` per script run, at least once: key and header `record_id` "
            "are the record's `id`, the same on every copy; de-duplicate by it."
        ),
    )
    broker.publisher(
        topics.dlq,
        schema=bytes,
        title="DeadLetters",
        description=(
            "Undecodable or invalid records, value unchanged. Headers: `x-error-type`, "
            "`x-error`, `x-source-topic`, `x-source-partition`, `x-source-offset`."
        ),
    )
    return broker


def specification(settings: Settings) -> AsyncAPI:
    """FastStream's AsyncAPI specification of the declaration."""
    return AsyncAPI(
        declaration(settings),
        title="alloy-scripting",
        version=__version__,
        description=DESCRIPTION,
        schema_version="3.0.0",
    )


REQUEST_HEADERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reply_to": {
            "type": "string",
            "description": "Topic the `HookOutcome` is sent to (before-hooks).",
        },
        "correlation_id": {"type": "string", "description": "Echoed on the reply."},
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def _asyncapi_schema(value: Any) -> Any:
    """Pydantic's JSON Schema, as an AsyncAPI Schema: local refs point into components, and
    a discriminator is the property name (AsyncAPI), not an OpenAPI discriminator object."""
    if isinstance(value, dict):
        converted = {key: _asyncapi_schema(item) for key, item in value.items()}
        ref = converted.get("$ref")
        if isinstance(ref, str):
            converted["$ref"] = ref.replace("#/$defs/", "#/components/schemas/")
        discriminator = converted.get("discriminator")
        if isinstance(discriminator, dict):
            converted["discriminator"] = discriminator["propertyName"]
        return converted
    if isinstance(value, list):
        return [_asyncapi_schema(item) for item in value]
    return value


def _schema(model_schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Move pydantic `$defs` into the document's components; return the converted schema."""
    for name, definition in model_schema.pop("$defs", {}).items():
        components[name] = _asyncapi_schema(definition)
    converted: dict[str, Any] = _asyncapi_schema(model_schema)
    return converted


def canonical_settings() -> Settings:
    """The defaults the checked-in contract describes, whatever the environment says."""
    return Settings(
        kafka_bootstrap="localhost:9092", topic_prefix="", consumer_group="alloy-scripting"
    )


def asyncapi_document(settings: Settings | None = None) -> dict[str, Any]:
    """The document for `settings` (a running service's), or the canonical one."""
    spec = specification(settings or canonical_settings())
    document: dict[str, Any] = spec.to_specification().to_jsonable()
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    event_schema = _schema(EntityEvent.model_json_schema(), schemas)
    schemas["EntityEvent"] = event_schema
    outcome_schema = _schema(hook_outcome_adapter.json_schema(), schemas)
    schemas["HookOutcome"] = outcome_schema
    schemas.setdefault("ScriptsChanged", _schema(ScriptsChanged.model_json_schema(), schemas))

    messages = document["components"].setdefault("messages", {})
    for name, message in messages.items():
        if name.startswith(("BeforeHooks", "AfterHooks")):
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
    # FastStream's order of subscribers varies between runs; the checked-in file must not.
    for section in ("channels", "operations"):
        document[section] = dict(sorted(document.get(section, {}).items()))
    for section in ("messages", "schemas"):
        document["components"][section] = dict(sorted(document["components"][section].items()))
    return document


def asyncapi_yaml(settings: Settings | None = None) -> str:
    return yaml.safe_dump(asyncapi_document(settings), sort_keys=False, allow_unicode=True)


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas (2020-12) of the records on the wire, by file name."""
    from alloy_scripting.model.events import SideEffect
    from alloy_scripting.model.execution import ExecutionRecord

    documents: dict[str, dict[str, Any]] = {
        "entity-event.schema.json": EntityEvent.model_json_schema(),
        "hook-outcome.schema.json": hook_outcome_adapter.json_schema(),
        "side-effect.schema.json": SideEffect.model_json_schema(),
        "execution-record.schema.json": ExecutionRecord.model_json_schema(),
        "scripts-changed.schema.json": ScriptsChanged.model_json_schema(),
    }
    for name, schema in documents.items():
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://alloy-scripting.dev/contracts/schemas/{name}"
        schema.setdefault("title", name.removesuffix(".schema.json"))
    return documents


def contract_files() -> dict[str, str]:
    """Every generated file under `contracts/`, by relative path."""
    files = {"asyncapi.yaml": asyncapi_yaml()}
    for name, schema in json_schemas().items():
        files[f"schemas/{name}"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def main(argv: list[str] | None = None) -> None:
    """`python -m alloy_scripting.messaging.contract [DIR]`: write the contracts.

    Without DIR, print the AsyncAPI document."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        sys.stdout.write(asyncapi_yaml())
        return
    root = Path(args[0])
    for relative, text in contract_files().items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


if __name__ == "__main__":
    main()
