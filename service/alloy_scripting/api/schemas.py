"""Request and response bodies of the REST API (plain pydantic; the client reuses them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alloy_scripting.bridge.http.allowlist import MAX_ENTRIES
from alloy_scripting.model.egress import EgressRules
from alloy_scripting.model.enums import EventType, ExecutionPhase, ScriptStatus
from alloy_scripting.model.events import SideEffect
from alloy_scripting.model.fixtures import MAX_FIXTURES, Fixture
from alloy_scripting.model.json_check import CheckedJsonModel
from alloy_scripting.model.limits import ScriptLimits
from alloy_scripting.model.script import (
    MAX_DESCRIPTION_LENGTH,
    MAX_ENTITY_TYPE_LENGTH,
    MAX_NAME_LENGTH,
    NAME_PATTERN,
    ApiPath,
    ApiTrigger,
    CronExpression,
    CronTrigger,
    EventTrigger,
    HttpMethod,
    ManualTrigger,
    OnErrorPolicy,
    Script,
    ScriptSource,
    ScriptVersion,
    TimezoneName,
    parse_trigger,
)

#: Largest ``limit`` of a list endpoint.
MAX_LIMIT = 200
#: Largest ``offset`` (keeps skips within what every backend accepts).
MAX_OFFSET = 2_147_483_647
#: List filters: a name prefix, and an entity type (printable).
NAME_PREFIX_PATTERN = r"^[A-Za-z0-9_.-]*$"
ENTITY_TYPE_FILTER_PATTERN = r"^[^\x00-\x1f]+$"
_INT64_MAX = 2**63 - 1

Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN)]
Priority = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
Revision = Annotated[int, Field(ge=0, le=_INT64_MAX)]
VersionNumber = Annotated[int, Field(ge=1, le=MAX_OFFSET)]


class _Request(CheckedJsonModel):
    """Request bodies: unknown fields are refused, free-form JSON is checked."""


# -- triggers ------------------------------------------------------------------------------
# The API's own trigger models: the same fields and rules as the model's triggers, validated
# field by field (so every error names its field) before being turned into model triggers.


class _TriggerIn(_Request):
    def to_model(self) -> EventTrigger | CronTrigger | ManualTrigger | ApiTrigger:
        return parse_trigger(self.model_dump())


class EventTriggerIn(_TriggerIn):
    type: Literal["event"]
    entity_type: str = Field(min_length=1, max_length=MAX_ENTITY_TYPE_LENGTH)
    event: EventType


class CronTriggerIn(_TriggerIn):
    type: Literal["cron"]
    expression: CronExpression = Field(examples=["*/5 * * * *"])
    timezone: TimezoneName = Field(default="UTC", max_length=64, examples=["Europe/Paris"])


class ManualTriggerIn(_TriggerIn):
    type: Literal["manual"]


class ApiTriggerIn(_TriggerIn):
    """`method` and `path` route ``{method} /api/{path}`` to the script; a name-only
    trigger (before endpoints existed) routes nothing."""

    type: Literal["api"]
    method: HttpMethod | None = None
    path: ApiPath | None = Field(default=None, examples=["deals/score"])
    name: Name | None = None

    def to_model(self) -> EventTrigger | CronTrigger | ManualTrigger | ApiTrigger:
        return parse_trigger(self.model_dump(exclude_none=True))

    @model_validator(mode="after")
    def _routed_or_named(self) -> ApiTriggerIn:
        if (self.method is None) != (self.path is None):
            raise ValueError("an API trigger needs both method and path (or neither)")
        if self.method is None and self.name is None:
            raise ValueError("an API trigger needs a method and a path")
        return self


TriggerIn = Annotated[
    EventTriggerIn | CronTriggerIn | ManualTriggerIn | ApiTriggerIn, Field(discriminator="type")
]


# -- scripts -------------------------------------------------------------------------------


class ScriptCreate(_Request):
    name: Name
    source: ScriptSource
    trigger: TriggerIn
    description: str = Field(default="", max_length=MAX_DESCRIPTION_LENGTH)
    status: ScriptStatus = Field(
        default=ScriptStatus.DRAFT, description="`active` to activate at once."
    )
    priority: Priority = 0
    on_error: OnErrorPolicy = OnErrorPolicy.FAIL
    limits: ScriptLimits | None = Field(
        default=None, description="Run limits, up to the deployment's `ALLOY_LIMIT_MAX_*`."
    )
    fixtures: list[Fixture] = Field(
        default_factory=list,
        max_length=MAX_FIXTURES,
        description="Test cases; an active script's must all pass (else 409).",
    )


class ScriptUpdate(_Request):
    """Fields to change; omitted (or null) fields keep their value."""

    name: Name | None = None
    source: ScriptSource | None = None
    trigger: TriggerIn | None = None
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH)
    status: ScriptStatus | None = None
    priority: Priority | None = None
    on_error: OnErrorPolicy | None = None
    limits: ScriptLimits | None = Field(
        default=None, description="New run limits (`{}`: the deployment's defaults)."
    )
    fixtures: list[Fixture] | None = Field(default=None, max_length=MAX_FIXTURES)
    revision: Revision | None = Field(
        default=None,
        description="The revision you read; a stale one gives 409 (a stale `If-Match` gives 412).",
    )


class ScriptOut(Script):
    """A stored script, plus the next time a cron script will fire."""

    next_run_at: datetime | None = Field(
        default=None, description="Active cron scripts: the next scheduled time (UTC)."
    )


class ScriptList(BaseModel):
    items: list[ScriptOut]
    total: int
    offset: int
    limit: int


class VersionList(BaseModel):
    items: list[ScriptVersion]
    total: int


class DisableIn(_Request):
    reason: str | None = Field(default=None, max_length=2048)


class RollbackIn(_Request):
    version: VersionNumber
    revision: Revision | None = Field(
        default=None, description="The revision you read (409 if stale)."
    )


# -- validation and runs ---------------------------------------------------------------------


class ValidateIn(_Request):
    source: ScriptSource
    phase: ExecutionPhase | None = Field(
        default=None, description="Check the helpers of this phase too (e.g. `before`)."
    )


class DiagnosticOut(BaseModel):
    """A `model.result.Diagnostic` as the API returns it."""

    model_config = ConfigDict(extra="allow")

    severity: str
    message: str
    line: int | None = None
    col: int | None = None


class ValidateOut(BaseModel):
    ok: bool = Field(description="True when there is no error diagnostic.")
    diagnostics: list[DiagnosticOut]


class RunIn(_Request):
    params: dict[str, Any] = Field(default_factory=dict)
    entity: dict[str, Any] | None = Field(default=None, description="A sample entity.")
    entity_type: str | None = Field(default=None, min_length=1, max_length=MAX_ENTITY_TYPE_LENGTH)
    dry_run: bool = Field(
        default=False, description="Run without emitting effects, logging or counting failures."
    )


class RunOut(BaseModel):
    script_id: str
    version: int
    execution_id: str | None = Field(
        default=None, description="The run's execution record (none for a dry run)."
    )
    result: dict[str, Any] = Field(description="The engine's `ExecutionResult`.")
    effects: list[SideEffect]


# -- health ----------------------------------------------------------------------------------


class Liveness(BaseModel):
    status: str
    instance_id: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, bool]


# -- egress ----------------------------------------------------------------------------------


class EgressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow: list[str] = Field(
        max_length=MAX_ENTRIES,
        description="`host`, `host:port` or `*.domain` (subdomains of domain); no port "
        "means 80 and 443; IPv6 in brackets.",
        examples=[["api.example.com", "*.hooks.example.com", "127.0.0.1:8081"]],
    )


class EgressOut(BaseModel):
    tenant_id: str | None
    allow: list[str]
    updated_at: datetime | None = None
    updated_by: str | None = None

    @classmethod
    def of(cls, rules: EgressRules) -> EgressOut:
        return cls(
            tenant_id=rules.tenant_id,
            allow=list(rules.allow),
            updated_at=rules.updated_at,
            updated_by=rules.updated_by,
        )
