"""``store.*`` as host functions of the worker tier (`bridge.host_calls`).

In the worker, `prepare` binds the script's arguments to the operation's signature and
copies them into plain JSON data (bounded: at most `MAX_ARGUMENT_BYTES`, nested at most
`MAX_DEPTH` deep); nothing else crosses. In the service, `handle` checks the arity and runs
the operation (`bridge.state.helpers`) with the run's `StateContext` (``HostRun.state``),
which carries the tenant, the phase, the budgets and the write ids: the worker names none
of them. Errors come back typed: `QuotaExceeded` as itself, bad arguments as `ValueError`,
``incr`` of a non-number as `TypeError`, store failures as `RuntimeError`; a spent budget
is a limit (``state_budget``) that ends the run as ``limit_exceeded``.
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Awaitable, Mapping
from typing import Any

from alloy_scripting.bridge.host import PhaseError
from alloy_scripting.bridge.host_calls import HostCallFailed, HostFunction, HostRun
from alloy_scripting.bridge.state.helpers import OPERATIONS
from alloy_scripting.bridge.state.namespace import operation_phases
from alloy_scripting.model.state import (
    InvalidStateRequest,
    QuotaExceeded,
    StateBudgetExceeded,
    StateError,
    StateTypeError,
)

log = logging.getLogger("alloy.bridge.state")

MAX_ARGUMENT_BYTES = 256 * 1024
MAX_DEPTH = 34


def store_host_functions() -> tuple[HostFunction, ...]:
    return tuple(_host_function(name) for name in OPERATIONS)


def _host_function(operation: str) -> HostFunction:
    function = OPERATIONS[operation].function
    signature = inspect.signature(function)
    names = list(signature.parameters)[1:]  # after ctx
    qualified = f"store.{operation}"
    # Every argument given by position (`store.get(c, k)`): nothing to bind (the common case,
    # which skips `Signature.bind` on every call).
    positional = all(
        parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        for parameter in signature.parameters.values()
    )

    def prepare(run: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        budget = [MAX_ARGUMENT_BYTES]
        if positional and not kwargs and len(args) == len(names):
            return [_plain(value, budget, 0, qualified) for value in args]
        try:
            bound = signature.bind(None, *args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{qualified}(): {error}") from None
        bound.apply_defaults()
        return [_plain(bound.arguments[name], budget, 0, qualified) for name in names]

    async def handle(run: HostRun, arguments: list[Any]) -> Any:
        ctx = run.state
        if ctx is None:
            raise HostCallFailed("no state store is configured for this run", "RuntimeError")
        if len(arguments) != len(names):
            raise HostCallFailed(f"{qualified}() takes {len(names)} arguments", "TypeError")
        return await _relayed(function(ctx, *arguments), qualified)

    # `_plain` refuses non-finite numbers and anything that is not JSON.
    return HostFunction(qualified, prepare, handle, operation_phases(operation), plain=True)


async def _relayed(call: Awaitable[Any], qualified: str) -> Any:
    try:
        return await call
    except StateBudgetExceeded as error:
        raise HostCallFailed(str(error), limit="state_budget") from None
    except QuotaExceeded as error:
        raise HostCallFailed(str(error), "QuotaExceeded") from None
    except InvalidStateRequest as error:
        raise HostCallFailed(str(error), "ValueError") from None
    except StateTypeError as error:
        raise HostCallFailed(str(error), "TypeError") from None
    except (StateError, PhaseError) as error:
        raise HostCallFailed(str(error), "RuntimeError") from None
    except Exception:
        log.exception("%s failed", qualified)
        raise HostCallFailed(f"{qualified}() failed in the state store", "RuntimeError") from None


def _plain(value: Any, budget: list[int], depth: int, where: str) -> Any:
    """Plain JSON data for ``value``, spending ``budget[0]`` (approximate bytes)."""
    if depth > MAX_DEPTH:
        raise ValueError(f"{where}(): arguments nested deeper than {MAX_DEPTH} levels")
    budget[0] -= 8
    if budget[0] < 0:
        raise ValueError(f"{where}(): arguments larger than {MAX_ARGUMENT_BYTES} bytes")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}(): numbers must be finite")
        return float(value)
    if isinstance(value, str):
        budget[0] -= len(value)
        if budget[0] < 0:
            raise ValueError(f"{where}(): arguments larger than {MAX_ARGUMENT_BYTES} bytes")
        return str(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}(): object keys must be strings")
            out[str(key)] = _plain(item, budget, depth + 1, where)
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, budget, depth + 1, where) for item in value]
    raise TypeError(f"{where}() takes plain data (not {type(value).__name__})")
