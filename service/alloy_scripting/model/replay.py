"""A replay's verdict as plain data: how a new run of a recorded input differs from the
recorded run (outcome and status, reason, changes per key, removed fields, emitted events).

Both sides are compared as JSON (what the record keeps), so ``1`` and ``1.0`` differ, as
they would for a consumer of the changes."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from alloy_scripting.model.enums import ExecutionStatus
from alloy_scripting.model.execution import TRUNCATED_MARKER, ExecutionRecord, bound_reason
from alloy_scripting.model.fixtures import Outcome
from alloy_scripting.model.result import ExecutionResult, jsonable


def outcome_of_status(status: ExecutionStatus) -> Outcome:
    """A hook's answer for a run that ended so (as fixtures judge it)."""
    if status is ExecutionStatus.SUCCESS:
        return "continue"
    if status is ExecutionStatus.ABORTED:
        return "rejected"
    return "error"


class Change(BaseModel):
    """How one key of `changes` differs: the replay sets a key the recorded run did not
    (`added`), no longer sets one (`removed`), or sets another value (`changed`)."""

    kind: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None


class Difference(BaseModel):
    """A value before (recorded) and after (replayed)."""

    before: Any = None
    after: Any = None


class RemovedDiff(BaseModel):
    """Fields the replay removes that the recorded run kept (`added`), and fields the
    recorded run removed that the replay keeps (`dropped`)."""

    added: list[str] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)


class EmittedDiff(BaseModel):
    """Emitted events (``{event_type, payload}``) only the replay emits (`added`) and only
    the recorded run emitted (`removed`), each as often as it differs."""

    added: list[dict[str, Any]] = Field(default_factory=list)
    removed: list[dict[str, Any]] = Field(default_factory=list)


class ReplayDiff(BaseModel):
    """What differs; `same` when nothing does. A field the record keeps truncated cannot
    be compared: it is named in `incomparable`."""

    same: bool
    outcome: Difference | None = None
    status: Difference | None = None
    reason: Difference | None = None
    changes: dict[str, Change] = Field(default_factory=dict)
    removed: RemovedDiff = Field(default_factory=RemovedDiff)
    emitted: EmittedDiff = Field(default_factory=EmittedDiff)
    incomparable: list[str] = Field(default_factory=list)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _published(result: ExecutionResult) -> list[dict[str, Any]]:
    """The events a run's success publishes (a failed run publishes none)."""
    if result.status is not ExecutionStatus.SUCCESS:
        return []
    return [emitted.to_dict() for emitted in result.emitted]


def diff_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Change]:
    diff: dict[str, Change] = {}
    for key, value in after.items():
        if key not in before:
            diff[key] = Change(kind="added", after=value)
        elif _key(before[key]) != _key(value):
            diff[key] = Change(kind="changed", before=before[key], after=value)
    for key, value in before.items():
        if key not in after:
            diff[key] = Change(kind="removed", before=value)
    return diff


def diff_emitted(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> EmittedDiff:
    """The multiset difference of two lists of events, in their order."""
    return EmittedDiff(added=_beyond(after, before), removed=_beyond(before, after))


def _beyond(events: list[dict[str, Any]], others: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of `events` that `others` does not match one for one, in order."""
    unmatched = [_key(event) for event in others]
    beyond = []
    for event in events:
        key = _key(event)
        if key in unmatched:
            unmatched.remove(key)
        else:
            beyond.append(event)
    return beyond


def diff_run(record: ExecutionRecord, result: ExecutionResult) -> ReplayDiff:
    """How `result` (the replay) differs from the run `record` describes."""
    incomparable: list[str] = []
    outcome = status = reason = None
    before_outcome, after_outcome = (
        outcome_of_status(record.status),
        outcome_of_status(result.status),
    )
    if before_outcome != after_outcome:
        outcome = Difference(before=before_outcome, after=after_outcome)
    if record.status is not result.status:
        status = Difference(before=record.status.value, after=result.status.value)
    after_reason = bound_reason(result.reason)  # as a record keeps it
    if record.reason != after_reason:
        reason = Difference(before=record.reason, after=after_reason)
    changes: dict[str, Change] = {}
    if record.changes_truncated:
        incomparable.append("changes")
    else:
        changes = diff_changes(record.changes or {}, jsonable(result.changes) or {})
    removed = RemovedDiff(
        added=[field for field in result.removed if field not in record.removed],
        dropped=[field for field in record.removed if field not in result.removed],
    )
    emitted = EmittedDiff()
    if record.emitted and record.emitted[0].get(TRUNCATED_MARKER) is True:
        incomparable.append("emitted")
    else:
        emitted = diff_emitted(record.emitted, _published(result))
    same = not (
        outcome or status or reason or changes or removed.added or removed.dropped
        or emitted.added or emitted.removed
    )  # fmt: skip
    return ReplayDiff(
        same=same,
        outcome=outcome,
        status=status,
        reason=reason,
        changes=changes,
        removed=removed,
        emitted=emitted,
        incomparable=incomparable,
    )
