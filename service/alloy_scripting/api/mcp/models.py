"""Tool results that have no REST twin (the REST bodies are reused everywhere else)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from alloy_scripting.api.catalogue import (
    EntityTypeListing,
    EventInfo,
    HelperInfo,
    event_catalogue,
    helper_catalogue,
)
from alloy_scripting.api.schemas import RunOut
from alloy_scripting.model.enums import EventType
from alloy_scripting.model.events import SideEffect


class RunReport(BaseModel):
    """One run of a script, flattened for an agent."""

    script_id: str
    version: int = Field(description="The script version that ran.")
    execution_id: str | None = Field(
        description="Its record in `alloy_list_executions` (none for a dry run)."
    )
    status: str = Field(
        description="`success`, `aborted` (the script called abort), `error`, "
        "`limit_exceeded` or `timeout`."
    )
    duration_ms: float
    changes: dict[str, Any] = Field(description="Top-level entity fields the script changed.")
    removed: list[str] = Field(description="Entity fields the script deleted.")
    reason: str | None = Field(default=None, description="The abort reason, if any.")
    error: dict[str, Any] | None = Field(
        default=None, description="Why the run failed: type, message, line."
    )
    limit: str | None = Field(default=None, description="The limit that was breached, if any.")
    logs: list[dict[str, Any]] = Field(description="What the script logged (level, message).")
    emitted: list[dict[str, Any]] = Field(description="The emit() intents (event_type, payload).")
    effects: list[SideEffect] = Field(description="The effects published (none on a dry run).")
    dry_run: bool = Field(description="A dry run keeps no execution record and emits nothing.")

    @classmethod
    def of(cls, out: RunOut, *, dry_run: bool) -> RunReport:
        result = out.result
        return cls(
            script_id=out.script_id,
            version=out.version,
            execution_id=out.execution_id,
            status=str(result.get("status")),
            duration_ms=float(result.get("duration_ms") or 0.0),
            changes=result.get("changes") or {},
            removed=list(result.get("removed") or []),
            reason=result.get("reason"),
            error=result.get("error"),
            limit=result.get("limit"),
            logs=list(result.get("logs") or []),
            emitted=list(result.get("emitted") or []),
            effects=out.effects,
            dry_run=dry_run,
        )


class Deleted(BaseModel):
    script_id: str
    deleted: bool = True


class HelperCatalogue(BaseModel):
    helpers: list[HelperInfo] = Field(
        description="Every helper: signature, description, the phases it is available in, and "
        "whether it is usable yet."
    )

    @classmethod
    def of_registry(cls) -> HelperCatalogue:
        """The catalogue, each signature with its return type (what an agent calls and gets)."""
        return cls(
            helpers=[
                h.model_copy(update={"signature": h.typed_signature}) for h in helper_catalogue()
            ]
        )


class BoundEntityType(BaseModel):
    entity_type: str
    events: list[EventType] = Field(description="Events scripts of this entity type are bound to.")
    scripts: int = Field(description="How many event-triggered scripts are bound to it.")


class EntityTypes(BaseModel):
    entity_types: list[BoundEntityType] = Field(
        description="Entity types the caller's event-triggered scripts are bound to."
    )
    events: list[EventInfo] = Field(description="Every event name the service accepts.")

    @classmethod
    def of(cls, listing: EntityTypeListing) -> EntityTypes:
        return cls(
            entity_types=[
                BoundEntityType(entity_type=e.name, events=e.events, scripts=e.scripts)
                for e in listing.entity_types
            ],
            events=event_catalogue(),
        )
