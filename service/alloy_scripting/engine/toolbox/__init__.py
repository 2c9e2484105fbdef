"""The safe toolbox scripts get as globals: `json`, `math`, `re`, `datetime`, `date`,
`timedelta`, `timezone`, `Decimal`, `b64encode` / `b64decode`, `sha256`, `uuid4`.

None of these is the real module or class. Each is a small namespace object declaring its
public attributes in `SANDBOX_ATTRS` (the only ones `_getattr_` hands out) and returning
plain values: `datetime(...)` and `datetime.now()` return ordinary `datetime` objects whose
attributes go through the whitelist in `attrs.py`; `re.match` returns a read-only
`MatchResult`, never a `Match` (whose `.re` and `.string` lead back to host objects).

Bounds: json input/output is capped by the string limit and serialised through
`values.to_plain`; regular expressions are parsed first and refused when too long or when
their counted repeats would make the compiled program huge (the `regex` package expands
`a{100000000}` eagerly and exhausts memory), then run with `regex`'s timeout (limit
`regex_timeout`); `Decimal` arithmetic runs in a bounded context (34 digits, exponents
within +/-6144, the decimal128 range) so no operand can grow without bound.

One module per namespace: `json`, `math`, `re`, `datetime` (with `date`, `timedelta`,
`timezone`), `decimal`, `str_dict` (`str`, `dict`), `functions` (the small helpers).
"""

from __future__ import annotations

from alloy_scripting.engine.toolbox.base import Namespace
from alloy_scripting.engine.toolbox.datetime import (
    DatetimeType,
    DateType,
    TimedeltaType,
    TimezoneType,
)
from alloy_scripting.engine.toolbox.decimal import DECIMAL_CONTEXT, ROUNDING, DecimalType
from alloy_scripting.engine.toolbox.functions import make_functions
from alloy_scripting.engine.toolbox.json import JsonNamespace
from alloy_scripting.engine.toolbox.math import MathNamespace
from alloy_scripting.engine.toolbox.re import MatchResult, ReNamespace
from alloy_scripting.engine.toolbox.str_dict import DictType, StrType

NAMESPACE_TYPES: tuple[type[Namespace], ...] = (
    StrType,
    DictType,
    JsonNamespace,
    MathNamespace,
    ReNamespace,
    DatetimeType,
    DateType,
    TimedeltaType,
    TimezoneType,
    DecimalType,
)

__all__ = [
    "DECIMAL_CONTEXT",
    "NAMESPACE_TYPES",
    "ROUNDING",
    "DateType",
    "DatetimeType",
    "DecimalType",
    "DictType",
    "JsonNamespace",
    "MatchResult",
    "MathNamespace",
    "Namespace",
    "ReNamespace",
    "StrType",
    "TimedeltaType",
    "TimezoneType",
    "make_functions",
]
