"""Debug runs in a worker: no side effects, and a line trace unless told otherwise.

A run request with a `DebugRun` makes the worker call `ScriptEngine.debug` instead of
`execute`: its effect helpers (``emit``, HTTP, ``store``) record intents in the run's
`DebugEffects` (HTTP answered from the sample's fixtures) instead of asking the service,
so a debug run sends no host call at all. The worker adds the trace and the intents to its
result frame (`worker_part`, trimmed to fit a frame); the service checks them like every
other part of a result, as hostile plain data (`DebugRun.take`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alloy_scripting.engine.tracer import MAX_SECONDS, MAX_STEPS
from alloy_scripting.model.debug import (
    MAX_INTENTS,
    DebugEffects,
    HttpFixture,
    Intent,
    Trace,
    TraceStep,
)
from alloy_scripting.model.json_check import check_json
from alloy_scripting.model.result import EmittedEvent, jsonable
from alloy_scripting.runner.workers import protocol
from alloy_scripting.runner.workers.protocol import ProtocolError
from alloy_scripting.runner.workers.results import checked_count, checked_text

#: The tracer's own time is added to a traced run's deadline; it records at most
#: `MAX_TRACE_STEPS` steps (the engine's bounds, checked again here).
TRACER_SECONDS = MAX_SECONDS
MAX_TRACE_STEPS = MAX_STEPS
MAX_STEP_ENTRIES = 2000
MAX_RENDERED = 4096
_KINDS = frozenset({"emit", "http", "state"})
_TRUNCATIONS = frozenset({None, "steps", "time", "size"})
#: Room left in a result frame for everything but the trace.
_FRAME_MARGIN = 256 * 1024


@dataclass(slots=True)
class DebugRun:
    """The debug part of a `RunRequest`; after the run, its checked trace and intents."""

    http_fixtures: list[HttpFixture] = field(default_factory=list)
    trace: bool = True
    steps: Trace = field(default_factory=Trace)
    intents: list[Intent] = field(default_factory=list)

    def frame(self) -> dict[str, Any]:
        return {
            "http_fixtures": [fixture.model_dump() for fixture in self.http_fixtures],
            "trace": self.trace,
        }

    def take(self, value: Any) -> list[EmittedEvent]:
        """Check the worker's debug part, keep its trace and intents; the run's emitted
        events (its ``emit`` intents). `ProtocolError` for anything off."""
        if type(value) is not dict:
            raise ProtocolError("result: a debug run's result has no debug part")
        self.steps = _trace(value.get("trace"))
        intents = value.get("intents")
        if type(intents) is not list or len(intents) > MAX_INTENTS:
            raise ProtocolError("result: intents must be a list of at most 1000")
        self.intents = [_intent(item) for item in intents]
        emitted: list[EmittedEvent] = []
        for intent in self.intents:
            if intent.kind == "emit":
                event_type, payload = intent.detail.get("event_type"), intent.detail.get("payload")
                if type(event_type) is not str or type(payload) is not dict:
                    raise ProtocolError("result: an emit intent is {event_type, payload}")
                emitted.append(EmittedEvent(event_type, payload))
        return emitted


def _checked(value: Any, what: str) -> None:
    try:
        check_json(value, what)
    except ValueError as error:
        raise ProtocolError(f"result: {error}") from None


def _text(value: Any, what: str) -> str:
    return checked_text(value, MAX_RENDERED, f"trace {what}") or ""


def _texts(value: Any, what: str) -> dict[str, str]:
    if type(value) is not dict or len(value) > MAX_STEP_ENTRIES:
        raise ProtocolError(f"result: trace {what} must be an object")
    return {_text(key, what): _text(item, what) for key, item in value.items()}


def _list(value: Any, what: str) -> list[str]:
    if type(value) is not list or len(value) > MAX_STEP_ENTRIES:
        raise ProtocolError(f"result: trace {what} must be a list")
    return [_text(item, what) for item in value]


def _trace(value: Any) -> Trace:
    if type(value) is not dict:
        raise ProtocolError("result: trace must be an object")
    steps = value.get("steps")
    if type(steps) is not list or len(steps) > MAX_TRACE_STEPS:
        raise ProtocolError("result: trace steps must be a list of at most 1000")
    truncated = value.get("truncated")
    if truncated not in _TRUNCATIONS:
        raise ProtocolError("result: unknown trace truncation")
    parsed: list[TraceStep] = []
    for step in steps:
        if type(step) is not dict:
            raise ProtocolError("result: a trace step must be an object")
        parsed.append(
            TraceStep(
                line=checked_count(step.get("line"), "trace line"),
                operations=checked_count(step.get("operations"), "trace operations"),
                names=_texts(step.get("names"), "names"),
                changes=_texts(step.get("changes"), "changes"),
                removed=_list(step.get("removed"), "removed"),
                logs=_list(step.get("logs"), "logs"),
            )
        )
    return Trace(parsed, checked_count(value.get("executed"), "trace executed"), truncated)


def _intent(value: Any) -> Intent:
    if type(value) is not dict or value.get("kind") not in _KINDS:
        raise ProtocolError("result: an intent is an object with a known kind")
    detail = {key: item for key, item in value.items() if key != "kind"}
    _checked(detail, "intent")
    return Intent(value["kind"], detail)


# -- in the worker -------------------------------------------------------------------------


def run_in_worker(
    engine: Any, request: dict[str, Any], debug: dict[str, Any], limits: Any = None
) -> Any:
    """`engine.debug` for a run frame's fields (`limits`: the script's own, parsed);
    returns (result, the frame's debug part)."""
    fixtures = debug.get("http_fixtures") or []
    effects = DebugEffects(http_fixtures=[HttpFixture.model_validate(f) for f in fixtures])
    result, trace = engine.debug(
        request["source"],
        effects=effects,
        trace=debug.get("trace") is True,
        limits=limits,
        **protocol.run_inputs(request),
    )
    part = {
        "trace": trace.to_dict(),
        "intents": [jsonable(intent.to_dict()) for intent in effects.intents],
    }
    return result, part


def fit(frame: dict[str, Any]) -> dict[str, Any]:
    """`frame` with its last trace steps cut (``truncated="size"``), then its last intents,
    until it fits a result frame (each item encoded once to measure it)."""
    limit = protocol.MAX_RESPONSE_FRAME - _FRAME_MARGIN
    excess = len(protocol.encode(frame)) - limit
    part = frame["debug"]
    for items in (part["trace"]["steps"], part["intents"]):
        if excess <= 0:
            break
        if items is part["trace"]["steps"] and items:
            part["trace"]["truncated"] = "size"
        while items and excess > 0:
            excess -= len(protocol.encode(items.pop())) - protocol.HEADER.size + 1
    return frame
