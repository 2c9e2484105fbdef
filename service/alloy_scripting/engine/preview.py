"""`preview(value)`: a short, plain-text rendering of a sandbox value for debug traces.

Bounded work whatever the value: strings are cut before `repr`, containers are walked
item by item until the budget is spent (at most `MAX_DEPTH` levels), large integers are
described rather than converted, and anything that is not plain data is named by its type.
It calls no method a script could influence (there are no script classes; dict subclasses
such as the entity are read with `dict.items`), and it never raises a `ScriptControl`,
which would end the run it observes."""

from __future__ import annotations

import datetime as _dt
import decimal
import functools
import itertools
import types
from typing import Any

from alloy_scripting.engine.errors import escape_surrogates

MAX_PREVIEW = 80
MAX_DEPTH = 4
MAX_INT_BITS = 512

_SCALARS = (float, bool, type(None))
_TEXTS = (decimal.Decimal, _dt.datetime, _dt.date, _dt.time, _dt.timedelta, _dt.timezone)
_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, functools.partial)
_VIEWS: tuple[type, ...] = (type({}.keys()), type({}.values()), type({}.items()))


class _Full(Exception):
    pass


def preview(value: Any, limit: int = MAX_PREVIEW) -> str:
    out: list[str] = []
    try:
        _walk(value, out, [limit + 1], 0)
    except _Full:
        pass
    except (RecursionError, ValueError, OverflowError):
        out.append("…")
    text = "".join(out)
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return escape_surrogates(text)


def _put(text: str, out: list[str], budget: list[int]) -> None:
    out.append(text)
    budget[0] -= len(text)
    if budget[0] < 0:
        raise _Full


def _walk(value: Any, out: list[str], budget: list[int], depth: int) -> None:
    kind = type(value)
    if isinstance(value, str):
        _put(repr(str.__str__(value[: budget[0] + 1])), out, budget)
    elif kind is int:
        bits = value.bit_length()
        _put(repr(value) if bits <= MAX_INT_BITS else f"<int of {bits} bits>", out, budget)
    elif isinstance(value, _SCALARS):
        _put(repr(value), out, budget)
    elif isinstance(value, _TEXTS):
        _put(str(value), out, budget)
    elif isinstance(value, dict):
        if depth >= MAX_DEPTH:
            _put("{…}", out, budget)
            return
        _put("{", out, budget)
        for index, (key, item) in enumerate(itertools.islice(dict.items(value), budget[0])):
            if index:
                _put(", ", out, budget)
            _walk(key, out, budget, depth + 1)
            _put(": ", out, budget)
            _walk(item, out, budget, depth + 1)
        _put("}", out, budget)
    elif isinstance(value, (list, tuple, set, frozenset, range, *_VIEWS)):
        opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
        if isinstance(value, (set, frozenset)):
            opening, closing = "{", "}"
        if isinstance(value, range):
            _put(f"range({value.start}, {value.stop}, {value.step})", out, budget)
            return
        if depth >= MAX_DEPTH:
            _put(opening + "…" + closing, out, budget)
            return
        _put(opening, out, budget)
        for index, item in enumerate(itertools.islice(value, budget[0])):  # type: ignore[call-overload]
            if index:
                _put(", ", out, budget)
            _walk(item, out, budget, depth + 1)
        _put(closing, out, budget)
    elif isinstance(value, _FUNCTIONS):
        name = getattr(value, "__name__", None) or getattr(
            getattr(value, "func", None), "__name__", "?"
        )
        _put(f"<function {str(name).rstrip('_') or name}>", out, budget)
    elif isinstance(value, BaseException):
        _put(f"<{type(value).__name__}>", out, budget)
    else:
        _put(f"<{type(value).__name__}>", out, budget)
