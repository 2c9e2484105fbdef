"""Paginated results and list filters."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alloy_scripting.model.enums import EventType, ExecutionStatus, ScriptStatus
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.script import Script, TriggerType


class ScriptQuery(BaseModel):
    """Filters for `ScriptRegistry.find_paginated`; every field set narrows the result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: ScriptStatus | None = None
    trigger_type: TriggerType | None = None
    entity_type: str | None = Field(default=None, min_length=1, max_length=128)
    event: EventType | None = None
    name_prefix: str | None = Field(default=None, max_length=128)


class ExecutionQuery(BaseModel):
    """Filters for `ExecutionLog.find_by_script`: a status, and started at or after `since`
    and before `until` (aware datetimes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: ExecutionStatus | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None

    def matches(self, record: ExecutionRecord) -> bool:
        return (
            (self.status is None or record.status is self.status)
            and (self.since is None or record.started_at >= self.since)
            and (self.until is None or record.started_at < self.until)
        )


class _Page(BaseModel):
    total: int = Field(ge=0, description="Matches in the database, ignoring offset/limit.")
    offset: int = Field(ge=0)
    limit: int = Field(ge=0)

    @property
    def has_more(self) -> bool:
        return self.offset + self.limit < self.total


class ScriptPage(_Page):
    """One page of scripts, sorted by name."""

    items: list[Script]


class ExecutionPage(_Page):
    """One page of the execution log, newest first."""

    items: list[ExecutionRecord]
