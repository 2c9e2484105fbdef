"""Bodies of the script authors' endpoints: debug runs, fixture reports, API endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from alloy_scripting.api.schemas import TriggerIn
from alloy_scripting.model.debug import DebugSample
from alloy_scripting.model.enums import ExecutionPhase, ScriptStatus
from alloy_scripting.model.fixtures import CaseReport
from alloy_scripting.model.script import ScriptSource


class DebugSourceIn(DebugSample):
    """An unsaved script and its sample. The phase is the trigger's (or the event's, or
    `phase`, or `manual`)."""

    source: ScriptSource
    trigger: TriggerIn | None = None
    phase: ExecutionPhase | None = None


class TraceStepOut(BaseModel):
    line: int
    operations: int = Field(description="Operations counted when the step ended.")
    names: dict[str, str] = Field(description="Names bound or changed, as short renderings.")
    changes: dict[str, str] = Field(description="The entity's changed fields so far.")
    removed: list[str]
    logs: list[str]


class TraceOut(BaseModel):
    steps: list[TraceStepOut]
    executed: int = Field(description="Lines executed (steps beyond the bound included).")
    truncated: str | None = Field(
        default=None, description="Why the trace stopped early: `steps` or `time`."
    )


class DebugOut(BaseModel):
    result: dict[str, Any] = Field(description="The engine's `ExecutionResult`.")
    trace: TraceOut
    intents: list[dict[str, Any]] = Field(
        description="Side effects asked for and not performed (emit, http, state)."
    )


class TestOut(BaseModel):
    script_id: str
    version: int
    passed: bool
    cases: list[CaseReport]


class EndpointOut(BaseModel):
    method: str
    path: str
    script_id: str
    name: str
    status: ScriptStatus


class EndpointList(BaseModel):
    items: list[EndpointOut]
    total: int
