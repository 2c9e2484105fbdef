"""The engine's hot path: a straight script (no `Run`) on a flat entity passed as a dict.

Its outcome must be the one of the general path: these cases compare both (the general
path is forced with an `EntityProxy` of the same data, or a non-empty `ctx`).
"""

from __future__ import annotations

from typing import Any

import pytest

from alloy_scripting.engine import EngineConfig, EntityProxy, ExecutionStatus, ScriptEngine
from alloy_scripting.model.enums import ExecutionPhase
from alloy_scripting.model.result import ExecutionResult, success_result

from .conftest import src


def outcomes(engine: ScriptEngine, text: str, data: dict[str, Any]) -> list[ExecutionResult]:
    """The result of the hot path, then of the general path, for the same run."""
    source = src(text)
    compiled = engine.compile(source)
    assert compiled.simple_code is not None, "not a straight script: no hot path to test"
    snapshot = dict(data)
    fast = engine.execute(source, entity=data)
    assert data == snapshot and all(type(data[k]) is type(snapshot[k]) for k in data)
    general = [
        engine.execute(source, entity=EntityProxy(None, None, data)),
        engine.execute(source, entity=data, ctx={"script": "same"}),
    ]
    assert data == snapshot
    return [fast, *general]


def same(results: list[ExecutionResult]) -> ExecutionResult:
    first, *others = results
    for other in others:
        assert (first.status, first.changes, first.removed, dict(first.entity)) == (
            other.status,
            other.changes,
            other.removed,
            dict(other.entity),
        )
        assert (first.reason, first.limit, first.error) == (other.reason, other.limit, other.error)
    return first


@pytest.mark.parametrize(
    ("text", "changes"),
    [
        ('entity["n"] = True', {"n": True}),  # 1 == True: a type change is a change
        ('entity["n"] = 1.0', {"n": 1.0}),
        ('entity["f"] = 1', {"f": 1}),  # 1.0 -> 1
        ('entity["n"] = 1', {}),  # re-set to its old value
        ('entity["s"] = "y"\nentity["s"] = "x"', {}),
        ('entity["new"] = None', {"new": None}),
        ('entity["new"] = 1\ndel entity["new"]', {}),  # added then deleted: no trace
        ('entity["n"] = [1, (2, 3)]', {"n": [1, [2, 3]]}),  # not a scalar: converted
        ('entity.update({"n": 2, "s": "x"})', {"n": 2}),  # bulk write
        ("entity |= {'z': 0}", {"z": 0}),
    ],
)
def test_changes_match_the_general_path(
    engine: ScriptEngine, text: str, changes: dict[str, Any]
) -> None:
    result = same(outcomes(engine, text, {"n": 1, "f": 1.0, "s": "x"}))
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert result.changes == changes
    assert {key: type(value) for key, value in result.changes.items()} == {
        key: type(value) for key, value in changes.items()
    }
    assert result.removed == []


def test_removed_fields(engine: ScriptEngine) -> None:
    result = same(outcomes(engine, 'del entity["a"]\nentity["b"] = 3', {"a": 1, "b": 2}))
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert result.changes == {"b": 3} and result.removed == ["a"]
    assert dict(result.entity) == {"b": 3}
    result = same(outcomes(engine, 'entity.pop("a")', {"a": 1, "b": 2}))
    assert result.changes == {} and result.removed == ["a"]


@pytest.mark.parametrize(
    "text",
    [
        "entity[1] = 2",  # not a str field name
        'entity["x"] = 1e999 - 1e999',  # NaN, without a call
        'entity["x"] = len',  # not JSON data
        'abort("no")',
        "x = 1 / 0",
    ],
)
def test_failures_match_the_general_path(engine: ScriptEngine, text: str) -> None:
    result = same(outcomes(engine, text, {"a": 1}))
    assert result.status is not ExecutionStatus.SUCCESS
    assert result.changes == {} and result.removed == []
    assert dict(result.entity) == {"a": 1}


def test_changes_size_is_enforced() -> None:
    engine = ScriptEngine(EngineConfig(max_changes_size=100))
    result = same(outcomes(engine, 'entity["s"] = "y" * 200', {"s": "x"}))
    assert result.status is ExecutionStatus.LIMIT_EXCEEDED and result.limit == "changes_size"
    assert dict(result.entity) == {"s": "x"}
    result = same(outcomes(engine, 'entity["s"] = "y" * 50', {"s": "x"}))
    assert result.status is ExecutionStatus.SUCCESS and result.changes == {"s": "y" * 50}


@pytest.mark.parametrize(
    "data",
    [
        {"a": [1]},  # nested
        {1: "x"},  # not a str key
        {"a": (1, 2)},  # converted on the way in
    ],
)
def test_other_entities_take_the_general_path(engine: ScriptEngine, data: dict[Any, Any]) -> None:
    result = engine.execute(src('entity["b"] = 1'), entity=data)
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert result.changes == {"b": 1}
    assert all(type(key) is str for key in result.entity)


def test_success_result_sets_every_field() -> None:
    entity = {"a": 1}
    built = success_result({"a": 1}, ["b"], entity, ExecutionPhase.MANUAL, 1.5)
    expected = ExecutionResult(
        ExecutionStatus.SUCCESS, {"a": 1}, ["b"], entity, ExecutionPhase.MANUAL, duration_ms=1.5
    )
    assert built == expected  # the dataclass __eq__ reads every field
    assert built.to_dict() == expected.to_dict()
    assert built.logs is not success_result({}, [], {}, ExecutionPhase.MANUAL, 0).logs
