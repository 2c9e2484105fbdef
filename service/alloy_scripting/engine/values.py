"""Values leaving the sandbox: entity changes, `emit()` payloads, `json.dumps` input.

`to_plain` turns script values into JSON data (dict with str keys, list, str, int, float,
bool, None), converting tuples and sets to lists, `Decimal` to str, dates to ISO strings
and `timedelta` to seconds, and refusing anything else (functions, generators, toolbox
objects, ...) with a script `TypeError`, and NaN / Infinity (not JSON, RFC 8259) with a
`ValueError`. It charges every element against a byte budget
*before* descending, so the walk itself is bounded even for aliased structures such as
`[[big] * 10_000] * 10_000`: exceeding the budget raises `LimitExceeded(limit)`.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from math import isfinite as _isfinite
from typing import Any

from alloy_scripting.engine.errors import LimitExceeded


class Budget:
    """A byte budget shared by the values converted with `plain_into`."""

    __slots__ = ("left", "limit", "max_depth", "what")

    def __init__(self, size: int, limit: str, max_depth: int, what: str) -> None:
        self.left = size
        self.limit = limit
        self.max_depth = max_depth
        self.what = what

    def spend(self, cost: int) -> None:
        self.left -= cost
        if self.left < 0:
            raise LimitExceeded(self.limit, f"{self.what} exceeds the {self.limit} limit")


def to_plain(
    value: Any, budget: int, limit: str, *, max_depth: int = 100, what: str = "value"
) -> Any:
    """JSON data for `value`, within `budget` bytes (approximate JSON size)."""
    return _plain(value, Budget(budget, limit, max_depth, what), 0)


def plain_into(value: Any, budget: Budget, what: str | None = None) -> Any:
    """`to_plain` charging a shared `budget` (e.g. all the fields of the entity changes)."""
    if what is not None:
        budget.what = what
    return _plain(value, budget, 0)


def _plain(value: Any, budget: Budget, depth: int) -> Any:
    kind = type(value)
    if kind is str:
        budget.spend(len(value) + 2)
        return value
    if kind is bool or value is None:
        budget.spend(5)
        return value
    if kind is int:
        budget.spend(value.bit_length() // 3 + 2)
        return value
    if kind is float:
        if not _isfinite(value):
            raise ValueError(f"{budget.what}: NaN and Infinity are not JSON numbers")
        budget.spend(24)
        return value
    if depth >= budget.max_depth:
        raise ValueError(f"{budget.what} is nested too deeply")
    if isinstance(value, dict):
        budget.spend(2 + len(value))
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = _key(key, budget)
            budget.spend(len(name) + 3)
            out[name] = _plain(item, budget, depth + 1)
        return out
    if (
        kind is list
        or kind is tuple
        or kind is set
        or kind is frozenset
        or isinstance(value, tuple)
    ):
        budget.spend(2 + len(value))
        return [_plain(item, budget, depth + 1) for item in value]
    if kind is decimal.Decimal:
        text = str(value)
        budget.spend(len(text) + 2)
        return text
    if kind is _dt.datetime or kind is _dt.date or kind is _dt.time:
        budget.spend(34)
        return value.isoformat()
    if kind is _dt.timedelta:
        budget.spend(24)
        return value.total_seconds()
    raise TypeError(f"{budget.what}: a value of type '{kind.__name__}' is not JSON data")


def _key(key: Any, budget: Budget) -> str:
    kind = type(key)
    if kind is str:
        return key  # type: ignore[no-any-return]
    if kind is int:
        return str(key)
    if kind is float:
        return repr(key)
    if kind is bool:
        return "true" if key else "false"
    if key is None:
        return "null"
    raise TypeError(f"{budget.what}: keys must be strings, not '{kind.__name__}'")
