"""EntityProxy semantics, directly and through scripts."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest

from alloy_scripting.engine import EntityProxy, ExecutionStatus, ScriptEngine
from alloy_scripting.engine.entity import EntityView, copy_json, entity_proxy

from .conftest import run


def test_mapping_protocol() -> None:
    proxy = EntityProxy("e-1", "deal", {"a": 1, "tags": ["x"]})
    assert proxy.id == "e-1" and proxy.entity_type == "deal"
    assert proxy["a"] == 1 and proxy.get("b", 7) == 7 and "a" in proxy
    assert list(proxy) == ["a", "tags"] and len(proxy) == 2
    assert list(proxy.keys()) == ["a", "tags"]
    assert next(iter(proxy.items())) == ("a", 1)
    assert list(proxy.values())[1] == ["x"]


def test_original_is_never_mutated() -> None:
    data = {"tags": ["a"], "nested": {"k": [1]}, "n": 1}
    proxy = EntityProxy("1", "deal", data)
    proxy["tags"].append("b")
    proxy["nested"]["k"].append(2)
    proxy["n"] = 2
    assert data == {"tags": ["a"], "nested": {"k": [1]}, "n": 1}


def test_changes_and_removed() -> None:
    proxy = EntityProxy("1", "deal", {"a": 1, "b": 2, "tags": ["x"]})
    proxy["a"] = 1  # same value: not a change
    del proxy["b"]
    proxy["tags"].append("y")  # nested mutation counts
    proxy["c"] = 3
    assert proxy.changes == {"tags": ["x", "y"], "c": 3}
    assert proxy.removed == ["b"]
    assert proxy.data == {"a": 1, "tags": ["x", "y"], "c": 3}


def test_inbound_data_is_normalised() -> None:
    when = dt.datetime(2024, 1, 2, 3, 4, 5)
    data: dict[Any, Any] = {"t": (1, 2), "d": decimal.Decimal("1.5"), "w": when, 3: "x"}
    proxy = EntityProxy(None, None, data)
    assert dict(proxy) == {"t": [1, 2], "d": "1.5", "w": "2024-01-02T03:04:05", "3": "x"}
    assert proxy.changes == {}
    assert copy_json({"s": {1, 2}})["s"] in ([1, 2], [2, 1])


def test_fast_constructor_matches() -> None:
    data = {"a": 1, "b": "x"}
    fast = entity_proxy(data, "7", "deal")
    assert dict(fast) == data and fast.id == "7" and fast.entity_type == "deal"
    assert fast.original is data
    nested = entity_proxy({"l": [1]})
    nested["l"].append(2)
    assert nested.changes == {"l": [1, 2]}


def test_view_is_read_only() -> None:
    view = EntityView("1", "deal", {"a": [1]})
    with pytest.raises(TypeError):
        view["a"] = 1
    with pytest.raises(TypeError):
        del view["a"]
    with pytest.raises(TypeError):
        view.update({})
    with pytest.raises(TypeError):
        view.pop("a")
    with pytest.raises(TypeError):
        view.clear()
    assert view["a"] == [1] and view.id == "1"


def test_script_reported_changes(engine: ScriptEngine) -> None:
    data = {"a": 1, "b": 2, "tags": ["x"], "same": "s"}
    result = run(
        engine,
        """
        entity["same"] = "s"
        entity["tags"].append("y")
        del entity["b"]
        entity["new"] = {"k": (1, 2)}
        entity["a"] += 1
        """,
        entity=data,
    )
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert result.changes == {"tags": ["x", "y"], "new": {"k": [1, 2]}, "a": 2}
    assert result.removed == ["b"]
    assert result.entity == {"a": 2, "tags": ["x", "y"], "same": "s", "new": {"k": [1, 2]}}
    assert data == {"a": 1, "b": 2, "tags": ["x"], "same": "s"}


def test_script_entity_protocol(engine: ScriptEngine) -> None:
    result = run(
        engine,
        """
        log(entity.id, entity.entity_type, len(entity), "a" in entity, entity.get("zz", 0))
        log(sorted(entity.keys()), [k for k in entity], list(entity.values())[0])
        for k, v in entity.items():
            log(k, v)
        """,
        entity={"a": 1},
        ctx={"entity_id": "e-9", "entity_type": "deal"},
    )
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert [entry.message for entry in result.logs] == ["e-9 deal 1 True 0", "['a'] ['a'] 1", "a 1"]


def test_proxy_passed_in_is_used(engine: ScriptEngine) -> None:
    proxy = EntityProxy("1", "deal", {"amount": 1})
    result = run(engine, 'entity["amount"] = 2', entity=proxy)
    assert result.changes == {"amount": 2}
    assert proxy.changes == {"amount": 2}


def test_non_json_value_in_entity_is_an_error(engine: ScriptEngine) -> None:
    result = run(engine, 'entity["f"] = len', entity={})
    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None and result.error.type == "TypeError"
    assert "not JSON data" in result.error.message
    result = run(engine, "entity[1] = 2", entity={})
    assert result.status is ExecutionStatus.ERROR


def test_outbound_values_are_plain(engine: ScriptEngine) -> None:
    result = run(
        engine,
        """
        entity["d"] = Decimal("1.50")
        entity["t"] = datetime(2024, 1, 2, tzinfo=timezone.utc)
        entity["s"] = {3}
        entity["dur"] = timedelta(minutes=1)
        """,
    )
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert result.changes == {"d": "1.50", "t": "2024-01-02T00:00:00+00:00", "s": [3], "dur": 60.0}
