"""Phase helpers: the functions a script may call depending on when it runs.

* Validation helpers (`validate_email`, `validate_required`, `validate_length`,
  `validate_range`, `validate_pattern`, `validate_one_of`) return a bool and never raise
  for a bad *value* (only for bad arguments, e.g. a non-numeric bound). They are available
  in `before` hooks and in the script-driven phases `manual`, `scheduled` and `api`.
* `emit(event_type, payload)` records a side-effect intent in the result (the runner
  publishes intents only when the run succeeds). Available after the write: `after`,
  `on_commit`, and in `manual`, `scheduled`, `api`.
* `http_get`, `http_post`, `http_request` (same phases as `emit`) are host calls: the
  service makes them for scripts running in the worker tier (`bridge.host_calls`,
  `bridge.http`). The functions here stand for them where no service loop can make the
  call (inline execution): they refuse with `HelperNotConfiguredError`.

A helper used outside its phases is a validation error naming the phase (`validate`) and,
if the script runs anyway, a `PhaseError` naming the phase when the call is reached.

Helpers that need the run (to record intents, to bound a regular expression) receive a
`HelperHost` as first argument; the engine binds it per run.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import email_validator

from alloy_scripting.model.enums import ExecutionPhase

_VALIDATION_PHASES = frozenset(
    {ExecutionPhase.BEFORE, ExecutionPhase.MANUAL, ExecutionPhase.SCHEDULED, ExecutionPhase.API}
)
_EFFECT_PHASES = frozenset(
    {
        ExecutionPhase.AFTER,
        ExecutionPhase.ON_COMMIT,
        ExecutionPhase.MANUAL,
        ExecutionPhase.SCHEDULED,
        ExecutionPhase.API,
    }
)
MAX_EMAIL = 254
MAX_LOCAL_PART = 64


class PhaseError(RuntimeError):
    """A helper was called in a phase that does not offer it."""


class HelperNotConfiguredError(RuntimeError):
    """A reserved helper with no backing service."""


class HelperHost(Protocol):
    """What host-bound helpers need from the run."""

    def emit_intent(self, event_type: Any, payload: Any) -> None: ...

    def regex_fullmatch(self, pattern: Any, value: str) -> bool: ...

    def materialize(self, values: Any) -> list[Any]: ...

    def plain_arguments(self, value: Any, size: int, what: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class HelperSpec:
    name: str
    function: Callable[..., Any]
    phases: frozenset[ExecutionPhase]
    needs_host: bool = False


def phase_error_message(name: str, phase: ExecutionPhase | str) -> str:
    return f"{name}() is not available in the '{ExecutionPhase(phase).value}' phase"


def unavailable(name: str, phase: ExecutionPhase) -> Callable[..., Any]:
    """The stand-in bound to a helper outside its phases."""
    message = phase_error_message(name, phase)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PhaseError(message)

    refuse.__name__ = name
    return refuse


# -- validation --------------------------------------------------------------------------------


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


# -- effects -----------------------------------------------------------------------------------


def emit(host: HelperHost, event_type: Any, payload: Any = None) -> None:
    """Record the intent to publish `event_type` with `payload` (plain JSON data)."""
    if isinstance(event_type, str) and not event_type.isascii():
        try:
            event_type.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("emit() event_type must be UTF-8 text (no lone surrogates)") from None
    host.emit_intent(event_type, payload)


def _http_needs_the_worker_tier(name: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise HelperNotConfiguredError(
            f"{name}() is made by the service for scripts running in its worker processes; "
            "inline execution has no HTTP"
        )

    refuse.__name__ = name
    return refuse


REGISTRY: Mapping[str, HelperSpec] = {
    spec.name: spec
    for spec in (
        HelperSpec("validate_email", validate_email, _VALIDATION_PHASES),
        HelperSpec("validate_required", validate_required, _VALIDATION_PHASES),
        HelperSpec("validate_length", validate_length, _VALIDATION_PHASES),
        HelperSpec("validate_range", validate_range, _VALIDATION_PHASES),
        HelperSpec("validate_pattern", validate_pattern, _VALIDATION_PHASES, needs_host=True),
        HelperSpec("validate_one_of", validate_one_of, _VALIDATION_PHASES, needs_host=True),
        HelperSpec("emit", emit, _EFFECT_PHASES, needs_host=True),
        *(
            HelperSpec(name, _http_needs_the_worker_tier(name), _EFFECT_PHASES)
            for name in ("http_get", "http_post", "http_request")
        ),
    )
}


def helpers_for(phase: ExecutionPhase) -> list[str]:
    """Names of the helpers available in `phase`."""
    return [name for name, spec in REGISTRY.items() if phase in spec.phases]
