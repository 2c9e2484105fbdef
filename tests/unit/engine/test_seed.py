"""The seed's example script."""

from __future__ import annotations

from alloy_scripting.engine import ExecutionPhase, ExecutionStatus, ScriptEngine

SEED = (
    'if entity["amount"] < 100:\n'
    '    abort("Minimum deal amount is 100")\n'
    'if entity["amount"] > 100000:\n'
    '    entity["status"] = "needs_approval"\n'
)


def test_small_deal_is_aborted(engine: ScriptEngine) -> None:
    result = engine.execute(SEED, phase=ExecutionPhase.BEFORE, entity={"amount": 50})
    assert result.status is ExecutionStatus.ABORTED
    assert result.reason == "Minimum deal amount is 100"
    assert result.changes == {}
    assert result.error is None


def test_big_deal_needs_approval(engine: ScriptEngine) -> None:
    data = {"amount": 500000}
    result = engine.execute(SEED, phase="before", entity=data)
    assert result.status is ExecutionStatus.SUCCESS
    assert result.changes == {"status": "needs_approval"}
    assert result.removed == []
    assert result.entity == {"amount": 500000, "status": "needs_approval"}
    assert data == {"amount": 500000}  # the caller's data is untouched
    assert result.phase is ExecutionPhase.BEFORE


def test_ordinary_deal_changes_nothing(engine: ScriptEngine) -> None:
    result = engine.execute(SEED, entity={"amount": 5000})
    assert result.status is ExecutionStatus.SUCCESS
    assert result.changes == {}
    assert result.phase is ExecutionPhase.MANUAL


def test_result_to_dict_is_json(engine: ScriptEngine) -> None:
    import json

    data = engine.execute(SEED, entity={"amount": 500000}).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["status"] == "success"
    assert set(data) == {
        "status", "changes", "removed", "entity", "reason", "error", "limit",
        "logs", "emitted", "operations", "duration_ms", "phase",
    }  # fmt: skip
