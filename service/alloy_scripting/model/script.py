"""Scripts, their triggers and their immutable version records.

Two counters describe a script's history:

* ``version`` numbers the *definition* (source + trigger). It starts at 1 and is
  bumped by the storage whenever a save changes the source or the trigger (a
  rollback always bumps it). Every version has an immutable `ScriptVersion` record.
* ``revision`` numbers the *document* for optimistic concurrency (the REST API's
  ETag / ``If-Match``). It is 0 for a script that was never saved, 1 after the
  first save, and +1 on every save, reset, rollback and automatic disable. Runtime
  counters (``error_count``, ``last_error``) change without bumping it, so running
  a script does not invalidate an editor's copy; an automatic disable does.

Both counters are owned by the storage: whatever a caller puts in them is ignored
on save, except that ``revision`` must equal the stored one.
"""

from __future__ import annotations

import functools
import uuid
import zoneinfo
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from alloy_scripting.model.enums import EventType, ExecutionPhase, ScriptStatus
from alloy_scripting.model.fixtures import MAX_FIXTURES, Fixture
from alloy_scripting.model.limits import ScriptLimits
from alloy_scripting.model.template_ref import TemplateRef

#: Largest script source accepted, in UTF-8 bytes.
MAX_SOURCE_BYTES = 256 * 1024
#: Longest script name; names are also URL path segments (``/scripts/name/{name}/run``).
MAX_NAME_LENGTH = 128
NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
MAX_DESCRIPTION_LENGTH = 4096
MAX_ENTITY_TYPE_LENGTH = 128
#: Longest message kept in `LastError` and in ``disabled_reason``.
MAX_ERROR_MESSAGE_LENGTH = 2048


def utc_now() -> datetime:
    """The current time, timezone-aware UTC, truncated to milliseconds (BSON's precision)."""
    return to_utc_ms(datetime.now(UTC))


def to_utc_ms(value: datetime) -> datetime:
    """Normalise an aware datetime to UTC with millisecond precision, as MongoDB stores it."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


#: A timezone-aware datetime normalised to UTC and millisecond precision.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(to_utc_ms)]


@functools.cache
def _iana_zones() -> frozenset[str]:
    # Some systems' zone directories also hold the host's own zone under these names.
    return frozenset(zoneinfo.available_timezones()) - {"localtime", "posixrules", "Factory"}


def check_timezone(value: str) -> str:
    """`value` if it names an IANA time zone (not "localtime" or a file path, which would
    depend on the host the service runs on), else a `ValueError`."""
    if value != "UTC" and value not in _iana_zones():
        raise ValueError(f"unknown timezone {value!r} (an IANA name such as 'Europe/Paris')")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown timezone {value!r}") from exc
    return value


#: An IANA time-zone name (checked by `check_timezone`).
TimezoneName = Annotated[str, AfterValidator(check_timezone)]


def check_cron_expression(value: str) -> str:
    """`value`, stripped, if croniter accepts it (5 fields, or 6 with seconds); else a
    `ValueError`."""
    value = value.strip()
    if not croniter.is_valid(value):
        raise ValueError(f"invalid cron expression {value!r}")
    return value


#: A cron expression (checked by `check_cron_expression`), as every surface accepts it.
CronExpression = Annotated[
    str, Field(min_length=1, max_length=256), AfterValidator(check_cron_expression)
]


#: A tenant id: the same bound on every surface (REST header, Kafka events, storage).
MAX_TENANT_LENGTH = 128


def new_id() -> str:
    """A fresh script / record id: a uuid4 as 32 hex digits."""
    return uuid.uuid4().hex


def truncate(text: str, limit: int = MAX_ERROR_MESSAGE_LENGTH) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _check_source(value: str) -> str:
    size = len(value.encode("utf-8", errors="surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        raise ValueError(f"source is {size} bytes; the limit is {MAX_SOURCE_BYTES} bytes")
    return value


#: A script (or API trigger) name: also a URL path segment. The constraints are in the JSON
#: schema (OpenAPI) as well.
ScriptName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN)
]
#: Script source, at most `MAX_SOURCE_BYTES` UTF-8 bytes.
ScriptSource = Annotated[str, Field(max_length=MAX_SOURCE_BYTES), AfterValidator(_check_source)]


class OnErrorPolicy(StrEnum):
    """What a before-hook chain does when this script errors or breaches a limit."""

    FAIL = "fail"
    """Fail closed: the chain answers ``error``."""
    CONTINUE = "continue"
    """Skip this script and go on with the next one."""


TriggerType = Literal["event", "cron", "manual", "api"]

#: Methods an API endpoint may answer.
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
MAX_API_PATH_LENGTH = 256
#: Segments of letters, digits and ``_ . ~ -`` joined by ``/``.
API_PATH_PATTERN = r"^[A-Za-z0-9_.~-]+(/[A-Za-z0-9_.~-]+)*$"


def _strip_slashes(value: Any) -> Any:
    return value.strip("/") if isinstance(value, str) else value


def _no_dot_segments(value: str) -> str:
    if any(segment in (".", "..") for segment in value.split("/")):
        raise ValueError("an API path has no '.' or '..' segment")
    return value


#: The path of an API endpoint under ``/api/``, stored without leading or trailing ``/``.
ApiPath = Annotated[
    str,
    BeforeValidator(_strip_slashes),
    StringConstraints(min_length=1, max_length=MAX_API_PATH_LENGTH, pattern=API_PATH_PATTERN),
    AfterValidator(_no_dot_segments),
]


def _positional(
    args: tuple[Any, ...], names: tuple[str, ...], data: dict[str, Any]
) -> dict[str, Any]:
    """Map the seed-style positional arguments of a trigger onto its fields.

    Pydantic calls a model's own `__init__` when it validates plain data too, so the
    positional parameters must stay optional there: a missing field must come out as a
    validation error naming it, not as a `TypeError`."""
    if len(args) > len(names):
        raise TypeError(f"expected at most {len(names)} positional arguments, got {len(args)}")
    for name, value in zip(names, args, strict=False):
        if name in data:
            raise TypeError(f"{name} given twice")
        data[name] = value
    return data


class _Trigger(BaseModel):
    """A trigger knows the phase its runs have (`phase`), which decides the helpers
    available to its script."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class EventTrigger(_Trigger):
    """Runs on an entity lifecycle event: ``Event("deal", EventType.BEFORE_CREATE)``."""

    type: Literal["event"] = "event"
    entity_type: str = Field(min_length=1, max_length=MAX_ENTITY_TYPE_LENGTH)
    event: EventType

    def __init__(self, *args: Any, **data: Any) -> None:
        """`EventTrigger(entity_type, event)`; missing fields are validation errors."""
        super().__init__(**_positional(args, ("entity_type", "event"), data))

    @property
    def phase(self) -> ExecutionPhase:
        return self.event.phase


class CronTrigger(_Trigger):
    """Runs on a schedule: ``Cron("*/5 * * * *", timezone="Europe/Paris")``.

    ``expression`` is anything croniter accepts (5 fields, or 6 with seconds).
    """

    type: Literal["cron"] = "cron"
    expression: CronExpression
    timezone: TimezoneName = "UTC"

    def __init__(self, *args: Any, **data: Any) -> None:
        """`CronTrigger(expression, timezone="UTC")`."""
        super().__init__(**_positional(args, ("expression", "timezone"), data))

    @property
    def phase(self) -> ExecutionPhase:
        return ExecutionPhase.SCHEDULED

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ManualTrigger(_Trigger):
    """Runs only when asked to (REST API, CLI): ``Manual()``."""

    type: Literal["manual"] = "manual"

    @property
    def phase(self) -> ExecutionPhase:
        return ExecutionPhase.MANUAL


class ApiTrigger(_Trigger):
    """Runs as an HTTP endpoint: ``Api("POST", "deals/score")`` answers
    ``POST /api/deals/score``. A name-only trigger (``Api("recalculate")``, as stored before
    endpoints existed) stays valid: it routes nothing and runs by hand in the ``api`` phase."""

    type: Literal["api"] = "api"
    name: ScriptName | None = None
    method: HttpMethod | None = None
    path: ApiPath | None = None

    def __init__(self, *args: Any, **data: Any) -> None:
        """`ApiTrigger(method, path)`, or the older `ApiTrigger(name)`."""
        names = ("method", "path") if len(args) == 2 else ("name",)
        super().__init__(**_positional(args, names, data))

    @model_validator(mode="before")
    @classmethod
    def _routed_or_named(cls, data: Any) -> Any:
        """Missing fields are "missing" errors, as for the other triggers: a route needs
        `method` and `path`; without both, only the older `name` stands alone."""
        if isinstance(data, dict):
            method, path = data.get("method"), data.get("path")
            if method is None and path is None and data.get("name") is None:
                raise PydanticCustomError("missing", "an API trigger needs method and path")
            if (method is None) != (path is None):
                lacking = "path" if path is None else "method"
                raise PydanticCustomError("missing", f"an API trigger with a route needs {lacking}")
        return data

    @property
    def phase(self) -> ExecutionPhase:
        return ExecutionPhase.API

    @property
    def route(self) -> tuple[str, str] | None:
        """(method, path) when the trigger is bound to an HTTP route."""
        if self.method is None or self.path is None:
            return None
        return self.method, self.path


# The short names of the seed: Event(...), Cron(...), Manual(), Api(...).
Event = EventTrigger
Cron = CronTrigger
Manual = ManualTrigger
Api = ApiTrigger

#: What makes a script run; discriminated by ``type`` (``event`` | ``cron`` | ``manual`` | ``api``).
ScriptTrigger: TypeAlias = Annotated[
    EventTrigger | CronTrigger | ManualTrigger | ApiTrigger, Field(discriminator="type")
]

TRIGGER_ADAPTER: TypeAdapter[EventTrigger | CronTrigger | ManualTrigger | ApiTrigger] = TypeAdapter(
    ScriptTrigger
)


def parse_trigger(data: Any) -> EventTrigger | CronTrigger | ManualTrigger | ApiTrigger:
    """Validate a trigger from plain data (``{"type": "event", ...}``)."""
    return TRIGGER_ADAPTER.validate_python(data)


class LastError(BaseModel):
    """The most recent failure of a script."""

    model_config = ConfigDict(frozen=True)

    message: str
    at: UtcDatetime = Field(default_factory=utc_now)

    @field_validator("message")
    @classmethod
    def _bounded(cls, value: str) -> str:
        return truncate(value)


class Script(BaseModel):
    """A business script bound to a trigger. The unit the registry stores."""

    model_config = ConfigDict(validate_assignment=True, extra="ignore")

    id: str = Field(default_factory=new_id, min_length=1, max_length=64)
    tenant_id: str | None = Field(default=None, max_length=MAX_TENANT_LENGTH)
    name: ScriptName
    description: str = Field(default="", max_length=MAX_DESCRIPTION_LENGTH)
    source: ScriptSource
    trigger: ScriptTrigger
    status: ScriptStatus = ScriptStatus.DRAFT
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    on_error: OnErrorPolicy = OnErrorPolicy.FAIL
    limits: ScriptLimits | None = Field(
        default=None,
        description="Run limits above or below the deployment's defaults, up to its maxima.",
    )
    version: int = Field(default=1, ge=1)
    revision: int = Field(default=0, ge=0)
    error_count: int = Field(default=0, ge=0)
    last_error: LastError | None = None
    disabled_reason: str | None = None
    disabled_at: UtcDatetime | None = None
    created_at: UtcDatetime = Field(default_factory=utc_now)
    updated_at: UtcDatetime = Field(default_factory=utc_now)
    created_by: str | None = None
    updated_by: str | None = None
    fixtures: list[Fixture] = Field(
        default_factory=list,
        max_length=MAX_FIXTURES,
        description="Test cases that must pass before the script can be (or stay) active.",
    )
    template: TemplateRef | None = Field(
        default=None,
        description="The template this script was made from and its parameters (`config`).",
    )

    @classmethod
    def new(
        cls,
        name: str,
        source: str,
        trigger: EventTrigger | CronTrigger | ManualTrigger | ApiTrigger,
        *,
        tenant_id: str | None = None,
        description: str = "",
        priority: int = 0,
        on_error: OnErrorPolicy | str = OnErrorPolicy.FAIL,
        created_by: str | None = None,
        fixtures: list[Fixture] | None = None,
    ) -> Script:
        """A new draft script (never saved: ``revision == 0``)."""
        now = utc_now()
        return cls.model_validate(
            {
                "name": name,
                "source": source,
                "trigger": trigger,
                "tenant_id": tenant_id,
                "description": description,
                "priority": priority,
                "on_error": on_error,
                "created_at": now,
                "updated_at": now,
                "created_by": created_by,
                "updated_by": created_by,
                "fixtures": fixtures or [],
            }
        )

    # -- lifecycle (in memory; persist with ``registry.save``) ---------------------------

    def activate(self) -> Script:
        """Mark active (clears any disable); returns ``self`` for chaining."""
        self.status = ScriptStatus.ACTIVE
        self.disabled_reason = None
        self.disabled_at = None
        self.error_count = 0
        return self

    def disable(self, reason: str) -> Script:
        self.status = ScriptStatus.DISABLED
        self.disabled_reason = truncate(reason)
        self.disabled_at = utc_now()
        return self

    def archive(self) -> Script:
        self.status = ScriptStatus.ARCHIVED
        return self

    @property
    def config(self) -> dict[str, Any] | None:
        """What the script sees as `config`: its template parameters (None: no template)."""
        return None if self.template is None else self.template.params

    @property
    def is_active(self) -> bool:
        return self.status is ScriptStatus.ACTIVE

    @property
    def is_saved(self) -> bool:
        return self.revision > 0

    @property
    def trigger_type(self) -> TriggerType:
        return self.trigger.type

    @property
    def etag(self) -> str:
        """A strong HTTP entity tag for this revision."""
        return f'"{self.id}-{self.revision}"'

    def same_definition(self, other: Script | ScriptVersion) -> bool:
        """True when source and trigger are equal (the things ``version`` numbers)."""
        return self.source == other.source and self.trigger == other.trigger


class ScriptVersion(BaseModel):
    """The immutable definition of one version of a script."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    script_id: str
    tenant_id: str | None = None
    version: int = Field(ge=1)
    source: ScriptSource
    trigger: ScriptTrigger
    created_at: UtcDatetime = Field(default_factory=utc_now)
    created_by: str | None = None
    rolled_back_from: int | None = Field(
        default=None, description="Set when this version was created by a rollback to that version."
    )

    @classmethod
    def of(cls, script: Script, *, rolled_back_from: int | None = None) -> ScriptVersion:
        return cls(
            script_id=script.id,
            tenant_id=script.tenant_id,
            version=script.version,
            source=script.source,
            trigger=script.trigger,
            created_at=script.updated_at,
            created_by=script.updated_by,
            rolled_back_from=rolled_back_from,
        )


class FailureOutcome(BaseModel):
    """What `ScriptRegistry.record_failure` did."""

    script: Script
    disabled: bool = Field(
        description="True for the one call that performed the automatic disable transition."
    )

    @property
    def error_count(self) -> int:
        return self.script.error_count
