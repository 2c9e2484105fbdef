"""Enumerations shared by every layer: events, phases, statuses."""

from __future__ import annotations

from enum import StrEnum


class ExecutionPhase(StrEnum):
    """When a script runs; decides which helpers it may call."""

    BEFORE = "before"
    AFTER = "after"
    ON_COMMIT = "on_commit"
    MANUAL = "manual"
    SCHEDULED = "scheduled"
    API = "api"


class EventType(StrEnum):
    """An entity lifecycle event a script can be bound to."""

    BEFORE_CREATE = "before_create"
    BEFORE_UPDATE = "before_update"
    BEFORE_DELETE = "before_delete"
    AFTER_CREATE = "after_create"
    AFTER_UPDATE = "after_update"
    AFTER_DELETE = "after_delete"
    ON_COMMIT_CREATE = "on_commit_create"
    ON_COMMIT_UPDATE = "on_commit_update"
    ON_COMMIT_DELETE = "on_commit_delete"

    @property
    def phase(self) -> ExecutionPhase:
        prefix = self.value.rsplit("_", 1)[0]
        return ExecutionPhase(prefix)

    @property
    def operation(self) -> str:
        """`create`, `update` or `delete`."""
        return self.value.rsplit("_", 1)[1]

    @property
    def has_before_image(self) -> bool:
        """Update and delete events carry the entity as it was."""
        return self.operation in ("update", "delete")


class ExecutionStatus(StrEnum):
    """How one script run ended."""

    SUCCESS = "success"
    ABORTED = "aborted"
    ERROR = "error"
    LIMIT_EXCEEDED = "limit_exceeded"
    TIMEOUT = "timeout"

    @property
    def is_failure(self) -> bool:
        """Failures count towards auto-disable; `abort` is a business outcome, not a failure."""
        return self in (
            ExecutionStatus.ERROR,
            ExecutionStatus.LIMIT_EXCEEDED,
            ExecutionStatus.TIMEOUT,
        )


class ScriptStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    DISABLED = "disabled"
    ARCHIVED = "archived"
