"""Helpers whose work the service does for a script: the host-call registry.

In the worker tier (`runner/workers/`) a script runs in a separate process that can do no
I/O. A helper that needs some (`emit` today; HTTP and a state store next) is a
`HostFunction`: the worker checks the script's arguments and turns them into plain data
(`prepare`, inside the sandbox, with the run's limits), sends them to the service, waits,
and the service runs `handle` on its event loop under the run's host-call time budget.
Adding such a helper is one entry in `HOST_FUNCTIONS` (plus its `HelperSpec` in
`bridge.registry.REGISTRY`, which the compiler and `validate` read for its phases).

`handle` sees the worker's arguments as hostile data: it checks their shape and size
again, and answers with plain data, or raises `HostCallFailed` (a message for the script,
raised in the worker as `error_type` rebuilt from `error_args`, or with `limit` a breach
that ends the run). What it records for the run (emitted intents, HTTP calls) lives in the
`HostRun`, which the service, not the worker, turns into the run's result.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from alloy_scripting.bridge.effects import emit
from alloy_scripting.bridge.host import HelperHost, HelperNotConfiguredError
from alloy_scripting.bridge.http import helpers as http_helpers
from alloy_scripting.bridge.http.errors import SCRIPT_ERRORS, HttpBridgeError, HttpLimitExceeded
from alloy_scripting.bridge.registry import REGISTRY
from alloy_scripting.model.enums import ExecutionPhase
from alloy_scripting.model.json_check import check_json
from alloy_scripting.model.result import EmittedEvent
from alloy_scripting.model.state import QuotaExceeded

if TYPE_CHECKING:
    from alloy_scripting.bridge.state.context import StateContext

MAX_EVENT_TYPE = 200


class HostCallFailed(Exception):
    """A host function refused or failed; its message is what the script sees, raised as
    `error_type` (a name in `HOST_ERRORS`; RuntimeError otherwise) built from `error_args`
    (plain data; the message alone without them), or, with `limit`, a limit breach that
    ends the run."""

    def __init__(
        self,
        message: str,
        error_type: str | None = None,
        *,
        limit: str | None = None,
        error_args: list[Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.limit = limit
        self.error_args = error_args

    def reply(self) -> dict[str, Any]:
        reply: dict[str, Any] = {"t": "host_reply", "ok": False, "error": str(self)[:1000]}
        if self.error_type is not None:
            reply["error_type"] = self.error_type
        if self.error_args is not None:
            reply["error_args"] = self.error_args
        if self.limit is not None:
            reply["limit"] = self.limit
        return reply


#: The exception classes a failed host call may raise in the worker, by name.
HOST_ERRORS: Mapping[str, type[Exception]] = {
    "QuotaExceeded": QuotaExceeded,
    "ValueError": ValueError,
    "TypeError": TypeError,
    "RuntimeError": RuntimeError,
    "HelperNotConfiguredError": HelperNotConfiguredError,
    **SCRIPT_ERRORS,  # HttpError (message, status), EgressDenied (message, rule), ...
}


def host_error(reply: Mapping[str, Any], name: str) -> Exception:
    """The exception a worker raises for a failed (non-limit) host reply."""
    error_type = reply.get("error_type")
    cls = HOST_ERRORS.get(error_type, RuntimeError) if isinstance(error_type, str) else RuntimeError
    message = str(reply.get("error") or f"{name}() failed")
    args = reply.get("error_args")
    if isinstance(args, list) and all(type(a) in (str, int) or a is None for a in args):
        try:
            return cls(*args)
        except TypeError:
            pass
    return cls(message)


@dataclass(slots=True)
class HostRun:
    """What the service keeps of one run while its worker makes host calls."""

    tenant_id: str | None
    phase: ExecutionPhase
    max_emits: int
    max_emit_payload_size: int
    max_emit_total_size: int
    emitted: list[EmittedEvent] = field(default_factory=list)
    emitted_size: int = 0
    waited: float = 0.0
    """Seconds the run's worker spent waiting on host calls (not CPU time)."""
    state: StateContext | None = None
    """The run's ``store.*`` context (tenant, phase, budgets, write ids), if it has one."""
    http: http_helpers.HttpRun | None = None
    """The run's access to HTTP (`bridge.http`); None: no HTTP on this service."""
    no_effects: bool = False
    """A shadow run: HTTP calls are refused (never made), as in a debug run."""


class EmittingHost(HelperHost, Protocol):
    emitted: list[EmittedEvent]


Prepare = Callable[[Any, tuple[Any, ...], dict[str, Any]], list[Any]]
Handle = Callable[[HostRun, list[Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class HostFunction:
    """`prepare(run, args, kwargs)` runs in the worker and returns the plain arguments;
    `handle(host_run, arguments)` runs in the service and returns the plain answer."""

    name: str
    prepare: Prepare
    handle: Handle
    offered: frozenset[ExecutionPhase] | None = None
    """Its phases, for a function that is not a `helpers.REGISTRY` name (``store.get``)."""
    plain: bool = False
    """`prepare` returns JSON values with finite numbers only, so the worker may encode
    the call with msgspec (`protocol.encode(plain=True)`) instead of `json`."""

    @property
    def phases(self) -> frozenset[ExecutionPhase]:
        return self.offered if self.offered is not None else REGISTRY[self.name].phases


# -- emit ----------------------------------------------------------------------------------------


def _prepare_emit(run: EmittingHost, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """The sandbox's own checks and limits (`Run.emit_intent`), then the plain intent."""
    emit(run, *args, **kwargs)
    intent = run.emitted[-1]
    return [intent.event_type, intent.payload]


async def _handle_emit(run: HostRun, arguments: list[Any]) -> None:
    """Record the intent for the run; published by the runner only if the run succeeds.
    The worker already applied the exact limits; this bounds what a lying worker can do
    (twice the limits, as the worker measures sizes its own way)."""
    if len(arguments) != 2:
        raise HostCallFailed("emit() takes an event type and a payload")
    event_type, payload = arguments
    if (
        not isinstance(event_type, str)
        or not event_type.strip()
        or len(event_type) > MAX_EVENT_TYPE
    ):
        raise HostCallFailed("emit() event_type must be a non-empty str of at most 200 characters")
    if not isinstance(payload, dict):
        raise HostCallFailed("emit() payload must be a dict")
    try:
        check_json(payload, "emit() payload")
        check_json(event_type, "emit() event_type")
        size = len(json.dumps(payload, allow_nan=False)) + len(event_type)
    except (ValueError, RecursionError) as error:
        raise HostCallFailed(str(error)) from None
    if len(run.emitted) >= run.max_emits or size > 2 * run.max_emit_payload_size:
        raise HostCallFailed("emit() limits exceeded")
    run.emitted_size += size
    if run.emitted_size > 2 * run.max_emit_total_size:
        raise HostCallFailed("emit() limits exceeded")
    run.emitted.append(EmittedEvent(event_type, payload))


# -- http_get, http_post, http_request ----------------------------------------------------------


async def _handle_http(run: HostRun, arguments: list[Any]) -> Any:
    """The call through the run's HTTP context (`bridge.http`): a failed call is an error
    the script catches by name (`HttpError`, `EgressDenied`, `InvalidHttpRequest`); a
    bridge limit ends the run."""
    if run.no_effects:
        raise HostCallFailed("a shadow run performs no HTTP call")
    if run.http is None:
        raise HostCallFailed(
            "HTTP helpers are not configured on this service", "HelperNotConfiguredError"
        )
    try:
        return await http_helpers.handle(await run.http.context(), arguments)
    except HttpBridgeError as error:
        raise HostCallFailed(
            str(error), type(error).__name__, error_args=list(error.args)
        ) from None
    except HttpLimitExceeded as error:
        raise HostCallFailed(error.message, limit=error.limit) from None


def _http_functions() -> tuple[HostFunction, ...]:
    return tuple(
        HostFunction(name, http_helpers.prepare_for(name), _handle_http)
        for name in http_helpers.SIGNATURES
    )


def _store_functions() -> tuple[HostFunction, ...]:
    # Imported here: `bridge.state.host` builds on the classes above.
    from alloy_scripting.bridge.state.host import store_host_functions

    return store_host_functions()


HOST_FUNCTIONS: Mapping[str, HostFunction] = {
    function.name: function
    for function in (
        HostFunction("emit", _prepare_emit, _handle_emit),
        *_http_functions(),
        *_store_functions(),
    )
}
