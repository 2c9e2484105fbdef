"""`Decimal`, computed in a bounded context (the decimal128 range), and the `ROUND_*`
constants."""

from __future__ import annotations

import decimal
from typing import Any

from alloy_scripting.engine.toolbox.base import Namespace

MAX_DECIMAL_TEXT = 400

DECIMAL_CONTEXT = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=6144,
    Emin=-6143,
    capitals=1,
    clamp=0,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

ROUNDING = {name: getattr(decimal, name) for name in dir(decimal) if name.startswith("ROUND_")}


class DecimalType(Namespace):
    """`Decimal(value)`: values are rounded into the bounded `DECIMAL_CONTEXT` on creation."""

    SANDBOX_ATTRS = frozenset(ROUNDING)
    SANDBOX_NAME = "Decimal"
    REAL = decimal.Decimal

    def __init__(self) -> None:
        for name, value in ROUNDING.items():
            setattr(self, name, value)

    def __call__(self, value: Any = "0") -> decimal.Decimal:
        if isinstance(value, str):
            if len(value) > MAX_DECIMAL_TEXT:
                raise ValueError(f"decimal text longer than {MAX_DECIMAL_TEXT} characters")
            value = value.strip().replace("_", "")
        elif isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
            raise TypeError(f"conversion from {type(value).__name__} to Decimal is not supported")
        return DECIMAL_CONTEXT.create_decimal(value)
