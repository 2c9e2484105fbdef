"""What one run's ``store.*`` calls share: tenant, phase, budgets, write ids, the call log.

The parent builds a `StateContext` per script run from the run itself (the tenant of the
event or request, never an argument a script passes) and hands it to every helper call of
that run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from alloy_scripting.model.enums import ExecutionPhase
from alloy_scripting.model.state import StateBudgetExceeded, StateQuotas, write_id

if TYPE_CHECKING:  # the engine imports this package in workers: no settings at run time
    from alloy_scripting.bridge.state.store import StateStore
    from alloy_scripting.settings import Settings


@dataclass(frozen=True, slots=True)
class StateLimits:
    """Per-run budgets (``ALLOY_STATE_*`` settings): before-hooks answer a waiting caller,
    so they get few calls and little time; the other phases more."""

    before_calls: int = 10
    before_ms: float = 50.0
    calls: int = 100
    ms: float = 1000.0

    @classmethod
    def from_settings(cls, settings: Settings) -> StateLimits:
        return cls(
            settings.state_before_calls,
            settings.state_before_ms,
            settings.state_run_calls,
            settings.state_run_ms,
        )

    def budget(self, phase: ExecutionPhase) -> StateBudget:
        if phase is ExecutionPhase.BEFORE:
            return StateBudget(self.before_calls, self.before_ms)
        return StateBudget(self.calls, self.ms)


@dataclass(slots=True)
class StateBudget:
    """Calls and store time one run may still spend; past either, `StateBudgetExceeded`."""

    max_calls: int
    max_ms: float
    calls: int = 0
    spent_ms: float = 0.0

    def admit(self) -> float:
        """Count one call; the seconds it may take."""
        if self.calls >= self.max_calls:
            raise StateBudgetExceeded("calls", self.max_calls)
        remaining = self.max_ms - self.spent_ms
        if remaining <= 0:
            raise StateBudgetExceeded("time", self.max_ms)
        self.calls += 1
        return remaining / 1000

    def charge(self, seconds: float) -> None:
        self.spent_ms += seconds * 1000


@dataclass(frozen=True, slots=True)
class StateCall:
    """One ``store.*`` call as the execution record lists it."""

    operation: str
    collection: str
    key: str | None
    outcome: str  # "ok" or the error's code
    ms: float

    def to_dict(self) -> dict[str, object]:
        return {
            "operation": self.operation,
            "collection": self.collection,
            "key": self.key,
            "outcome": self.outcome,
            "ms": round(self.ms, 3),
        }


@dataclass(slots=True)
class StateContext:
    store: StateStore
    tenant_id: str | None
    phase: ExecutionPhase
    budget: StateBudget
    idempotency_base: str | None = None
    """Set for runs an event may replay (after, on_commit): `write_id` is derived from it."""
    writes: int = 0
    calls: list[StateCall] = field(default_factory=list)
    read_only: bool = False
    """Dry runs: reads work, writes are refused (a dry run changes nothing)."""

    @classmethod
    def for_run(
        cls,
        store: StateStore,
        tenant_id: str | None,
        phase: ExecutionPhase,
        limits: StateLimits | None = None,
        *,
        idempotency_base: str | None = None,
    ) -> StateContext:
        budget = (limits or StateLimits()).budget(phase)
        return cls(store, tenant_id, phase, budget, idempotency_base)

    def next_write_id(self) -> str | None:
        """The id of this run's next write (its index counts every write call)."""
        index = self.writes
        self.writes += 1
        return None if self.idempotency_base is None else write_id(self.idempotency_base, index)


def quotas_from(settings: Settings) -> StateQuotas:
    return StateQuotas(
        max_documents=settings.state_max_documents,
        max_document_bytes=settings.state_max_document_bytes,
        max_total_bytes=settings.state_max_total_bytes,
    )
