"""`validate` on ``store.*`` uses: unknown operations and writes in before-hooks are errors;
a script's own ``store`` (a variable, a parameter) is left alone."""

from __future__ import annotations

import pytest

from alloy_scripting.engine import create_default_engine
from alloy_scripting.model.enums import ExecutionStatus

ENGINE = create_default_engine()


def messages(source: str, phase: str | None) -> list[str]:
    return [d.message for d in ENGINE.validate(source, phase)]


@pytest.mark.parametrize("phase", ["after", "on_commit", "manual", "scheduled", "api"])
def test_every_operation_is_valid_where_writes_are(phase: str) -> None:
    source = (
        'store.get("c", "k")\nstore.find("c", {})\nstore.put("c", "k", {})\n'
        'store.delete("c", "k")\nstore.incr("c", "k", "n")\n'
    )
    assert messages(source, phase) == []


def test_before_hooks_may_read_only() -> None:
    assert messages('store.get("c", "k")\nstore.find("c", {"a": 1})\n', "before") == []
    found = ENGINE.validate('x = 1\nif x:\n    store.incr("c", "k", "n")\n', "before")
    assert [(d.line, d.col, d.message) for d in found] == [
        (3, 5, "store.incr() is not available in the 'before' phase")
    ]


def test_unknown_operations_are_errors_in_every_phase() -> None:
    for phase in (None, "before", "after"):
        assert messages("store.collection('x')\n", phase) == [
            "store.collection is not a store operation (get, find, put, delete, incr)"
        ]


def test_a_scripts_own_store_is_not_the_state_store() -> None:
    for source in (
        'store = {"a": 1}\nx = list(store.items())\n',
        "def total(store):\n    return sum(store.values())\nx = total({'a': 1})\n",
        "x = [store.upper() for store in ['a']]\n",
    ):
        assert messages(source, "before") == [], source
        assert ENGINE.execute(source, phase="before").status is ExecutionStatus.SUCCESS


def test_in_process_runs_say_the_store_needs_workers() -> None:
    result = ENGINE.execute('store.get("c", "k")\n', phase="manual")
    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None and "isolated execution tier" in result.error.message
