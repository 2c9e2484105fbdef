"""The filter language of ``store.find``: a validated syntax tree, never a user dict.

A filter is a JSON object of top-level field names, each mapped to either a scalar
(equality) or an object of operators::

    {"tier": "gold", "visits": {"$gte": 3, "$lt": 10}, "region": {"$in": ["eu", "us"]},
     "closed_at": {"$exists": False}}

Supported: equality with a scalar (None, bool, number, text), ``$in`` (a list of at most
`MAX_IN_VALUES` scalars), ``$gt``/``$gte``/``$lt``/``$lte`` (a number or a text) and
``$exists`` (a bool). Conditions are ANDed. Anything else is refused with
`InvalidStateFilter`: other operators (``$where``, ``$expr``, ``$function``, ``$regex``,
``$or`` ...), field names starting with ``$`` or containing ``.``, objects or lists as
values (operators hidden in values), non-finite numbers.

`parse_filter` builds the tree; the stores translate the tree (the MongoDB store builds its
query from it, field by field, under its own document prefix), so nothing a script wrote is
ever handed to the database as is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from alloy_scripting.model.state import InvalidStateFilter, InvalidStateRequest, check_field

Operator = Literal["eq", "in", "gt", "gte", "lt", "lte", "exists"]
Scalar = None | bool | int | float | str

MAX_CONDITIONS = 32
MAX_IN_VALUES = 100
MAX_SORT_FIELDS = 4
MAX_TEXT = 1024
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

RANGE_OPERATORS: dict[str, Operator] = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
OPERATORS: dict[str, Operator] = {**RANGE_OPERATORS, "$in": "in", "$exists": "exists"}


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: Operator
    value: Any  # Scalar; a tuple of scalars for "in"; a bool for "exists"


@dataclass(frozen=True, slots=True)
class StateFilter:
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class SortField:
    field: str
    descending: bool = False


def parse_filter(raw: Any) -> StateFilter:
    """The filter tree of ``raw`` (a dict, or None for everything), or `InvalidStateFilter`."""
    if raw is None:
        return StateFilter()
    if not isinstance(raw, dict):
        raise InvalidStateFilter(f"a filter is an object (dict), not {type(raw).__name__}")
    conditions: list[Condition] = []
    for field, spec in raw.items():
        if isinstance(field, str) and field.startswith("$"):
            raise InvalidStateFilter(
                f"{field[:40]!r} is not supported: a filter maps top-level field names to a "
                "value or to operators ($in, $gt, $gte, $lt, $lte, $exists)"
            )
        name = _field(field)
        if isinstance(spec, dict):
            conditions.extend(_operators(name, spec))
        else:
            conditions.append(Condition(name, "eq", _scalar(spec, name)))
        if len(conditions) > MAX_CONDITIONS:
            raise InvalidStateFilter(f"a filter has at most {MAX_CONDITIONS} conditions")
    return StateFilter(tuple(conditions))


def _field(name: Any, what: str = "field") -> str:
    try:
        return check_field(name, what)
    except InvalidStateRequest as exc:
        raise InvalidStateFilter(str(exc)) from None


def _operators(field: str, spec: dict[Any, Any]) -> list[Condition]:
    if not spec:
        raise InvalidStateFilter(f"field {field!r}: an empty object is not a condition")
    out: list[Condition] = []
    for key, value in spec.items():
        op = OPERATORS.get(key) if isinstance(key, str) else None
        if op is None:
            shown = key[:40] if isinstance(key, str) else type(key).__name__
            raise InvalidStateFilter(
                f"field {field!r}: operator {shown!r} is not supported "
                "(only $in, $gt, $gte, $lt, $lte, $exists)"
            )
        if op == "in":
            if not isinstance(value, list | tuple) or len(value) > MAX_IN_VALUES:
                raise InvalidStateFilter(
                    f"field {field!r}: $in takes a list of at most {MAX_IN_VALUES} values"
                )
            out.append(Condition(field, op, tuple(_scalar(v, field) for v in value)))
        elif op == "exists":
            if not isinstance(value, bool):
                raise InvalidStateFilter(f"field {field!r}: $exists takes true or false")
            out.append(Condition(field, op, value))
        else:
            scalar = _scalar(value, field)
            if isinstance(scalar, bool) or scalar is None:
                raise InvalidStateFilter(f"field {field!r}: {key} takes a number or a text")
            out.append(Condition(field, op, scalar))
    return out


def _scalar(value: Any, field: str) -> Scalar:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise InvalidStateFilter(f"field {field!r}: integer out of the 64-bit range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidStateFilter(f"field {field!r}: numbers must be finite")
        return value
    if isinstance(value, str):
        if len(value) > MAX_TEXT or "\x00" in value:
            raise InvalidStateFilter(
                f"field {field!r}: texts in filters are at most {MAX_TEXT} characters, no NUL"
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidStateFilter(f"field {field!r}: text must be valid Unicode") from None
        return value
    raise InvalidStateFilter(
        f"field {field!r}: values are None, bools, numbers or texts "
        f"(not {type(value).__name__}; operators go in an object of their own)"
    )


def parse_sort(raw: Any) -> tuple[SortField, ...]:
    """``None``, ``"field"``, ``"-field"`` (descending) or a list of those."""
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or len(items) > MAX_SORT_FIELDS:
        raise InvalidStateFilter(
            f'sort is "field", "-field" or a list of at most {MAX_SORT_FIELDS} of them'
        )
    out: list[SortField] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidStateFilter('sort fields are texts: "field" or "-field"')
        descending = item.startswith("-")
        out.append(SortField(_field(item[1:] if descending else item, "sort field"), descending))
    return tuple(out)
