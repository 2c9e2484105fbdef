"""What a script run produces: `ExecutionResult` and its parts, plus validation `Diagnostic`s.

Plain slotted dataclasses rather than pydantic models: one result is built per script run,
on the hot path, and pydantic construction would cost more than the sandboxed run itself.
`to_dict()` gives the JSON-able form used by the CLI, the API and the execution log.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from alloy_scripting.model.enums import ExecutionPhase, ExecutionStatus

Severity = Literal["error", "warning"]


@dataclass(slots=True)
class Diagnostic:
    """One finding of `validate`: `line` and `col` are 1-based (0 when unknown)."""

    severity: Severity
    line: int
    col: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "line": self.line,
            "col": self.col,
            "message": self.message,
        }


@dataclass(slots=True)
class ScriptError:
    """Why a run ended in `error` (or which statement hit a limit): exception class name,
    message (never a host path or object address) and the script line, when known."""

    type: str
    message: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "line": self.line}


@dataclass(slots=True)
class LogEntry:
    level: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "message": self.message}


@dataclass(slots=True)
class EmittedEvent:
    """A side-effect intent recorded by `emit()`; the runner publishes it only on success."""

    event_type: str
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"event_type": self.event_type, "payload": jsonable(self.payload)}


@dataclass(slots=True)
class ApiResponse:
    """The HTTP answer an API-phase script set with `respond()`: a JSON body."""

    status: int
    body: Any
    headers: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "body": jsonable(self.body), "headers": dict(self.headers)}


@dataclass(slots=True)
class ExecutionResult:
    """The outcome of one script run.

    `changes` maps the top-level entity fields whose final value differs from the original
    to their new value; `removed` lists the deleted fields; `entity` is the data after the
    run (the unchanged original when the run did not succeed: nothing is applied then).
    """

    status: ExecutionStatus
    changes: dict[str, Any]
    removed: list[str]
    entity: dict[str, Any]
    phase: ExecutionPhase
    reason: str | None = None
    error: ScriptError | None = None
    limit: str | None = None
    logs: list[LogEntry] = field(default_factory=list)
    emitted: list[EmittedEvent] = field(default_factory=list)
    operations: int = 0
    duration_ms: float = 0.0
    execution_id: str | None = None
    """The execution record kept for this run (set by the executor; None for a dry run)."""
    state_calls: list[dict[str, Any]] = field(default_factory=list)
    """Each ``store.*`` call: operation, collection, key, outcome, ms (worker runs)."""
    response: ApiResponse | None = None

    @property
    def ok(self) -> bool:
        return self.status is ExecutionStatus.SUCCESS

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "changes": jsonable(self.changes),
            "removed": list(self.removed),
            "entity": jsonable(self.entity),
            "reason": self.reason,
            "error": None if self.error is None else self.error.to_dict(),
            "limit": self.limit,
            "logs": [entry.to_dict() for entry in self.logs],
            "emitted": [event.to_dict() for event in self.emitted],
            "operations": self.operations,
            "duration_ms": round(self.duration_ms, 3),
            "phase": self.phase.value,
            **({"state_calls": list(self.state_calls)} if self.state_calls else {}),
            **({} if self.response is None else {"response": self.response.to_dict()}),
        }


_new_object = object.__new__
_SUCCESS = ExecutionStatus.SUCCESS


def success_result(
    changes: dict[str, Any],
    removed: list[str],
    entity: dict[str, Any],
    phase: ExecutionPhase,
    duration_ms: float,
) -> ExecutionResult:
    """`ExecutionResult(SUCCESS, changes, removed, entity, phase, duration_ms=...)` for a
    run without a `Run` (no logs, emits or counted operations), built by slot stores:
    calling the class goes through its generated `__init__` from C, which costs about as
    much as the rest of this function on the engine's hot path. Sets every field."""
    result: ExecutionResult = _new_object(ExecutionResult)
    result.status = _SUCCESS
    result.changes = changes
    result.removed = removed
    result.entity = entity
    result.phase = phase
    result.reason = None
    result.error = None
    result.limit = None
    result.logs = []
    result.emitted = []
    result.operations = 0
    result.duration_ms = duration_ms
    result.execution_id = None
    result.state_calls = []
    result.response = None
    return result


def jsonable(value: Any) -> Any:
    """A JSON-serialisable copy of `value`.

    The engine already hands out plain data; this is the last line of defence for data
    that came from the caller (dates, decimals, tuples). Unknown objects become their
    type name, never their repr (which could carry host details such as addresses);
    NaN and Infinity (not JSON) become null.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else None  # NaN / Infinity are not JSON
    if isinstance(value, dict):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return f"<{type(value).__name__}>"


def _key(key: Any) -> str:
    """Object keys the way `json.dumps` writes them."""
    if type(key) is str:
        return key
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return repr(int(key))
    if isinstance(key, float):
        return repr(float(key))
    if isinstance(key, str):
        return str.__str__(key)
    return f"<{type(key).__name__}>"
