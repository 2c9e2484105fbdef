"""Debug runs as plain data: the sample a run gets, the effects it records instead of
performing them, and the trace of what each executed line did.

A debug run has *no side effects*. The switch is `DebugEffects`, held by the run: every
helper with an effect (``emit``, the HTTP and state bridges) asks the run for it and, when
it is set, records an `Intent` instead of acting; HTTP calls are answered from the
sample's ``http_fixtures`` (or refused). `emit` intents are also the run's ``emitted``
list, which only the runner publishes, and debug runs never reach the runner's publisher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict, Field

from alloy_scripting.model.enums import EventType
from alloy_scripting.model.json_check import CheckedJsonModel
from alloy_scripting.model.result import ExecutionResult

MAX_HTTP_FIXTURES = 100
MAX_INTENTS = 1000
MAX_URL_LENGTH = 2048


class _Plain(CheckedJsonModel):
    model_config = ConfigDict(frozen=True)


class HttpFixture(_Plain):
    """The answer a debug run gets for an HTTP call to ``method url`` (exact match)."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH)
    status: int = Field(default=200, ge=100, le=599)
    body: Any = None
    headers: dict[str, str] = Field(default_factory=dict, max_length=50)


class DebugSample(_Plain):
    """What a debug run gets: the event, entity, before-image, params and context values."""

    event: EventType | None = Field(default=None, description="Defaults to the trigger's event.")
    entity: dict[str, Any] | None = None
    entity_type: str | None = Field(default=None, min_length=1, max_length=128)
    entity_before: dict[str, Any] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    ctx: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict,
        max_length=20,
        description="Context values (user_id, entity_id, ...); phase, event and script are "
        "set by the run.",
    )
    http_fixtures: list[HttpFixture] = Field(default_factory=list, max_length=MAX_HTTP_FIXTURES)


@dataclass(slots=True)
class Intent:
    """A side effect a debug run asked for and did not perform."""

    kind: str  # "emit" | "http" | "state"
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.detail}


class EffectRefused(RuntimeError):
    """A debug run asked for an effect it cannot simulate (e.g. HTTP without a fixture)."""


@dataclass(slots=True)
class DebugEffects:
    """The run-level "no side effects, record intents" switch (see the module docstring)."""

    http_fixtures: list[HttpFixture] = field(default_factory=list)
    intents: list[Intent] = field(default_factory=list)

    def record(self, kind: str, **detail: Any) -> None:
        if len(self.intents) < MAX_INTENTS:
            self.intents.append(Intent(kind, detail))

    def http(self, method: str, url: str, body: Any = None) -> HttpFixture:
        """Record the call and answer it from the fixtures, or raise `EffectRefused`."""
        method = method.upper()
        self.record("http", method=method, url=url[:MAX_URL_LENGTH], body=body)
        for fixture in self.http_fixtures:
            if fixture.method == method and fixture.url == url:
                return fixture
        raise EffectRefused(
            f"no http_fixture for {method} {url[:200]}: a debug run performs no HTTP call"
        )


@dataclass(slots=True)
class TraceStep:
    """What one executed line did: the operations counted so far, the names it bound or
    changed (short renderings), the entity's changes so far and the lines it logged."""

    line: int
    operations: int
    names: dict[str, str]
    changes: dict[str, str]
    removed: list[str]
    logs: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "operations": self.operations,
            "names": self.names,
            "changes": self.changes,
            "removed": self.removed,
            "logs": self.logs,
        }


@dataclass(slots=True)
class Trace:
    """The steps of a debug run; `truncated` names why it stopped early
    (``"steps"``: more than the step bound; ``"time"``: the tracer's own time budget)."""

    steps: list[TraceStep] = field(default_factory=list)
    executed: int = 0
    truncated: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": [step.to_dict() for step in self.steps],
            "executed": self.executed,
            "truncated": self.truncated,
        }


@dataclass(slots=True)
class DebugReport:
    """The result of a debug run, its trace and the side effects it asked for."""

    result: ExecutionResult
    trace: Trace
    intents: list[Intent]

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result.to_dict(),
            "trace": self.trace.to_dict(),
            "intents": [intent.to_dict() for intent in self.intents],
        }
