"""A worker's `result` frame back into an `ExecutionResult`, trusting nothing in it.

Every field is checked for type, size and shape (`check_json` for the changes: no NaN,
NUL, lone surrogates, integers beyond 64 bits or deep nesting); anything off is a
`ProtocolError`, which ends the run as `error` and replaces the worker. The entity after
the run is rebuilt here from the data the service sent plus the checked changes, so a
worker cannot hand back an entity of its own making. Emitted intents come from the
service's record of the run's host calls, never from the result frame.
"""

from __future__ import annotations

import json
import math
from typing import Any

from alloy_scripting.bridge.respond import check_headers, check_status
from alloy_scripting.engine.config import EngineConfig
from alloy_scripting.model.enums import ExecutionPhase, ExecutionStatus
from alloy_scripting.model.json_check import check_json
from alloy_scripting.model.result import (
    ApiResponse,
    EmittedEvent,
    ExecutionResult,
    LogEntry,
    ScriptError,
)
from alloy_scripting.runner.workers.protocol import ProtocolError

_STATUSES = {status.value: status for status in ExecutionStatus}
_LEVELS = frozenset({"info", "warning", "error"})
MAX_REASON = 1024
MAX_ERROR_TEXT = 4096
MAX_NAME = 200


def checked_text(value: Any, limit: int, what: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if type(value) is not str or len(value) > limit:
        raise ProtocolError(f"{what}: expected a str of at most {limit} characters")
    try:
        check_json(value, what)
    except ValueError as error:
        raise ProtocolError(str(error)) from None
    return value


def checked_count(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value < 2**63:
        raise ProtocolError(f"{what}: expected a non-negative int")
    return value


def to_result(
    frame: dict[str, Any],
    *,
    config: EngineConfig,
    phase: ExecutionPhase,
    entity: dict[str, Any] | None,
    emitted: list[EmittedEvent],
) -> ExecutionResult:
    status = _STATUSES.get(frame.get("status"))  # type: ignore[arg-type]
    if status is None:
        raise ProtocolError("result: unknown status")
    original = entity or {}
    changes = frame.get("changes")
    removed = frame.get("removed")
    if type(changes) is not dict or type(removed) is not list:
        raise ProtocolError("result: changes must be an object and removed a list")
    if status is not ExecutionStatus.SUCCESS and (changes or removed):
        raise ProtocolError("result: only a success changes the entity")
    _check_plain(changes, config.max_nesting + 1, "changes")
    if any(type(name) is not str or name not in original for name in removed):
        raise ProtocolError("result: removed names a field the entity does not have")
    logs_frame = frame.get("logs")
    if type(logs_frame) is not list or len(logs_frame) > config.max_log_entries:
        raise ProtocolError("result: too many log entries")
    logs: list[LogEntry] = []
    for entry in logs_frame:
        if type(entry) is not list or len(entry) != 2 or entry[0] not in _LEVELS:
            raise ProtocolError("result: a log entry is [level, message]")
        message = checked_text(entry[1], config.max_log_message + 64, "log message")
        logs.append(LogEntry(entry[0], message or ""))
    error = _error(frame.get("error"))
    duration: Any = frame.get("duration_ms")
    if type(duration) not in (int, float) or not math.isfinite(duration) or duration < 0:
        raise ProtocolError("result: duration_ms must be a finite non-negative number")
    after = original
    if status is ExecutionStatus.SUCCESS:
        after = {key: value for key, value in original.items() if key not in removed}
        after.update(changes)
    return ExecutionResult(
        status,
        changes,
        removed,
        after,
        phase,
        reason=checked_text(frame.get("reason"), MAX_REASON, "reason", optional=True),
        error=error,
        limit=checked_text(frame.get("limit"), 64, "limit", optional=True),
        logs=logs,
        emitted=emitted,
        operations=checked_count(frame.get("operations"), "operations"),
        duration_ms=float(duration),
        response=_response(frame.get("response"), config, phase, status),
    )


def _check_plain(value: Any, depth: int, what: str) -> None:
    """JSON the stores and brokers carry (`check_json`), nested at most `depth` levels
    (the engine's `max_nesting`, not the edge's `MAX_JSON_DEPTH`)."""
    if depth < 0:
        raise ProtocolError(f"result: {what} nested too deep")
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            checked_text(key, 1 << 20, f"{what} key")
            _check_plain(item, depth - 1, what)
    elif kind is list:
        for item in value:
            _check_plain(item, depth - 1, what)
    else:
        try:
            check_json(value, what)
        except ValueError as error:
            raise ProtocolError(f"result: {error}") from None


def _error(value: Any) -> ScriptError | None:
    if value is None:
        return None
    if type(value) is not dict:
        raise ProtocolError("result: error must be an object")
    line = value.get("line")
    if line is not None:
        checked_count(line, "error line")
    return ScriptError(
        checked_text(value.get("type"), MAX_NAME, "error type") or "",
        checked_text(value.get("message"), MAX_ERROR_TEXT, "error message") or "",
        line,
    )


def _response(
    value: Any, config: EngineConfig, phase: ExecutionPhase, status: ExecutionStatus
) -> ApiResponse | None:
    """An API-phase script's `respond()` answer, checked again as `respond` checks it."""
    if value is None:
        return None
    if phase is not ExecutionPhase.API or status is not ExecutionStatus.SUCCESS:
        raise ProtocolError("result: only a successful api-phase run sets a response")
    if type(value) is not dict or set(value) != {"status", "body", "headers"}:
        raise ProtocolError("result: response must be {status, body, headers}")
    body = value["body"]
    _check_plain(body, config.max_nesting + 1, "response body")
    if len(json.dumps(body)) > config.max_emit_payload_size:
        raise ProtocolError("result: response body too large")
    try:
        return ApiResponse(check_status(value["status"]), body, check_headers(value["headers"]))
    except (TypeError, ValueError) as error:
        raise ProtocolError(f"result: {error}") from None
