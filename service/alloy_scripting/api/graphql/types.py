"""GraphQL object, input and enum types, each built from the model it shows.

Field names are snake_case here and camelCase in the schema (Strawberry's default name
converter). Enum values are the model enums' member names (``ACTIVE``, ``BEFORE_CREATE``).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from alloy_scripting.api.catalogue import EntityTypeInfo, EntityTypeListing, HelperInfo
from alloy_scripting.api.deps import next_run_at
from alloy_scripting.api.operations import RunOutcome
from alloy_scripting.api.schemas import DiagnosticOut, ValidateOut
from alloy_scripting.model.enums import EventType, ExecutionPhase, ExecutionStatus, ScriptStatus
from alloy_scripting.model.events import SideEffect
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.page import ExecutionPage, ScriptPage
from alloy_scripting.model.script import OnErrorPolicy, Script

strawberry.enum(ScriptStatus, description="Only `ACTIVE` scripts run on events and schedules.")
strawberry.enum(ExecutionPhase, description="When a script runs; decides its helpers.")
strawberry.enum(EventType, description="An entity lifecycle event a script can be bound to.")
strawberry.enum(ExecutionStatus, description="How one script run ended.")
strawberry.enum(OnErrorPolicy, description="What a before-hook chain does when this script fails.")


@strawberry.enum(name="TriggerType", description="What starts a script.")
class TriggerKind(Enum):
    EVENT = "event"
    CRON = "cron"
    MANUAL = "manual"
    API = "api"


# -- scripts ----------------------------------------------------------------------------------


@strawberry.type(name="Trigger", description="What starts the script; fields by `type`.")
class TriggerNode:
    type: TriggerKind
    entity_type: str | None = strawberry.field(description="`EVENT`: the entity type.")
    event: EventType | None = strawberry.field(description="`EVENT`: the lifecycle event.")
    expression: str | None = strawberry.field(description="`CRON`: the cron expression.")
    timezone: str | None = strawberry.field(description="`CRON`: the IANA time zone.")
    name: str | None = strawberry.field(description="`API`: the endpoint name.")

    @classmethod
    def of(cls, trigger: Any) -> TriggerNode:
        return cls(
            type=TriggerKind(trigger.type),
            entity_type=getattr(trigger, "entity_type", None),
            event=getattr(trigger, "event", None),
            expression=getattr(trigger, "expression", None),
            timezone=getattr(trigger, "timezone", None),
            name=getattr(trigger, "name", None),
        )


@strawberry.type(name="LastError", description="The latest failure of a script.")
class LastErrorNode:
    message: str
    at: datetime


@strawberry.type(name="Script", description="A stored script of the caller's tenant.")
class ScriptNode:
    id: strawberry.ID
    tenant_id: str | None
    name: str
    description: str
    source: str
    trigger: TriggerNode
    status: ScriptStatus
    priority: int
    on_error: OnErrorPolicy
    version: int = strawberry.field(description="Numbers the definition (source, trigger).")
    revision: int = strawberry.field(
        description="Numbers the document: pass it as `expectedRevision` to update safely."
    )
    error_count: int = strawberry.field(description="Consecutive failures.")
    last_error: LastErrorNode | None
    disabled_reason: str | None
    disabled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    updated_by: str | None
    next_run_at: datetime | None = strawberry.field(
        description="Active cron scripts: the next scheduled time (UTC)."
    )

    @classmethod
    def of(cls, script: Script) -> ScriptNode:
        last = script.last_error
        return cls(
            id=strawberry.ID(script.id),
            tenant_id=script.tenant_id,
            name=script.name,
            description=script.description,
            source=script.source,
            trigger=TriggerNode.of(script.trigger),
            status=script.status,
            priority=script.priority,
            on_error=script.on_error,
            version=script.version,
            revision=script.revision,
            error_count=script.error_count,
            last_error=None if last is None else LastErrorNode(message=last.message, at=last.at),
            disabled_reason=script.disabled_reason,
            disabled_at=script.disabled_at,
            created_at=script.created_at,
            updated_at=script.updated_at,
            created_by=script.created_by,
            updated_by=script.updated_by,
            next_run_at=next_run_at(script),
        )


@strawberry.type(name="ScriptPage", description="Scripts sorted by name, with the total.")
class ScriptPageNode:
    items: list[ScriptNode]
    total: int = strawberry.field(description="Matches, ignoring offset and limit.")
    offset: int
    limit: int
    has_more: bool

    @classmethod
    def of(cls, page: ScriptPage) -> ScriptPageNode:
        return cls(
            items=[ScriptNode.of(s) for s in page.items],
            total=page.total,
            offset=page.offset,
            limit=page.limit,
            has_more=page.has_more,
        )


# -- executions -------------------------------------------------------------------------------


@strawberry.type(name="Execution", description="One run of one script (the audit log).")
class ExecutionNode:
    id: strawberry.ID
    script_id: strawberry.ID
    script_version: int
    script_name: str
    tenant_id: str | None
    user_id: str | None = strawberry.field(description="Who ran it (manual runs).")
    phase: ExecutionPhase
    event: EventType | None
    entity_type: str | None
    entity_id: str | None
    correlation_id: str | None
    status: ExecutionStatus
    duration_ms: float
    operations: int
    error: JSON | None
    reason: str | None = strawberry.field(description="The `abort` reason.")
    changes: JSON | None
    removed: list[str]
    logs: list[str]
    started_at: datetime

    @classmethod
    def of(cls, record: ExecutionRecord) -> ExecutionNode:
        return cls(
            id=strawberry.ID(record.id),
            script_id=strawberry.ID(record.script_id),
            script_version=record.script_version,
            script_name=record.script_name,
            tenant_id=record.tenant_id,
            user_id=record.user_id,
            phase=record.phase,
            event=record.event,
            entity_type=record.entity_type,
            entity_id=record.entity_id,
            correlation_id=record.correlation_id,
            status=record.status,
            duration_ms=record.duration_ms,
            operations=record.operations,
            error=cast(JSON, record.error),
            reason=record.reason,
            changes=cast(JSON, record.changes),
            removed=list(record.removed),
            logs=list(record.logs),
            started_at=record.started_at,
        )


@strawberry.type(name="ExecutionPage", description="Execution records, newest first.")
class ExecutionPageNode:
    items: list[ExecutionNode]
    total: int
    offset: int
    limit: int
    has_more: bool

    @classmethod
    def of(cls, page: ExecutionPage) -> ExecutionPageNode:
        return cls(
            items=[ExecutionNode.of(r) for r in page.items],
            total=page.total,
            offset=page.offset,
            limit=page.limit,
            has_more=page.has_more,
        )


# -- runs ----------------------------------------------------------------------------------------


@strawberry.type(name="ScriptError", description="Why a run ended in error or hit a limit.")
class ScriptErrorNode:
    type: str
    message: str
    line: int | None


@strawberry.type(name="LogLine")
class LogLineNode:
    level: str
    message: str


@strawberry.type(name="Effect", description="An emitted event (published unless a dry run).")
class EffectNode:
    event_id: str
    event_type: str
    payload: JSON

    @classmethod
    def of(cls, effect: SideEffect) -> EffectNode:
        return cls(
            event_id=effect.event_id,
            event_type=effect.event_type,
            payload=cast(JSON, effect.payload),
        )


@strawberry.type(name="RunResult", description="The outcome of one manual run.")
class RunResultNode:
    execution_id: strawberry.ID | None = strawberry.field(
        description="The execution record's id; null for a dry run (no record is kept)."
    )
    script_id: strawberry.ID
    script_version: int
    dry_run: bool
    status: ExecutionStatus
    phase: ExecutionPhase
    duration_ms: float
    operations: int
    changes: JSON = strawberry.field(description="Top-level entity fields that changed.")
    removed: list[str]
    entity: JSON = strawberry.field(description="The entity after the run.")
    reason: str | None = strawberry.field(description="The `abort` reason.")
    error: ScriptErrorNode | None
    limit: str | None = strawberry.field(description="The limit a run breached.")
    logs: list[LogLineNode]
    effects: list[EffectNode]

    @classmethod
    def of(cls, ran: RunOutcome, dry_run: bool) -> RunResultNode:
        result = ran.result.to_dict()
        error = result["error"]
        return cls(
            execution_id=None if ran.execution_id is None else strawberry.ID(ran.execution_id),
            script_id=strawberry.ID(ran.script.id),
            script_version=ran.script.version,
            dry_run=dry_run,
            status=ran.result.status,
            phase=ran.result.phase,
            duration_ms=result["duration_ms"],
            operations=result["operations"],
            changes=result["changes"],
            removed=result["removed"],
            entity=result["entity"],
            reason=result["reason"],
            error=None if error is None else ScriptErrorNode(**error),
            limit=result["limit"],
            logs=[LogLineNode(**line) for line in result["logs"]],
            effects=[EffectNode.of(e) for e in ran.effects],
        )


# -- validation, catalogue ----------------------------------------------------------------------


@strawberry.type(name="Diagnostic", description="A finding of the validator.")
class DiagnosticNode:
    severity: str = strawberry.field(description="`error` or `warning`.")
    message: str
    line: int | None
    column: int | None

    @classmethod
    def of(cls, found: DiagnosticOut) -> DiagnosticNode:
        return cls(
            severity=found.severity, message=found.message, line=found.line, column=found.col
        )


@strawberry.type(name="ValidationResult")
class ValidationResultNode:
    ok: bool = strawberry.field(description="True when there is no error diagnostic.")
    diagnostics: list[DiagnosticNode]

    @classmethod
    def of(cls, out: ValidateOut) -> ValidationResultNode:
        return cls(ok=out.ok, diagnostics=[DiagnosticNode.of(d) for d in out.diagnostics])


@strawberry.type(name="Helper", description="A function scripts may call in some phases.")
class HelperNode:
    name: str
    signature: str
    returns: str | None = strawberry.field(description="What it returns, when declared.")
    description: str
    phases: list[ExecutionPhase]
    available: bool = strawberry.field(
        description="False for reserved helpers with no backing service yet."
    )

    @classmethod
    def of(cls, info: HelperInfo) -> HelperNode:
        return cls(**info.model_dump())


@strawberry.type(name="EntityType", description="An entity type scripts are bound to.")
class EntityTypeNode:
    name: str
    events: list[EventType]
    scripts: int
    active_scripts: int

    @classmethod
    def of(cls, info: EntityTypeInfo) -> EntityTypeNode:
        return cls(**info.model_dump())


@strawberry.type(name="EntityTypeListing")
class EntityTypeListingNode:
    entity_types: list[EntityTypeNode]
    accepted_events: list[EventType] = strawberry.field(
        description="Every event the service accepts."
    )

    @classmethod
    def of(cls, listing: EntityTypeListing) -> EntityTypeListingNode:
        return cls(
            entity_types=[EntityTypeNode.of(e) for e in listing.entity_types],
            accepted_events=list(listing.accepted_events),
        )


# -- inputs ------------------------------------------------------------------------------------


@strawberry.input(name="TriggerInput", description="Fields by `type`, as on `Trigger`.")
class TriggerInput:
    type: TriggerKind
    entity_type: str | None = None
    event: EventType | None = None
    expression: str | None = None
    timezone: str | None = None
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type.value}
        for field in ("entity_type", "event", "expression", "timezone", "name"):
            value = getattr(self, field)
            if value is not None:
                data[field] = value.value if isinstance(value, Enum) else value
        return data


def _fields(source: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The given (non-null) fields of an input, as the REST body would carry them."""
    data: dict[str, Any] = {}
    for name in names:
        value = getattr(source, name)
        if value is None:
            continue
        if isinstance(value, TriggerInput):
            value = value.to_dict()
        elif isinstance(value, Enum):
            value = value.value
        data[name] = value
    return data


_SCRIPT_FIELDS = ("name", "source", "trigger", "description", "status", "priority", "on_error")


@strawberry.input(name="CreateScriptInput")
class CreateScriptInput:
    name: str
    source: str
    trigger: TriggerInput
    description: str | None = None
    status: ScriptStatus | None = strawberry.field(
        default=None, description="`ACTIVE` to activate at once; `DRAFT` by default."
    )
    priority: int | None = None
    on_error: OnErrorPolicy | None = None

    def to_dict(self) -> dict[str, Any]:
        return _fields(self, _SCRIPT_FIELDS)


@strawberry.input(name="UpdateScriptInput", description="Fields to change; null keeps a value.")
class UpdateScriptInput:
    name: str | None = None
    source: str | None = None
    trigger: TriggerInput | None = None
    description: str | None = None
    status: ScriptStatus | None = None
    priority: int | None = None
    on_error: OnErrorPolicy | None = None

    def to_dict(self) -> dict[str, Any]:
        return _fields(self, _SCRIPT_FIELDS)
