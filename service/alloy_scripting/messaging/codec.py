"""The edge: Kafka records are decoded into models here, once, and answers encoded here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from alloy_scripting.model.events import EntityEvent

MAX_VALUE_BYTES = 1024 * 1024
JSON_HEADERS = {"content-type": "application/json"}
#: What Kafka accepts as a topic name; a `reply_to` that is not one can never be answered.
TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")


class RecordLike(Protocol):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any


def is_topic_name(name: str) -> bool:
    return TOPIC_NAME.fullmatch(name) is not None and name not in (".", "..")


@dataclass(frozen=True, slots=True)
class Inbound:
    """One consumed record: its decoded event, or why it could not be decoded."""

    record: RecordLike
    headers: dict[str, str]
    event: EntityEvent | None
    error_type: str | None = None
    error: str | None = None

    @property
    def reply_to(self) -> str | None:
        """The requester's reply topic, when it names a valid topic."""
        topic = self.headers.get("reply_to")
        return topic if topic and is_topic_name(topic) else None

    @property
    def correlation_id(self) -> str | None:
        return self.headers.get("correlation_id") or None

    @property
    def key(self) -> bytes:
        """Records of one key are handled in order; keyless records are independent."""
        if self.record.key:
            return self.record.key
        return f"\x00{self.record.partition}:{self.record.offset}".encode()


def _headers(record: RecordLike) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in record.headers or ():
        if isinstance(value, bytes):
            headers[name] = value.decode("utf-8", errors="replace")
    return headers


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:10]:
        loc = ".".join(str(p) for p in err["loc"]) or "(value)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def decode(
    record: RecordLike,
    expected_topic_event: str | None = None,
    reserved: frozenset[str] = frozenset(),
) -> Inbound:
    """Decode an `entity.<event>` record into an `EntityEvent` (never raises).

    `reserved`: topics no answer may go to (the service's own: a `reply_to` naming one
    would let any producer inject records there)."""
    headers = _headers(record)
    value = record.value
    reply_to = headers.get("reply_to")
    if reply_to and not is_topic_name(reply_to):
        return Inbound(
            record, headers, None, "invalid_reply_to", "reply_to is not a valid Kafka topic name"
        )
    if reply_to in reserved:
        del headers["reply_to"]  # never answered there
        return Inbound(
            record,
            headers,
            None,
            "invalid_reply_to",
            f"reply_to names the service's own topic {reply_to!r}",
        )
    if reply_to and not headers.get("correlation_id"):
        return Inbound(
            record,
            headers,
            None,
            "missing_correlation_id",
            "a request with reply_to needs a correlation_id header to match the answer",
        )
    if value is None or len(value) == 0:
        return Inbound(record, headers, None, "empty", "the record has no value")
    if len(value) > MAX_VALUE_BYTES:
        return Inbound(record, headers, None, "too_large", f"value is {len(value)} bytes")
    try:
        event = EntityEvent.model_validate_json(value)
    except ValidationError as exc:
        kind = (
            "undecodable" if any(e["type"] == "json_invalid" for e in exc.errors()) else "invalid"
        )
        return Inbound(record, headers, None, kind, _describe(exc))
    if expected_topic_event is not None and event.event.value != expected_topic_event:
        return Inbound(
            record,
            headers,
            None,
            "wrong_topic",
            f"event {event.event.value!r} was sent to the topic of {expected_topic_event!r}",
        )
    if not reply_to and event.event.phase.value == "before":
        return Inbound(
            record,
            headers,
            None,
            "missing_reply_to",
            "a before-hook request needs a reply_to header naming the topic for its answer",
        )
    return Inbound(record, headers, event)


def topic_event(topic: str, prefix: str) -> str | None:
    """`entity.before_create` → `before_create`."""
    name = topic.removeprefix(prefix)
    return name.removeprefix("entity.") if name.startswith("entity.") else None


def encode(model: BaseModel) -> bytes:
    return model.model_dump_json().encode()


def dlq_headers(inbound: Inbound) -> dict[str, str]:
    record = inbound.record
    headers = {
        "content-type": inbound.headers.get("content-type", "application/octet-stream"),
        "x-error-type": inbound.error_type or "unknown",
        "x-error": (inbound.error or "")[:2000],
        "x-source-topic": record.topic,
        "x-source-partition": str(record.partition),
        "x-source-offset": str(record.offset),
    }
    if inbound.correlation_id:
        headers["correlation_id"] = inbound.correlation_id
    if inbound.reply_to:
        headers["x-reply-to"] = inbound.reply_to
    return headers
