"""What a record keeps of its run's input (`bound_input`, the executor's `input_limit`)
and how a replay is compared with the recorded run (`model.replay`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alloy_scripting.model import execution
from alloy_scripting.model.enums import EventType, ExecutionPhase, ExecutionStatus
from alloy_scripting.model.execution import (
    MAX_EMITTED_BYTES,
    ExecutionRecord,
    bound_emitted,
    bound_input,
    run_input,
)
from alloy_scripting.model.replay import diff_changes, diff_emitted, diff_run
from alloy_scripting.model.result import EmittedEvent, ExecutionResult
from alloy_scripting.model.script import ManualTrigger, Script
from alloy_scripting.runner.orchestrator import create_orchestrator
from alloy_scripting.storage.memory import InMemoryStorage
from alloy_scripting.storage.mongo.executions import record_doc, record_from

CTX = {"tenant_id": "t", "user_id": None, "entity_type": "deal", "entity_id": "d-1"}


def flat_input(**entity: Any) -> dict[str, Any]:
    return run_input(EventType.BEFORE_CREATE, entity, None, None, CTX)


def test_a_small_flat_input_is_kept_without_serialising(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(value: Any) -> int:
        raise AssertionError("measured a surely fitting input")

    monkeypatch.setattr(execution, "_json_size", refuse)
    monkeypatch.setattr(execution, "_input_text", refuse)
    value = flat_input(amount=50, name="ada", ok=True, ratio=0.5)
    assert bound_input(value, 64 * 1024) == (value, None, None)


def test_a_nested_input_is_measured_once_and_its_json_handed_on() -> None:
    value = flat_input(owner={"name": "ada", "tags": ["a", "b"]})
    kept, reason, text = bound_input(value, 64 * 1024)
    assert kept is value and reason is None
    assert text is not None and json.loads(text) == value
    record = ExecutionRecord.of_run(
        script_id="s", script_version=1, script_name="s", phase=ExecutionPhase.BEFORE,
        status=ExecutionStatus.SUCCESS, input=kept, replayable=True, input_json=text,
    )  # fmt: skip
    assert record.input_json() is text  # the store writes this text: no second dump
    doc = record_doc(record)
    assert doc["input"] is text and doc["replayable"] is True
    assert record_from(doc).input == value


def test_the_bound_is_exact_in_bytes_of_json() -> None:
    value = flat_input(note="é" * 200)  # 2 bytes each in UTF-8
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    assert bound_input(value, size + 10)[0] is value
    kept, reason, text = bound_input(value, size - 10)
    assert kept is None and text is None
    assert reason is not None and f"above the limit of {size - 10}" in reason


def test_an_input_that_is_not_json_is_not_kept() -> None:
    value = flat_input(loop=None)
    looped: dict[str, Any] = {}
    looped["self"] = looped
    value["params"] = looped
    kept, reason, _ = bound_input(value, 64 * 1024)
    assert kept is None and reason is not None and "not JSON" in reason


def test_emitted_events_are_bounded() -> None:
    small = [{"event_type": "e", "payload": {"n": 1}}]
    assert bound_emitted(small) is small
    big = [{"event_type": "e", "payload": {"s": "x" * 1000}}] * (MAX_EMITTED_BYTES // 1000 + 1)
    bounded = bound_emitted(big)
    assert len(bounded) == 1 and bounded[0]["_truncated"] is True
    assert bounded[0]["count"] == len(big)


async def test_the_executor_keeps_the_input_within_its_limit() -> None:
    storage = InMemoryStorage()
    orchestrator = create_orchestrator(storage)
    script = Script.new("s", 'entity["n"] = 1\n', ManualTrigger(), tenant_id="t").activate()
    script = await storage.for_tenant("t").save(script)
    await orchestrator.run_manual(script.id, params={"p": 1}, entity={"a": 1}, tenant_id="t")
    orchestrator.executor.input_limit = 100
    await orchestrator.run_manual(script.id, params={"p": "x" * 200}, tenant_id="t")
    orchestrator.executor.input_limit = 0
    await orchestrator.run_manual(script.id, tenant_id="t")
    page = await orchestrator.execution_log.for_tenant("t").find_by_script(script.id)
    none, large, kept = page.items  # newest first
    assert kept.replayable and kept.input is not None
    assert kept.input["entity"] == {"a": 1} and kept.input["params"] == {"p": 1}
    assert kept.input["ctx"]["tenant_id"] == "t"
    assert not large.replayable and large.input is None
    assert large.not_replayable is not None and "limit of 100" in large.not_replayable
    assert not none.replayable and none.not_replayable is not None


def test_diff_changes_per_key() -> None:
    diff = diff_changes({"a": 1, "b": 2, "c": [1]}, {"a": 1, "b": 3, "d": None, "c": [1.0]})
    assert {k: v.model_dump() for k, v in diff.items()} == {
        "b": {"kind": "changed", "before": 2, "after": 3},
        "d": {"kind": "added", "before": None, "after": None},
        "c": {"kind": "changed", "before": [1], "after": [1.0]},  # as JSON: 1 is not 1.0
    }
    assert diff_changes({"a": {"x": 1, "y": 2}}, {"a": {"y": 2, "x": 1}}) == {}


def test_diff_emitted_is_a_multiset_difference() -> None:
    one, two = {"event_type": "e", "payload": {"n": 1}}, {"event_type": "e", "payload": {"n": 2}}
    diff = diff_emitted([one, one, two], [one, two, two])
    assert diff.added == [two] and diff.removed == [one]
    assert diff_emitted([one, two], [two, one]).model_dump() == {"added": [], "removed": []}


def _recorded(**fields: Any) -> ExecutionRecord:
    values: dict[str, Any] = {
        "script_id": "s", "script_version": 1, "script_name": "s",
        "phase": ExecutionPhase.AFTER, "status": ExecutionStatus.SUCCESS,
    }  # fmt: skip
    return ExecutionRecord(**{**values, **fields})


def _result(status: ExecutionStatus, **fields: Any) -> ExecutionResult:
    return ExecutionResult(status, fields.pop("changes", {}), fields.pop("removed", []), {},
                           ExecutionPhase.AFTER, **fields)  # fmt: skip


def test_diff_run_compares_outcome_removed_and_published_events() -> None:
    recorded = _recorded(
        changes={"a": 1}, removed=["x"], emitted=[{"event_type": "e", "payload": {}}]
    )
    same = diff_run(recorded, _result(ExecutionStatus.SUCCESS, changes={"a": 1}, removed=["x"],
                                      emitted=[EmittedEvent("e", {})]))  # fmt: skip
    assert same.same is True
    failed = diff_run(
        recorded,
        _result(ExecutionStatus.ERROR, removed=["y"], emitted=[EmittedEvent("e", {})]),
    )
    assert failed.same is False
    assert failed.outcome is not None and failed.outcome.model_dump() == {
        "before": "continue", "after": "error"
    }  # fmt: skip
    assert failed.removed.added == ["y"] and failed.removed.dropped == ["x"]
    assert failed.emitted.removed == [{"event_type": "e", "payload": {}}]  # not published
    assert failed.changes["a"].kind == "removed"


def test_diff_run_names_what_the_record_kept_truncated() -> None:
    recorded = _recorded(changes={"_truncated": True, "size": 99999, "keys": ["a"]})
    diff = diff_run(recorded, _result(ExecutionStatus.SUCCESS, changes={"a": 1}))
    assert diff.incomparable == ["changes"] and diff.changes == {}
