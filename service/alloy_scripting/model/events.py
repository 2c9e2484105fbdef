"""Events of the Kafka surface: entity events in, side effects and script-change broadcasts out."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from alloy_scripting.model.enums import EventType
from alloy_scripting.model.json_check import check_json
from alloy_scripting.model.script import MAX_TENANT_LENGTH

MAX_ID_LENGTH = 256


def _now() -> datetime:
    return datetime.now(UTC)


class EntityEvent(BaseModel):
    """A domain service's entity lifecycle event (value of `entity.<event>` records)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)] = Field(
        default_factory=lambda: uuid.uuid4().hex,
        description="Unique per event; redeliveries carry the same id.",
    )
    tenant_id: Annotated[str, Field(min_length=1, max_length=MAX_TENANT_LENGTH)] | None = None
    user_id: Annotated[str, Field(max_length=MAX_ID_LENGTH)] | None = None
    entity_type: Annotated[str, Field(min_length=1, max_length=128)]
    entity_id: Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
    event: EventType
    data: dict[str, Any] = Field(default_factory=dict)
    before: dict[str, Any] | None = Field(
        default=None, description="The entity as it was (update and delete events)."
    )
    occurred_at: datetime = Field(default_factory=_now)

    @field_validator("data", "before")
    @classmethod
    def _json_safe(cls, value: dict[str, Any] | None, info: ValidationInfo) -> Any:
        """NaN, Infinity, NUL characters, huge integers and deep nesting are refused here,
        as by the REST API: a script could not hand them back as JSON."""
        if value is not None:
            check_json(value, str(info.field_name))
        return value

    @property
    def key(self) -> str:
        """The Kafka record key: one entity's events stay in one partition, in order."""
        return f"{self.entity_type}:{self.entity_id}"


class SideEffect(BaseModel):
    """An `emit(event_type, payload)` intent of a successful script, on `alloy.effects`."""

    event_id: str = Field(
        description="Deterministic: same source event, script and index → same id."
    )
    event_type: str
    payload: dict[str, Any]
    source_event_id: str
    script_id: str
    script_name: str
    tenant_id: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    emitted_at: datetime = Field(default_factory=_now)

    @staticmethod
    def derive_id(source_event_id: str, script_id: str, index: int) -> str:
        digest = hashlib.sha256(f"{source_event_id}\x1f{script_id}\x1f{index}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=5))


class ScriptsChanged(BaseModel):
    """Broadcast on `alloy.scripts.changed` so every instance drops its trigger cache."""

    tenant_id: str | None = None
    script_id: str | None = None
    origin: str = Field(description="Instance id of the sender.")
    at: datetime = Field(default_factory=_now)
