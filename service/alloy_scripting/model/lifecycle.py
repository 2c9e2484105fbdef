"""The lifecycle rules of a stored script, one definition for every store: what a save
writes (insert, update, new version or not), what a failure records and when it disables,
what a reset and a rollback write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alloy_scripting.model.enums import ScriptStatus
from alloy_scripting.model.script import LastError, Script, ScriptVersion, truncate, utc_now

#: Fields ``save`` writes on update (everything else is storage-owned or immutable).
SAVED_FIELDS = (
    "name",
    "description",
    "source",
    "trigger",
    "status",
    "priority",
    "on_error",
    "fixtures",
    "disabled_reason",
    "disabled_at",
    "updated_by",
)


def _lifecycle_fields(script: Script, now: datetime) -> dict[str, Any]:
    if script.status is ScriptStatus.DISABLED:
        return {
            "disabled_reason": script.disabled_reason or "disabled",
            "disabled_at": script.disabled_at or now,
        }
    return {"disabled_reason": None, "disabled_at": None}


def prepare_insert(script: Script, now: datetime | None = None) -> Script:
    """The script as first stored: revision 1, version 1."""
    now = now or utc_now()
    update: dict[str, Any] = {"revision": 1, "version": 1, "updated_at": now}
    update.update(_lifecycle_fields(script, now))
    return script.model_copy(update=update)


def prepare_update(
    stored: Script,
    incoming: Script,
    *,
    now: datetime | None = None,
    force_new_version: bool = False,
) -> tuple[dict[str, Any], bool]:
    """The fields to write over ``stored`` and whether this makes a new version."""
    now = now or utc_now()
    fields: dict[str, Any] = {name: getattr(incoming, name) for name in SAVED_FIELDS}
    fields.update(_lifecycle_fields(incoming, now))
    new_version = force_new_version or not stored.same_definition(incoming)
    fields["version"] = stored.version + 1 if new_version else stored.version
    fields["revision"] = stored.revision + 1
    fields["updated_at"] = now
    if incoming.status is ScriptStatus.ACTIVE and stored.status is not ScriptStatus.ACTIVE:
        fields["error_count"] = 0
    return fields, new_version


def as_last_error(error: str | LastError) -> LastError:
    return error if isinstance(error, LastError) else LastError(message=str(error))


def disabled_reason(error_count: int, error: LastError) -> str:
    return truncate(
        f"automatically disabled after {error_count} consecutive failures; last: {error.message}"
    )


def reset_fields(now: datetime, updated_by: str | None) -> dict[str, Any]:
    """What a reset writes: active again, failures forgotten."""
    return {
        "status": ScriptStatus.ACTIVE,
        "error_count": 0,
        "disabled_reason": None,
        "disabled_at": None,
        "updated_at": now,
        "updated_by": updated_by,
    }


def rollback_of(
    stored: Script,
    target: ScriptVersion,
    *,
    expected_revision: int | None = None,
    updated_by: str | None = None,
) -> Script:
    """The script as a rollback to `target` saves it (as a new version, see the stores):
    its source and trigger, at the revision the caller expects (the stored one if none)."""
    revision = stored.revision if expected_revision is None else expected_revision
    return stored.model_copy(
        update={
            "source": target.source,
            "trigger": target.trigger,
            "revision": revision,
            "updated_by": updated_by,
        }
    )
