"""What a hook run answers: `HookOutcome` (before-hooks: `Continue`, `Rejected`, `Error`)
and `EffectsOutcome` (after and on-commit hooks: the scripts run and the effects they emit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from alloy_scripting.model.enums import ExecutionStatus
from alloy_scripting.model.events import SideEffect


class ExecutedScript(BaseModel):
    """One script's part in a hook run."""

    name: str
    script_id: str
    version: int
    status: ExecutionStatus
    duration_ms: float


class _OutcomeBase(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event_id: str | None = None
    executed: list[ExecutedScript] = Field(default_factory=list)


class Continue(_OutcomeBase):
    """The operation may proceed, with the scripts' changes applied."""

    outcome: Literal["continue"] = "continue"
    changes: dict[str, Any] = Field(default_factory=dict)
    removed: list[str] = Field(default_factory=list)


class Rejected(_OutcomeBase):
    """A script called `abort(reason)`: the operation must not proceed."""

    outcome: Literal["rejected"] = "rejected"
    reason: str
    script: str | None = None


class Error(_OutcomeBase):
    """A script failed (or the request was invalid): fail closed."""

    outcome: Literal["error"] = "error"
    error: str
    error_type: str = "script_error"
    script: str | None = None


HookOutcome = Annotated[Continue | Rejected | Error, Field(discriminator="outcome")]
"""The reply to a before-hook request."""

hook_outcome_adapter: TypeAdapter[Continue | Rejected | Error] = TypeAdapter(HookOutcome)


@dataclass
class EffectsOutcome:
    """What an after/on-commit hook did: every script ran; effects of the successful ones."""

    event_id: str | None
    executed: list[ExecutedScript] = field(default_factory=list)
    effects: list[SideEffect] = field(default_factory=list)

    @property
    def failed(self) -> list[ExecutedScript]:
        return [e for e in self.executed if e.status.is_failure]
