"""`math`: the functions and constants of `math`, with bounded arguments and results."""

from __future__ import annotations

import decimal
import math as _math
from collections.abc import Callable
from typing import Any

from alloy_scripting.engine.errors import LimitExceeded
from alloy_scripting.engine.guards import Guards
from alloy_scripting.engine.toolbox.base import Namespace

_MATH_FUNCTIONS = [
    "floor",
    "ceil",
    "trunc",
    "sqrt",
    "isqrt",
    "fabs",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "log",
    "log2",
    "log10",
    "log1p",
    "exp",
    "expm1",
    "pow",
    "gcd",
    "copysign",
    "fmod",
    "modf",
    "frexp",
    "ldexp",
    "hypot",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "tanh",
    "degrees",
    "radians",
    "remainder",
]


class MathNamespace(Namespace):
    SANDBOX_ATTRS = frozenset([*_MATH_FUNCTIONS, "pi", "e", "tau", "inf", "nan", "fsum", "prod"])
    SANDBOX_NAME = "math"

    pi = _math.pi
    e = _math.e
    tau = _math.tau
    inf = _math.inf
    nan = _math.nan

    def __init__(self, guards: Guards) -> None:
        self._guards = guards
        for name in _MATH_FUNCTIONS:
            setattr(self, name, getattr(_math, name))
        for name in ("floor", "ceil", "trunc"):
            setattr(self, name, self._to_int(getattr(_math, name)))

    def _to_int(self, function: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """`math.floor(Decimal("1e6000"))` would be a 20 000-bit integer."""
        guards = self._guards
        digits = guards.max_bits // 3

        def bounded(value: Any) -> Any:
            if (
                isinstance(value, decimal.Decimal)
                and value.is_finite()
                and value.adjusted() > digits
            ):
                raise LimitExceeded("int_size", "Decimal too large to convert to int")
            return guards.check_int(function(value))

        bounded.__name__ = function.__name__
        return bounded

    def fsum(self, values: Any) -> float:
        return _math.fsum(self._numbers(values))

    def prod(self, values: Any, *, start: Any = 1) -> Any:
        result = start
        for value in self._numbers(values):
            result = self._guards.mul(result, value)
        return result

    def _numbers(self, values: Any) -> list[Any]:
        items = self._guards.materialize(values)
        for item in items:
            if not isinstance(item, (int, float, decimal.Decimal)):
                raise TypeError(f"must be real number, not {type(item).__name__}")
        return items
