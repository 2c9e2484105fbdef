"""The ``store.*`` helpers, as the parent runs them: async functions of a `StateContext`
and plain data.

Reads (``get``, ``find``) are available in every phase, before-hooks included, within the
run's budget of calls and store time; writes (``put``, ``delete``, ``incr``) in after,
on_commit, manual, scheduled and api runs, and a `PhaseError` in before-hooks (whose
entity write has not happened yet, and may never). Every call, refused or not, is
appended to ``ctx.calls`` (operation, collection, key, outcome, time) and traced as a
``state.<operation>`` span.

Errors a script may catch are `alloy_scripting.model.state.StateError` subclasses:
`InvalidStateRequest` / `InvalidStateFilter` (bad arguments), `QuotaExceeded`,
`StateTypeError` (``incr`` of a non-number). `StateBudgetExceeded` is a limit: the runner
ends the run as ``limit_exceeded``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from alloy_scripting.bridge.host import PhaseError, phase_error_message
from alloy_scripting.bridge.state.context import StateCall, StateContext
from alloy_scripting.bridge.state.namespace import operation_phases
from alloy_scripting.model.enums import ExecutionPhase
from alloy_scripting.model.state import (
    DEFAULT_FIND_LIMIT,
    JsonDoc,
    StateBudgetExceeded,
    StateError,
    check_collection,
    check_key,
    check_limit,
)
from alloy_scripting.model.state_filter import parse_filter, parse_sort
from alloy_scripting.telemetry import span

T = TypeVar("T")

READ_PHASES = operation_phases("get")
WRITE_PHASES = operation_phases("put")


async def get(ctx: StateContext, collection: Any, key: Any) -> JsonDoc | None:
    """The document stored under ``key``, or None."""

    async def do() -> JsonDoc | None:
        item = await ctx.store.get(ctx.tenant_id, check_collection(collection), check_key(key))
        return None if item is None else item.doc

    return await _call(ctx, "get", collection, key, do)


async def find(
    ctx: StateContext,
    collection: Any,
    filter: Any = None,
    limit: Any = DEFAULT_FIND_LIMIT,
    sort: Any = None,
) -> list[JsonDoc]:
    """Up to ``limit`` matches as ``{"key": ..., "doc": ...}``, sorted by ``sort`` then key."""

    async def do() -> list[JsonDoc]:
        where, order = parse_filter(filter), parse_sort(sort)
        items = await ctx.store.find(
            ctx.tenant_id, check_collection(collection), where, limit=check_limit(limit), sort=order
        )
        return [item.to_script() for item in items]

    return await _call(ctx, "find", collection, None, do)


async def put(
    ctx: StateContext, collection: Any, key: Any, doc: Any, ttl_seconds: Any = None
) -> None:
    """Create or replace the document under ``key`` (expiring after ``ttl_seconds``)."""
    _writable(ctx, "put", collection, key)
    write_id = ctx.next_write_id()

    async def do() -> None:
        await ctx.store.put(
            ctx.tenant_id, collection, key, doc, ttl_seconds=ttl_seconds, write_id=write_id
        )

    await _call(ctx, "put", collection, key, do)


async def delete(ctx: StateContext, collection: Any, key: Any) -> bool:
    """Delete the document under ``key``; whether there was one."""
    _writable(ctx, "delete", collection, key)
    write_id = ctx.next_write_id()

    async def do() -> bool:
        return await ctx.store.delete(ctx.tenant_id, collection, key, write_id=write_id)

    return await _call(ctx, "delete", collection, key, do)


async def incr(
    ctx: StateContext, collection: Any, key: Any, field: Any, by: Any = 1
) -> int | float:
    """Add ``by`` to the number ``field`` of the document (0 if absent), atomically; the
    new value."""
    _writable(ctx, "incr", collection, key)
    write_id = ctx.next_write_id()

    async def do() -> int | float:
        return await ctx.store.incr(ctx.tenant_id, collection, key, field, by, write_id=write_id)

    return await _call(ctx, "incr", collection, key, do)


@dataclass(frozen=True, slots=True)
class StateOperation:
    name: str
    function: Callable[..., Awaitable[Any]]
    phases: frozenset[ExecutionPhase]

    @property
    def qualified(self) -> str:
        return f"store.{self.name}"


#: The ``store`` namespace: nothing else is reachable from a script.
OPERATIONS: Mapping[str, StateOperation] = {
    op.name: op
    for op in (
        StateOperation("get", get, READ_PHASES),
        StateOperation("find", find, READ_PHASES),
        StateOperation("put", put, WRITE_PHASES),
        StateOperation("delete", delete, WRITE_PHASES),
        StateOperation("incr", incr, WRITE_PHASES),
    )
}


def _writable(ctx: StateContext, operation: str, collection: Any, key: Any) -> None:
    if ctx.phase not in WRITE_PHASES:
        ctx.calls.append(
            StateCall(operation, _label(collection), _key_label(key), "phase_error", 0.0)
        )
        raise PhaseError(phase_error_message(f"store.{operation}", ctx.phase))
    if ctx.read_only:
        ctx.calls.append(
            StateCall(operation, _label(collection), _key_label(key), "read_only", 0.0)
        )
        raise PhaseError(f"store.{operation}() writes nothing in a dry run")


async def _call(
    ctx: StateContext,
    operation: str,
    collection: Any,
    key: Any,
    do: Callable[[], Awaitable[T]],
) -> T:
    """Run one store call under the run's budget, traced, and log it in ``ctx.calls``."""
    outcome = "ok"
    started = time.perf_counter()
    attributes = {
        "alloy.state.operation": operation,
        "alloy.state.collection": _label(collection),
        "alloy.tenant_id": ctx.tenant_id or "",
    }
    try:
        with span(f"state.{operation}", attributes=attributes):
            remaining = ctx.budget.admit()
            deadline = asyncio.timeout(remaining)
            try:
                async with deadline:
                    return await do()
            except TimeoutError:
                if deadline.expired():
                    raise StateBudgetExceeded("time", ctx.budget.max_ms) from None
                raise
    except StateError as exc:
        outcome = exc.code
        raise
    except Exception:
        outcome = "error"
        raise
    finally:
        elapsed = time.perf_counter() - started
        ctx.budget.charge(elapsed)
        ctx.calls.append(
            StateCall(operation, _label(collection), _key_label(key), outcome, elapsed * 1000)
        )


def _label(value: Any) -> str:
    return value[:64] if isinstance(value, str) else f"<{type(value).__name__}>"


def _key_label(value: Any) -> str | None:
    if value is None:
        return None
    return value[:256] if isinstance(value, str) else f"<{type(value).__name__}>"
