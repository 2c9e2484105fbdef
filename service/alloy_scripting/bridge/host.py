"""What every helper family shares: the run they are bound to (`HelperHost`), how a family
declares a helper (`HelperSpec`), and the errors of a helper called where it is not offered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from alloy_scripting.model.debug import DebugEffects
from alloy_scripting.model.enums import ExecutionPhase

#: Phases that run before the write (the entity may still be refused) or on demand.
VALIDATION_PHASES = frozenset(
    {ExecutionPhase.BEFORE, ExecutionPhase.MANUAL, ExecutionPhase.SCHEDULED, ExecutionPhase.API}
)
#: Phases that run after the write (side effects may follow) or on demand.
EFFECT_PHASES = frozenset(
    {
        ExecutionPhase.AFTER,
        ExecutionPhase.ON_COMMIT,
        ExecutionPhase.MANUAL,
        ExecutionPhase.SCHEDULED,
        ExecutionPhase.API,
    }
)


class PhaseError(RuntimeError):
    """A helper was called in a phase that does not offer it."""


class HelperNotConfiguredError(RuntimeError):
    """A reserved helper with no backing service."""


class HelperHost(Protocol):
    """What host-bound helpers need from the run.

    Side effects and debug runs: every helper with an effect asks `effects`; when it is set
    (a debug run), the helper records an intent there and performs nothing."""

    effects: DebugEffects | None

    def set_response(self, body: Any, status: int, headers: dict[str, str]) -> None: ...

    def emit_intent(self, event_type: Any, payload: Any) -> None: ...

    def regex_fullmatch(self, pattern: Any, value: str) -> bool: ...

    def materialize(self, values: Any) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class HelperSpec:
    name: str
    function: Callable[..., Any]
    phases: frozenset[ExecutionPhase]
    needs_host: bool = False
    reserved: bool = False
    """A name kept for a later release: every call fails (the catalogue marks it unavailable)."""
    namespace: bool = False
    """`function()` builds the value scripts see (e.g. ``store``), once per run."""


def phase_error_message(name: str, phase: ExecutionPhase | str) -> str:
    return f"{name}() is not available in the '{ExecutionPhase(phase).value}' phase"


def unavailable(name: str, phase: ExecutionPhase) -> Callable[..., Any]:
    """The stand-in bound to a helper outside its phases."""
    message = phase_error_message(name, phase)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PhaseError(message)

    refuse.__name__ = name
    return refuse
