"""``store``: what a script sees of the state store, a namespace of vetted functions.

Scripts get a `StoreNamespace` whose only attributes are the operations in
`STORE_OPERATIONS` (the engine's attribute policy hands out nothing else), each a function
bound to the run: in a worker, a host call to the service (`bridge.state.host`); an
operation the run's phase does not offer, a stand-in raising `PhaseError`; in-process
(``inline`` engines, which cannot wait for I/O), a stand-in saying the store needs the
worker tier. Never a store, a client or a coroutine: nothing with attributes to follow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from alloy_scripting.bridge.host import HelperSpec
from alloy_scripting.model.enums import ExecutionPhase

STORE = "store"
READ_OPERATIONS = ("get", "find")
WRITE_OPERATIONS = ("put", "delete", "incr")
STORE_OPERATIONS = (*READ_OPERATIONS, *WRITE_OPERATIONS)


_EVERY_PHASE = frozenset(ExecutionPhase)
_PHASES = {
    **dict.fromkeys(READ_OPERATIONS, _EVERY_PHASE),
    **dict.fromkeys(WRITE_OPERATIONS, _EVERY_PHASE - {ExecutionPhase.BEFORE}),
}


def operation_phases(operation: str) -> frozenset[ExecutionPhase]:
    """The phases that offer ``store.<operation>`` (reads in every phase, writes after)."""
    return _PHASES[operation]


class StoreNamespace:
    """The ``store`` global of one run."""

    SANDBOX_ATTRS: ClassVar[frozenset[str]] = frozenset(STORE_OPERATIONS)
    SANDBOX_NAME: ClassVar[str] = "store"
    __slots__ = STORE_OPERATIONS

    def __init__(self, functions: Mapping[str, Callable[..., Any]]) -> None:
        for name in STORE_OPERATIONS:
            object.__setattr__(self, name, functions[name])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("store is read-only")

    def sandbox_text(self, as_repr: bool) -> str:
        return "<store>"

    def __repr__(self) -> str:
        return "<store>"


class StoreNotConfigured(RuntimeError):
    """``store.*`` in a run that has no state store (scripts run in-process)."""


def inline_store() -> StoreNamespace:
    """The namespace of in-process runs: every operation explains why it cannot run."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise StoreNotConfigured(
            "store.* needs the isolated execution tier (scripts run in worker processes)"
        )

    return StoreNamespace(dict.fromkeys(STORE_OPERATIONS, refuse))


def bound_store(
    phase: ExecutionPhase,
    bind: Callable[[str], Callable[..., Any]],
    refuse: Callable[[str, ExecutionPhase], Callable[..., Any]],
) -> StoreNamespace:
    """The namespace of a run in ``phase``: ``bind(operation)`` for the operations the
    phase offers, ``refuse(qualified_name, phase)`` for the others."""
    return StoreNamespace(
        {
            name: bind(name) if phase in operation_phases(name) else refuse(f"store.{name}", phase)
            for name in STORE_OPERATIONS
        }
    )


#: The state family's one helper name: ``store``, offered in every phase (its writes are
#: refused per operation, above).
HELPERS = (HelperSpec(STORE, inline_store, frozenset(ExecutionPhase), namespace=True),)
