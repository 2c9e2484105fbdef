"""The registry's model: scripts, triggers, records, pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

import alloy_scripting.model as model
from alloy_scripting.model import (
    Api,
    ApiTrigger,
    Cron,
    CronTrigger,
    Event,
    EventTrigger,
    EventType,
    ExecutionPhase,
    ExecutionRecord,
    ExecutionStatus,
    Manual,
    ManualTrigger,
    OnErrorPolicy,
    Script,
    ScriptPage,
    ScriptQuery,
    ScriptStatus,
    ScriptTrigger,
    ScriptVersion,
)
from alloy_scripting.model.execution import (
    MAX_CHANGES_BYTES,
    MAX_LOG_LINES,
    TRUNCATED_MARKER,
    new_record_id,
)
from alloy_scripting.model.script import MAX_SOURCE_BYTES, parse_trigger, utc_now

SRC = 'if entity["amount"] < 100:\n    abort("Minimum deal amount is 100")\n'


def error_locs(exc: ValidationError) -> list[tuple[str | int, ...]]:
    return [tuple(e["loc"]) for e in exc.errors()]


def test_seed_example() -> None:
    script = Script.new("validate_deal", SRC, Event("deal", EventType.BEFORE_CREATE)).activate()
    assert script.status is ScriptStatus.ACTIVE
    assert (script.version, script.revision, script.error_count) == (1, 0, 0)
    assert script.on_error is OnErrorPolicy.FAIL
    assert script.tenant_id is None and not script.is_saved
    assert script.trigger_type == "event"
    assert len(script.id) == 32
    assert script.created_at.tzinfo is not None
    assert script.created_at.microsecond % 1000 == 0, "BSON keeps milliseconds"


def test_trigger_constructors() -> None:
    assert Event("deal", "before_create") == EventTrigger(
        entity_type="deal", event=EventType.BEFORE_CREATE
    )
    assert Cron("*/5 * * * *").timezone == "UTC"
    assert Cron("0 9 * * 1-5", "Europe/Paris") == CronTrigger(
        expression="0 9 * * 1-5", timezone="Europe/Paris"
    )
    assert Cron("*/10 * * * * *").expression == "*/10 * * * * *", "seconds field"
    assert Manual().type == "manual"
    assert Api("recalc") == ApiTrigger(name="recalc")
    assert (Event, Cron, Manual, Api) == (EventTrigger, CronTrigger, ManualTrigger, ApiTrigger)


def test_trigger_union_discriminates() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(ScriptTrigger)
    assert adapter.validate_python({"type": "cron", "expression": "0 * * * *"}) == Cron("0 * * * *")
    assert parse_trigger(
        {"type": "event", "entity_type": "deal", "event": "after_update"}
    ) == Event("deal", EventType.AFTER_UPDATE)
    with pytest.raises(ValidationError) as err:
        Script.model_validate({"name": "x", "source": "", "trigger": {"type": "webhook"}})
    assert error_locs(err.value) == [("trigger",)]
    assert "webhook" in str(err.value)


@pytest.mark.parametrize(
    ("build", "loc"),
    [
        (lambda: Script.new("", SRC, Manual()), ("name",)),
        (lambda: Script.new("x" * 129, SRC, Manual()), ("name",)),
        (lambda: Script.new("has space", SRC, Manual()), ("name",)),
        (lambda: Script.new("slash/name", SRC, Manual()), ("name",)),
        (lambda: Script.new("ok", "x" * (MAX_SOURCE_BYTES + 1), Manual()), ("source",)),
        (lambda: Script.new("ok", "é" * (MAX_SOURCE_BYTES // 2 + 1), Manual()), ("source",)),
        (lambda: Cron("not a cron"), ("expression",)),
        (lambda: Cron("61 * * * *"), ("expression",)),
        (lambda: Cron("* * * * *", "Mars/Olympus"), ("timezone",)),
        (lambda: Event("", "before_create"), ("entity_type",)),
        (lambda: Event("deal", "before_explode"), ("event",)),
        (lambda: Api("bad name"), ("name",)),
        (lambda: Script.new("ok", SRC, Manual(), on_error="ignore"), ("on_error",)),
    ],
)
def test_invalid_input_names_the_field(build: Any, loc: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as err:
        build()
    assert loc in error_locs(err.value)


def test_nested_trigger_errors_name_the_path() -> None:
    with pytest.raises(ValidationError) as err:
        Script.model_validate(
            {"name": "x", "source": "", "trigger": {"type": "cron", "expression": "nope"}}
        )
    assert error_locs(err.value) == [("trigger", "cron", "expression")]


def test_name_allows_url_safe_characters() -> None:
    assert Script.new("A-z_0.9", SRC, Manual()).name == "A-z_0.9"
    assert Script.new("x" * 128, "x" * MAX_SOURCE_BYTES, Manual()).name == "x" * 128


def test_assignment_is_validated() -> None:
    script = Script.new("ok", SRC, Manual())
    with pytest.raises(ValidationError):
        script.name = "no spaces"


def test_lifecycle_helpers() -> None:
    script = Script.new("ok", SRC, Manual())
    script.disable("maintenance")
    assert script.status is ScriptStatus.DISABLED and script.disabled_at is not None
    script.error_count = 3
    script.activate()
    assert (script.status, script.disabled_reason, script.disabled_at, script.error_count) == (
        ScriptStatus.ACTIVE,
        None,
        None,
        0,
    )
    assert script.archive().status is ScriptStatus.ARCHIVED


def test_datetimes_are_utc_milliseconds() -> None:
    plus2 = timezone(timedelta(hours=2))
    script = Script.new("ok", SRC, Manual()).model_copy()
    script.created_at = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=plus2)
    assert script.created_at == datetime(2030, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert script.created_at.tzinfo is UTC
    with pytest.raises(ValidationError):
        script.updated_at = datetime(2030, 1, 1)  # naive
    assert utc_now().tzinfo is UTC


def test_json_round_trip() -> None:
    script = Script.new("ok", SRC, Cron("0 9 * * *", "Europe/Paris"), tenant_id="t", priority=3)
    again = Script.model_validate_json(script.model_dump_json())
    assert again == script
    data = json.loads(script.model_dump_json())
    assert data["trigger"] == {
        "type": "cron",
        "expression": "0 9 * * *",
        "timezone": "Europe/Paris",
    }
    assert script.etag == f'"{script.id}-0"'


def test_version_record() -> None:
    script = Script.new("ok", SRC, Manual(), created_by="ann")
    version = ScriptVersion.of(script)
    assert (version.script_id, version.version, version.created_by) == (script.id, 1, "ann")
    assert script.same_definition(version)
    with pytest.raises(ValidationError):
        version.source = "changed"  # type: ignore[misc]


def record(**kw: Any) -> ExecutionRecord:
    base: dict[str, Any] = {
        "script_id": "s",
        "script_version": 1,
        "script_name": "n",
        "phase": ExecutionPhase.BEFORE,
        "status": ExecutionStatus.SUCCESS,
    }
    return ExecutionRecord(**(base | kw))


def test_execution_record_bounds() -> None:
    big = record(changes={"x": "y" * MAX_CHANGES_BYTES})
    assert big.changes_truncated
    assert big.changes is not None and big.changes[TRUNCATED_MARKER] is True
    assert big.changes["size"] > MAX_CHANGES_BYTES
    small = record(changes={"status": "needs_approval"})
    assert small.changes == {"status": "needs_approval"} and not small.changes_truncated

    logs = record(logs=[f"line {i}" for i in range(MAX_LOG_LINES + 50)]).logs
    assert len(logs) == MAX_LOG_LINES + 1 and "50 more lines" in logs[-1]
    long_lines = record(logs=["x" * 10_000] * 50).logs
    assert sum(len(line) for line in long_lines) <= 17 * 1024

    err = record(error={"type": "ValueError", "message": "m" * 100_000, "line": 3}).error
    assert isinstance(err, dict) and err["line"] == 3 and len(err["message"]) <= 1024
    assert len(record(error="e" * 100_000).error or "") <= 2048
    assert len(record(reason="r" * 100_000).reason or "") <= 2048


def test_execution_record_json() -> None:
    rec = record(event=EventType.BEFORE_CREATE, error={"type": "KeyError"}, duration_ms=1.25)
    assert ExecutionRecord.model_validate_json(rec.model_dump_json()) == rec
    assert rec.status.is_failure is False and record(status="timeout").is_failure


def test_record_ids_are_time_ordered() -> None:
    ids = [new_record_id() for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == 32 for i in ids)


def test_query_and_page() -> None:
    assert ScriptQuery(status="active", trigger_type="event").status is ScriptStatus.ACTIVE
    with pytest.raises(ValidationError):
        ScriptQuery(trigger_type="webhook")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ScriptQuery(unknown=1)  # type: ignore[call-arg]
    page = ScriptPage(items=[], total=10, offset=5, limit=5)
    assert not page.has_more
    assert ScriptPage(items=[], total=11, offset=5, limit=5).has_more


def test_model_exports() -> None:
    for name in ("Script", "ScriptTrigger", "ExecutionRecord", "ScriptPage", "ExecutionPage"):
        assert name in model.__all__


@pytest.mark.parametrize(
    "data",
    [
        {"type": "event"},
        {"type": "event", "entity_type": "deal"},
        {"type": "cron"},
        {"type": "api"},
    ],
)
def test_incomplete_trigger_is_a_validation_error_naming_the_field(data: dict[str, str]) -> None:
    from pydantic import ValidationError

    from alloy_scripting.model.script import parse_trigger

    with pytest.raises(ValidationError) as caught:
        parse_trigger(data)
    assert all(error["type"] == "missing" for error in caught.value.errors())


def _run_fields(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": new_record_id(),
        "script_id": "s1",
        "script_version": 2,
        "script_name": "validate_deal",
        "tenant_id": "acme",
        "user_id": None,
        "phase": ExecutionPhase.BEFORE,
        "event": EventType.BEFORE_CREATE,
        "entity_type": "deal",
        "entity_id": "d1",
        "correlation_id": "c1",
        "status": ExecutionStatus.SUCCESS,
        "duration_ms": 0.25,
        "operations": 3,
        "error": None,
        "reason": None,
        "changes": {"status": "needs_approval"},
        "removed": [],
        "logs": [],
        "started_at": datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
    }
    return base | kw


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"changes": None, "removed": ["a", "b" * 1000]},
        {"changes": {"x": "y" * MAX_CHANGES_BYTES}},
        {"changes": {"x": "é" * (MAX_CHANGES_BYTES // 3)}},  # fits as characters, not as UTF-8
        {"changes": {"n": 10**30, "f": 1.5e-300, "b": True, "z": None}},
        {"changes": {str(i): "\x00" * 40 for i in range(80)}},  # escapes grow 6x
        {"changes": {"nested": {"a": [1, 2, 3]}}},
        {"logs": [f"line {i}" for i in range(MAX_LOG_LINES + 5)]},
        {"error": {"type": "ValueError", "message": "m" * 100_000, "line": 3}},
        {"error": "e" * 100_000, "status": ExecutionStatus.ERROR},
        {"reason": "r" * 100_000, "status": ExecutionStatus.ABORTED},
        {"removed": [f"f{i}" for i in range(1500)]},
        {"http_calls": [{"method": "GET", "host": "api.example.com", "status": 200}] * 150},
    ],
)
def test_record_of_a_run_equals_the_validated_record(kw: dict[str, Any]) -> None:
    """The executor's unvalidated construction gives exactly what validation would."""
    fields = _run_fields(**kw)
    fast = ExecutionRecord.of_run(**dict(fields))
    assert fast == ExecutionRecord(**fields)
    assert fast.model_dump() == ExecutionRecord(**fields).model_dump()
    assert fast.model_dump_json() == ExecutionRecord(**fields).model_dump_json()


def test_record_of_a_run_fills_the_defaults() -> None:
    fields = {
        "script_id": "s1",
        "script_version": 1,
        "script_name": "n",
        "phase": ExecutionPhase.MANUAL,
        "status": ExecutionStatus.SUCCESS,
    }
    fast, slow = ExecutionRecord.of_run(**fields), ExecutionRecord(**fields)
    assert fast.id != slow.id and len(fast.id) == 32
    assert fast.model_dump(exclude={"id", "started_at"}) == slow.model_dump(
        exclude={"id", "started_at"}
    )
    assert abs((fast.started_at - slow.started_at).total_seconds()) < 5
    assert fast.removed == [] and fast.removed is not slow.removed


@pytest.mark.parametrize("zone", ["localtime", "/etc/localtime", "posixrules", "Mars/Olympus"])
def test_a_cron_zone_must_be_an_iana_name(zone: str) -> None:
    """Not a name whose meaning depends on the host the service happens to run on."""
    with pytest.raises(ValidationError, match="unknown timezone"):
        Cron("0 9 * * *", timezone=zone)
    assert Cron("0 9 * * *", timezone="Europe/Berlin").timezone == "Europe/Berlin"
