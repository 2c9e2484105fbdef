"""Test cases a script carries (`Fixture`) and how one run compares with its expectation.

Fixtures run as debug runs (no side effects) in the script's own phase; activating a
script, or updating an active one, is refused while any of them fails."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from alloy_scripting.model.debug import MAX_HTTP_FIXTURES, HttpFixture
from alloy_scripting.model.enums import EventType, ExecutionStatus
from alloy_scripting.model.json_check import CheckedJsonModel
from alloy_scripting.model.result import ExecutionResult, jsonable

MAX_FIXTURES = 50
MAX_FIXTURE_NAME = 128

Outcome = Literal["continue", "rejected", "error"]


class _Plain(CheckedJsonModel):
    model_config = ConfigDict(frozen=True)


class EmittedExpectation(_Plain):
    event_type: str = Field(min_length=1, max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict)


class FixtureExpect(_Plain):
    """What the run must produce; omitted fields are not checked."""

    outcome: Outcome
    changes: dict[str, Any] | None = Field(default=None, description="Exactly these changes.")
    removed: list[str] | None = Field(default=None, description="Exactly these removed fields.")
    reason_contains: str | None = Field(default=None, max_length=1024)
    emitted: list[EmittedExpectation] | None = Field(
        default=None, description="Exactly these emits, in order."
    )


class Fixture(_Plain):
    """One test case: a sample event and what the script must answer to it."""

    name: str = Field(min_length=1, max_length=MAX_FIXTURE_NAME)
    event: EventType | None = Field(default=None, description="Defaults to the trigger's event.")
    entity: dict[str, Any] = Field(default_factory=dict)
    entity_before: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    config: dict[str, Any] | None = Field(
        default=None, description="The script's `config` for this case (default: the script's own)."
    )
    http_fixtures: list[HttpFixture] = Field(
        default_factory=list,
        max_length=MAX_HTTP_FIXTURES,
        description="Answers to the case's HTTP calls (a debug run performs none).",
    )
    expect: FixtureExpect


def outcome_of(result: ExecutionResult) -> Outcome:
    if result.status is ExecutionStatus.SUCCESS:
        return "continue"
    if result.status is ExecutionStatus.ABORTED:
        return "rejected"
    return "error"


class CaseReport(BaseModel):
    """The verdict on one fixture: `differences` says what did not match."""

    name: str
    passed: bool
    outcome: Outcome
    differences: list[str]
    result: dict[str, Any]


def judge(fixture: Fixture, result: ExecutionResult) -> CaseReport:
    """Compare `result` with `fixture.expect`."""
    expect = fixture.expect
    outcome = outcome_of(result)
    differences: list[str] = []
    if outcome != expect.outcome:
        why = result.reason or (result.error.message if result.error else "")
        differences.append(
            f"outcome: expected {expect.outcome}, got {outcome}" + (f" ({why})" if why else "")
        )
    changes = jsonable(result.changes)
    if expect.changes is not None and changes != expect.changes:
        differences.append(f"changes: expected {expect.changes!r}, got {changes!r}")
    if expect.removed is not None and sorted(result.removed) != sorted(expect.removed):
        differences.append(f"removed: expected {expect.removed!r}, got {result.removed!r}")
    if expect.reason_contains is not None and expect.reason_contains not in (result.reason or ""):
        differences.append(
            f"reason: expected it to contain {expect.reason_contains!r}, got {result.reason!r}"
        )
    if expect.emitted is not None:
        got = [event.to_dict() for event in result.emitted]
        wanted = [item.model_dump() for item in expect.emitted]
        if got != wanted:
            differences.append(f"emitted: expected {wanted!r}, got {got!r}")
    return CaseReport(
        name=fixture.name,
        passed=not differences,
        outcome=outcome,
        differences=[text[:2000] for text in differences],
        result=result.to_dict(),
    )
