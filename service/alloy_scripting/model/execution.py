"""One row of the execution log (``script_executions``): the audit trail of script runs."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from alloy_scripting.model.enums import EventType, ExecutionPhase, ExecutionStatus
from alloy_scripting.model.script import UtcDatetime, to_utc_ms, truncate, utc_now

#: ``changes`` whose JSON is larger than this are replaced by a truncation marker.
MAX_CHANGES_BYTES = 16 * 1024
#: Bounds on the captured script logs kept in the record.
MAX_LOG_LINES = 100
MAX_LOG_LINE_LENGTH = 1024
MAX_LOGS_BYTES = 16 * 1024
#: Bounds on the error kept in the record.
MAX_ERROR_BYTES = 4 * 1024
MAX_REASON_LENGTH = 2048

TRUNCATED_MARKER = "_truncated"


_id_lock = threading.Lock()
_last_ms = 0
_seq = 0


def new_record_id() -> str:
    """A time-ordered id (32 hex digits: milliseconds, a per-process sequence, random), so
    records started in the same millisecond still list in creation order."""
    global _last_ms, _seq
    with _id_lock:
        now = time.time_ns() // 1_000_000
        if now <= _last_ms:
            _seq += 1
            now = _last_ms
        else:
            _seq = 0
        _last_ms = now
        seq = _seq
    return f"{now:012x}{seq & 0xFFFF:04x}{os.urandom(8).hex()}"


def derive_record_id(request_key: str, script_id: str) -> str:
    """The id of a hook run's record: the same for every delivery of one request (its
    dedup key) and one script, so a redelivery that runs again writes no second record.
    32 hex digits, like `new_record_id`."""
    material = f"{request_key}\x00{script_id}".encode()
    return hashlib.blake2b(material, digest_size=16).hexdigest()


def _json_size(value: Any) -> int:
    return len(json.dumps(value, default=str, ensure_ascii=False).encode("utf-8"))


_SHORT_SCALARS = (bool, float, type(None))


def _flat_budget(values: Mapping[str, Any], budget: int) -> int:
    """`budget` less a cheap upper bound on the JSON size of a flat dict of scalars; -1
    when the dict is not flat, too long, or the bound exceeds the budget."""
    if len(values) > 256:
        return -1
    budget -= 2
    for key, value in values.items():
        if type(key) is not str:
            return -1
        budget -= 6 * len(key) + 4  # JSON may escape a character as 6 bytes
        kind = type(value)
        if kind is str:
            budget -= 6 * len(value) + 2
        elif kind is int:
            if not -(2**63) <= value < 2**63:
                return -1
            budget -= 20
        elif kind in _SHORT_SCALARS:
            budget -= 24
        else:
            return -1
        if budget < 0:
            return -1
    return budget


def _surely_fits(changes: dict[str, Any], limit: int) -> bool:
    """A cheap upper bound on the JSON size of a flat dict of scalars (what most runs
    change), so that most records skip serialising `changes` just to measure it."""
    return _flat_budget(changes, limit) >= 0


def bound_changes(changes: dict[str, Any] | None) -> dict[str, Any] | None:
    """``changes`` unchanged when small; else a marker naming its size and (some) keys."""
    if changes is None or changes.get(TRUNCATED_MARKER) is True:
        return changes
    if _surely_fits(changes, MAX_CHANGES_BYTES):
        return changes
    size = _json_size(changes)
    if size <= MAX_CHANGES_BYTES:
        return changes
    keys = [truncate(str(k), 128) for k in list(changes)[:50]]
    return {TRUNCATED_MARKER: True, "size": size, "keys": keys}


def bound_logs(logs: list[str]) -> list[str]:
    kept: list[str] = []
    total = 0
    for line in logs[:MAX_LOG_LINES]:
        line = truncate(str(line), MAX_LOG_LINE_LENGTH)
        total += len(line.encode("utf-8", errors="replace"))
        if total > MAX_LOGS_BYTES:
            kept.append("… (logs truncated)")
            return kept
        kept.append(line)
    if len(logs) > MAX_LOG_LINES:
        kept.append(f"… ({len(logs) - MAX_LOG_LINES} more lines truncated)")
    return kept


def bound_error(error: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
    if error is None:
        return None
    if isinstance(error, str):
        return truncate(error)
    if _json_size(error) <= MAX_ERROR_BYTES:
        return error
    bounded: dict[str, Any] = {}
    for key, value in error.items():
        bounded[str(key)] = truncate(value, 1024) if isinstance(value, str) else value
    if _json_size(bounded) <= MAX_ERROR_BYTES:
        return bounded
    return {TRUNCATED_MARKER: True, "message": truncate(json.dumps(error, default=str), 1024)}


def bound_reason(reason: str | None) -> str | None:
    return None if reason is None else truncate(reason, MAX_REASON_LENGTH)


def bound_removed(removed: list[str]) -> list[str]:
    return [truncate(field, 256) for field in removed[:1000]]


MAX_HTTP_CALLS = 100


def bound_http_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audit entries of a run's HTTP calls (each already small: method, host, port,
    path, status, duration, bytes, redirects, outcome, reason), at most `MAX_HTTP_CALLS`."""
    return [dict(call) for call in calls[:MAX_HTTP_CALLS]]


MAX_STATE_CALLS = 200


def bound_state_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first `MAX_STATE_CALLS` calls, with their texts bounded."""
    return [
        {k: truncate(v, 256) if isinstance(v, str) else v for k, v in call.items()}
        for call in calls[:MAX_STATE_CALLS]
    ]


#: The default bound on a record's kept input (its JSON), `ALLOY_EXECUTION_INPUT_MAX_BYTES`.
DEFAULT_INPUT_MAX_BYTES = 64 * 1024
#: Emitted events kept in a record (a published run's, at most this much JSON).
MAX_EMITTED_BYTES = 16 * 1024
#: Why a record without an input cannot be replayed.
NO_INPUT = "the record keeps no input (written before inputs were kept, or rebuilt late)"


def run_input(
    event: EventType | None,
    entity: Mapping[str, Any] | None,
    entity_before: Mapping[str, Any] | None,
    params: Mapping[str, Any] | None,
    ctx: Mapping[str, Any],
) -> dict[str, Any]:
    """What a run was given, as a record keeps it (references: nothing is copied)."""
    return {
        "event": None if event is None else event.value,
        "entity": entity,
        "entity_before": entity_before,
        "params": params,
        "ctx": ctx,
    }


_INPUT_OVERHEAD = 96  # the keys and punctuation of `run_input`'s dict, and `event`


def _input_surely_fits(value: dict[str, Any], limit: int) -> bool:
    """A cheap upper bound on the JSON size of an input whose parts are flat dicts of
    scalars (most hook runs): no serialising just to measure."""
    budget = limit - _INPUT_OVERHEAD
    for name in ("entity", "entity_before", "params", "ctx"):
        part = value[name]
        if part:
            budget = _flat_budget(part, budget)
            if budget < 0:
                return False
    return True


def bound_input(
    value: dict[str, Any], limit: int
) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """``(input, None, json)`` when its JSON is at most `limit` bytes, else
    ``(None, reason, None)``. A small flat input is not serialised here (``json`` is
    None: the store serialises it once); a measured one hands its JSON on to the store."""
    if _input_surely_fits(value, limit):
        return value, None, None
    try:
        text = _input_text(value)
    except (TypeError, ValueError, RecursionError) as error:
        return None, f"the input is not JSON ({type(error).__name__})", None
    size = len(text.encode("utf-8", errors="replace")) if 4 * len(text) > limit else len(text)
    if size > limit:
        return None, f"the input is {size} bytes of JSON, above the limit of {limit}", None
    return value, None, text


def _input_text(value: dict[str, Any]) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def bound_emitted(emitted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The emitted events, unchanged when small; else a truncation marker."""
    if not emitted or (len(emitted) == 1 and emitted[0].get(TRUNCATED_MARKER) is True):
        return emitted
    size = _json_size(emitted)
    if size <= MAX_EMITTED_BYTES:
        return emitted
    return [{TRUNCATED_MARKER: True, "size": size, "count": len(emitted)}]


class ExecutionRecord(BaseModel):
    """How one run of one script went. Bounded in size: safe to store and to publish."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=new_record_id)
    script_id: str
    script_version: int = Field(ge=1)
    script_name: str
    tenant_id: str | None = None
    user_id: str | None = None
    phase: ExecutionPhase
    event: EventType | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    correlation_id: str | None = None
    status: ExecutionStatus
    duration_ms: float = Field(default=0.0, ge=0)
    operations: int = Field(default=0, ge=0)
    error: str | dict[str, Any] | None = None
    reason: str | None = None
    changes: dict[str, Any] | None = None
    removed: list[str] = Field(default_factory=list)
    logs: list[str] = Field(default_factory=list)
    http_calls: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The run's HTTP calls: method, host, port, path (no query), status, "
        "duration_ms, bytes, redirects, outcome and the reason of a failure or refusal.",
    )
    state_calls: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Each store.* call of the run: operation, collection, key, outcome, ms.",
    )
    emitted: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The events a successful run emitted (event_type, payload), as published.",
    )
    input: dict[str, Any] | None = Field(
        default=None,
        description="What the run was given (event, entity, entity_before, params, ctx), "
        "kept up to ALLOY_EXECUTION_INPUT_MAX_BYTES of JSON: what a replay runs again.",
    )
    replayable: bool = Field(default=False, description="Whether `input` was kept.")
    not_replayable: str | None = Field(
        default=None, description="Why the input was not kept (too large, not JSON)."
    )
    started_at: UtcDatetime = Field(default_factory=utc_now)
    recovered: bool = False
    """Written late, from what a processed-event mark kept of the answer (the run's own
    record was lost by an earlier version): fields the mark does not keep are empty."""
    _input_json: str | None = PrivateAttr(default=None)

    @classmethod
    def of_run(cls, **fields: Any) -> ExecutionRecord:
        """`ExecutionRecord(**fields)` for fields the runner built itself (right types, aware
        `started_at`): applies the same bounds as the validators, without pydantic's
        validation, which would cost more per record than the script run it describes.
        A test checks that both give equal records."""
        # Every field is given: for a missing one, `model_construct` would ask pydantic
        # for its default, which inspects the default factory's signature on each call.
        fields = {**_RECORD_DEFAULTS, **fields}
        if "id" not in fields:
            fields["id"] = new_record_id()
        fields["started_at"] = (
            to_utc_ms(fields["started_at"]) if "started_at" in fields else utc_now()
        )
        fields["changes"] = bound_changes(fields.get("changes"))
        fields["logs"] = bound_logs(fields.get("logs") or [])
        fields["error"] = bound_error(fields.get("error"))
        fields["reason"] = bound_reason(fields.get("reason"))
        fields["removed"] = bound_removed(fields.get("removed") or [])
        fields["http_calls"] = bound_http_calls(fields.get("http_calls") or [])
        fields["state_calls"] = bound_state_calls(fields.get("state_calls") or [])
        fields["emitted"] = bound_emitted(fields.get("emitted") or [])
        input_json = fields.pop("input_json", None)
        record = cls.model_construct(**fields)
        if input_json is not None:
            record._private()["_input_json"] = input_json
        return record

    def _private(self) -> dict[str, Any]:
        # The private attributes' own dict: pydantic's attribute access to them costs
        # microseconds per call (an exception path), on every hook record.
        private = self.__pydantic_private__
        if private is None:
            private = self.__pydantic_private__ = {}
        return private

    def input_json(self) -> str | None:
        """The kept input as JSON text (how the store keeps it: any field name, any
        nesting), serialised at most once per record."""
        if self.input is None:
            return None
        private = self._private()
        text: str | None = private.get("_input_json")
        if text is None:
            text = private["_input_json"] = _input_text(self.input)
        return text

    @field_validator("changes")
    @classmethod
    def _bound_changes(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return bound_changes(value)

    @field_validator("logs")
    @classmethod
    def _bound_logs(cls, value: list[str]) -> list[str]:
        return bound_logs(value)

    @field_validator("error")
    @classmethod
    def _bound_error(cls, value: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
        return bound_error(value)

    @field_validator("http_calls")
    @classmethod
    def _bound_http_calls(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return bound_http_calls(value)

    @field_validator("reason")
    @classmethod
    def _bound_reason(cls, value: str | None) -> str | None:
        return bound_reason(value)

    @field_validator("removed")
    @classmethod
    def _bound_removed(cls, value: list[str]) -> list[str]:
        return bound_removed(value)

    @field_validator("emitted")
    @classmethod
    def _bound_emitted(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return bound_emitted(value)

    @field_validator("state_calls")
    @classmethod
    def _bound_state_calls(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return bound_state_calls(value)

    @property
    def is_failure(self) -> bool:
        return self.status.is_failure

    @property
    def changes_truncated(self) -> bool:
        return bool(self.changes and self.changes.get(TRUNCATED_MARKER) is True)


_RECORD_DEFAULTS: dict[str, Any] = {
    name: info.default
    for name, info in ExecutionRecord.model_fields.items()
    if not info.is_required() and info.default_factory is None
}
