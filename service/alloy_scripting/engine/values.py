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
import re
from math import isfinite as _isfinite
from typing import Any

from alloy_scripting.engine.errors import LimitExceeded

#: Integers downstream stores accept (BSON int64; JSON parsers beyond it lose precision).
MIN_INT64 = -(2**63)
MAX_INT64 = 2**63 - 1
_SURROGATES = re.compile("[\ud800-\udfff]")


class Budget:
    """A byte budget shared by the values converted with `plain_into`.

    `strict` (the default) also refuses what JSON text could carry but the stores and
    brokers downstream cannot: lone surrogates in strings (not UTF-8) and integers outside
    the signed 64-bit range. `to_plain` (`json.dumps` in scripts) is not strict.
    """

    __slots__ = ("left", "limit", "max_depth", "strict", "what")

    def __init__(
        self, size: int, limit: str, max_depth: int, what: str, strict: bool = True
    ) -> None:
        self.left = size
        self.limit = limit
        self.max_depth = max_depth
        self.what = what
        self.strict = strict

    def spend(self, cost: int) -> None:
        self.left -= cost
        if self.left < 0:
            raise LimitExceeded(self.limit, f"{self.what} exceeds the {self.limit} limit")


def to_plain(
    value: Any, budget: int, limit: str, *, max_depth: int = 100, what: str = "value"
) -> Any:
    """JSON data for `value`, within `budget` bytes (approximate JSON size)."""
    return _plain(value, Budget(budget, limit, max_depth, what, strict=False), 0)


def plain_into(value: Any, budget: Budget, what: str | None = None) -> Any:
    """`to_plain` charging a shared `budget` (e.g. all the fields of the entity changes)."""
    if what is not None:
        budget.what = what
    return _plain(value, budget, 0)


def _plain(value: Any, budget: Budget, depth: int) -> Any:
    kind = type(value)
    if kind is str:
        budget.spend(len(value) + 2)
        if budget.strict:
            check_text(value, budget.what)
        return value
    if kind is bool or value is None:
        budget.spend(5)
        return value
    if kind is int:
        budget.spend(value.bit_length() // 3 + 2)
        if budget.strict:
            check_int64(value, budget.what)
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


def check_text(value: str, what: str) -> str:
    """`value` if it can be encoded as UTF-8, else a script `ValueError`."""
    if not value.isascii() and _SURROGATES.search(value) is not None:
        raise ValueError(f"{what}: a string with a lone surrogate is not valid UTF-8 text")
    return value


def check_int64(value: int, what: str) -> int:
    """`value` if it fits a signed 64-bit integer, else a script `ValueError`."""
    if not MIN_INT64 <= value <= MAX_INT64:
        raise ValueError(f"{what}: integer outside the signed 64-bit range")
    return value


def check_output_scalar(value: Any, what: str) -> Any:
    """For values leaving the sandbox that skip `plain_into` (top-level entity fields that
    are plain scalars, see `runtime.ScriptEngine._changes_by_field`): a str must be UTF-8
    text and an int must fit 64 bits; raises `ValueError` naming `what` otherwise."""
    kind = type(value)
    if kind is str:
        return check_text(value, what)
    if kind is int:
        return check_int64(value, what)
    return value


def _key(key: Any, budget: Budget) -> str:
    kind = type(key)
    if kind is str:
        if budget.strict:
            check_text(key, budget.what)
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
