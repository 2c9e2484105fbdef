"""Validation helpers (`validate_email`, `validate_required`, `validate_length`,
`validate_range`, `validate_pattern`, `validate_one_of`): they return a bool and never raise
for a bad *value* (only for bad arguments, e.g. a non-numeric bound). Offered before the
write and on demand (`VALIDATION_PHASES`)."""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping
from typing import Any

import email_validator

from alloy_scripting.bridge.host import VALIDATION_PHASES, HelperHost, HelperSpec

MAX_EMAIL = 254
MAX_LOCAL_PART = 64


def validate_email(value: Any) -> bool:
    """A syntactically valid address (no DNS lookups), local part <= 64 and total <= 254
    characters as RFC 5321 requires."""
    if not isinstance(value, str) or not value or len(value) > MAX_EMAIL:
        return False
    local, at, _domain = value.rpartition("@")
    if not at or len(local) > MAX_LOCAL_PART:
        return False
    try:
        email_validator.validate_email(value, check_deliverability=False)
    except (email_validator.EmailNotValidError, UnicodeError, ValueError):
        return False
    return True


def validate_required(value: Any) -> bool:
    """Present: not None, not an empty or blank string, not an empty collection."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        return len(value) > 0
    return True


def _number_bound(bound: Any, name: str) -> Any:
    if bound is None or (
        isinstance(bound, (int, float, decimal.Decimal)) and not isinstance(bound, bool)
    ):
        return bound
    raise TypeError(f"{name} must be a number or None")


def validate_length(value: Any, min: Any = None, max: Any = None) -> bool:
    """`len(value)` (of a str, list, tuple, dict or set) within [min, max]."""
    low, high = _number_bound(min, "min"), _number_bound(max, "max")
    if not isinstance(value, (str, list, tuple, dict, set, frozenset)):
        return False
    size = len(value)
    return (low is None or size >= low) and (high is None or size <= high)


def validate_range(value: Any, min: Any = None, max: Any = None) -> bool:
    """A number (not a bool, not NaN) within [min, max]."""
    low, high = _number_bound(min, "min"), _number_bound(max, "max")
    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    if isinstance(value, decimal.Decimal) and value.is_nan():
        return False
    try:
        return (low is None or value >= low) and (high is None or value <= high)
    except TypeError:
        return False


def validate_pattern(host: HelperHost, value: Any, pattern: Any) -> bool:
    """The whole of `value` (a str) matches the regular expression `pattern`."""
    if not isinstance(pattern, str):
        raise TypeError("pattern must be a str")
    if not isinstance(value, str):
        return False
    return host.regex_fullmatch(pattern, value)


def validate_one_of(host: HelperHost, value: Any, options: Any) -> bool:
    """`value` is one of `options` (a list, tuple or set)."""
    if isinstance(options, (str, Mapping)):
        raise TypeError("options must be a list, tuple or set")
    try:
        candidates = host.materialize(options)
        host.materialize([value])  # refused, like the options, if it aliases too much
        return value in candidates
    except TypeError:
        return False


HELPERS = (
    HelperSpec("validate_email", validate_email, VALIDATION_PHASES),
    HelperSpec("validate_required", validate_required, VALIDATION_PHASES),
    HelperSpec("validate_length", validate_length, VALIDATION_PHASES),
    HelperSpec("validate_range", validate_range, VALIDATION_PHASES),
    HelperSpec("validate_pattern", validate_pattern, VALIDATION_PHASES, needs_host=True),
    HelperSpec("validate_one_of", validate_one_of, VALIDATION_PHASES, needs_host=True),
)
