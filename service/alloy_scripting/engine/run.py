"""`Run`: the mutable state of one script run (operation count, deadline, memory check,
captured logs and emitted intents) and the script globals bound to it."""

from __future__ import annotations

import logging
import os
import resource
import sys
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any, NoReturn

from alloy_scripting.engine.builtins import ITERATION_BUILTINS, IterationBuiltins
from alloy_scripting.engine.errors import LimitExceeded, ScriptControl
from alloy_scripting.engine.values import Budget, plain_into
from alloy_scripting.model.debug import DebugEffects
from alloy_scripting.model.result import ApiResponse, EmittedEvent, LogEntry

if TYPE_CHECKING:
    from alloy_scripting.engine.script_engine import ScriptEngine
    from alloy_scripting.model.limits import ScriptLimits

script_logger = logging.getLogger("alloy.script")

MAX_EVENT_TYPE = 200
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

#: Script global -> `Run` attribute, bound per run (only the ones a script uses).
RUN_BINDINGS: dict[str, str] = {
    "_tick_": "tick",
    "_fn_": "wrap_function",
    "_t_": "tick_value",
    "log": "log",
    "warn": "warn",
    "error": "error",
    "print": "print_",
    **ITERATION_BUILTINS,
}
PER_RUN_NAMES = frozenset({"entity", "entity_before", "ctx", "params", "config"})


class Run(IterationBuiltins):
    """The mutable state of one run: counters, deadline, captured logs and intents."""

    __slots__ = (
        "breach",
        "budget",
        "config",
        "deadline",
        "depth",
        "effects",
        "emitted",
        "emitted_size",
        "engine",
        "guards",
        "logs",
        "max_array",
        "max_depth",
        "max_ops",
        "memory_check",
        "ops",
        "outcome",
        "response",
        "rss_base",
        "rss_now_base",
        "script_name",
        "timeout",
    )

    def __init__(
        self,
        engine: ScriptEngine,
        deadline: float,
        script_name: str | None,
        limits: ScriptLimits | None = None,
    ) -> None:
        config = engine.config
        self.engine = engine
        self.config = config
        self.guards = engine.guards
        self.ops = 0
        self.budget = config.max_operations
        self.max_depth = config.max_call_depth
        if limits is not None:
            if limits.max_operations is not None:
                self.budget = limits.max_operations
            if limits.max_call_depth is not None:
                self.max_depth = limits.max_call_depth
        self.max_ops = self.budget
        self.timeout = config.timeout  # for the breach message; `deadline` is what counts
        if limits is not None and limits.timeout_ms is not None:
            self.timeout = limits.timeout_ms / 1000
        self.deadline = deadline
        self.depth = 0
        self.max_array = config.max_array_size
        self.breach: str | None = None
        self.outcome: ScriptControl | None = None
        self.logs: list[LogEntry] = []
        self.emitted: list[EmittedEvent] = []
        self.emitted_size = 0
        self.script_name = script_name
        self.memory_check = 0
        self.rss_base = -1
        self.rss_now_base = 0
        #: Set for debug runs: helpers record intents there and perform no side effect.
        self.effects: DebugEffects | None = None
        self.response: ApiResponse | None = None

    # -- limits --------------------------------------------------------------------------

    def tick(self) -> bool:
        ops = self.ops + 1
        self.ops = ops
        if ops > self.budget:
            self._over()
        # The deadline every step (one loop step may hold up to 64 unticked heavy calls);
        # the rest of the checks every 4 steps.
        if not ops & 3 or perf_counter() > self.deadline:
            self._check()
        return True

    def tick_value(self, value: Any) -> Any:
        """`_t_(expr)`: count an operation once a heavy expression is evaluated, and check
        the deadline every time (one such expression may be a sizeable C call)."""
        ops = self.ops + 1
        self.ops = ops
        if ops > self.budget:
            self._over()
        self._check()
        return value

    def charge(self, count: int) -> None:
        ops = self.ops + count
        self.ops = ops
        if ops > self.budget:
            self._over()
        self._check()

    def record(self, control: ScriptControl) -> None:
        """Called by every `ScriptControl` created during the run: the first one is the
        run's outcome, and from now on every tick raises it again."""
        if self.outcome is None:
            self.outcome = control
            if isinstance(control, LimitExceeded) and self.breach is None:
                self.breach = control.limit
        self.budget = -1

    def _check(self) -> None:
        if perf_counter() > self.deadline:
            self.fail("timeout", f"timeout of {self.timeout * 1000:g} ms exceeded")
        pending = sys.exception()
        if isinstance(pending, ScriptControl):
            raise pending
        if self.ops >= self.memory_check:
            self._memory()

    def _memory(self) -> None:
        """Memory growth since the run's first check: of the peak RSS (catches a spike
        between two checks) and of the current RSS (a process started from a larger one
        inherits that one's peak, which hides its own growth until it passes it)."""
        self.memory_check = self.ops + 256
        peak, now = _peak_rss(), _current_rss()
        if self.rss_base < 0:
            self.rss_base, self.rss_now_base = peak, now
        elif max(peak - self.rss_base, now - self.rss_now_base) > self.config.max_memory:
            self.fail(
                "memory", f"memory use grew by more than {self.config.max_memory // 2**20} MiB"
            )

    def _over(self) -> NoReturn:
        if self.outcome is None:
            self.fail("operations", f"more than {self.max_ops} operations")
        raise self.outcome.again()

    def fail(self, limit: str, detail: str = "") -> NoReturn:
        """Raise a breach; the first control exception of the run stays its outcome."""
        if self.outcome is not None:
            raise self.outcome.again()
        raise LimitExceeded(limit, detail)

    def wrap_function(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """`_fn_`: count each call and bound the call depth."""
        run = self
        check_virtual = self.guards.check_virtual

        def call(*args: Any, **kwargs: Any) -> Any:
            depth = run.depth + 1
            if depth > run.max_depth:
                run.fail("call_depth", f"call depth above {run.max_depth}")
            run.tick()
            tuples = 0
            for arg in args:
                if type(arg) is tuple:
                    tuples += 1
            if tuples > 1:  # `def pair(*a): return a` must not double tuples into hash bombs
                check_virtual(args, "call arguments")
            run.depth = depth
            try:
                return function(*args, **kwargs)
            except StopIteration:
                # As PEP 479 does for generators: C iteration code (map, filter, sorted's
                # key, ...) would take it for the end of the iteration and carry on.
                if run.outcome is not None:
                    raise run.outcome.again() from None
                raise RuntimeError(f"{function.__name__}() raised StopIteration") from None
            finally:
                run.depth = depth - 1

        call.__name__ = function.__name__
        call.__qualname__ = function.__qualname__
        return call

    # -- logging -------------------------------------------------------------------------

    def _log(self, level: str, values: tuple[Any, ...], sep: Any) -> None:
        if len(self.logs) >= self.config.max_log_entries:
            self.fail("log_size", f"more than {self.config.max_log_entries} log entries")
        limit = self.config.max_log_message
        separator = sep if isinstance(sep, str) else " "
        renderer = self.guards.renderer
        truncated = renderer.truncated
        parts: list[str] = []
        size = 0
        for value in values:
            part = truncated(renderer.text(value), limit)
            parts.append(part)
            size += len(part) + len(separator)
            if size > limit:
                break
        message = truncated(separator[:limit].join(parts), limit)
        self.logs.append(LogEntry(level, message))
        script_logger.log(_LEVELS[level], "%s", message, extra={"script": self.script_name})

    def log(self, *values: Any, sep: str = " ") -> None:
        self._log("info", values, sep)

    def warn(self, *values: Any, sep: str = " ") -> None:
        self._log("warning", values, sep)

    def error(self, *values: Any, sep: str = " ") -> None:
        self._log("error", values, sep)

    def print_(self, *values: Any, sep: str = " ", end: str = "\n") -> None:
        self._log("info", values, sep)

    # -- helper host ---------------------------------------------------------------------

    def emit_intent(self, event_type: Any, payload: Any) -> None:
        if (
            not isinstance(event_type, str)
            or not event_type.strip()
            or len(event_type) > MAX_EVENT_TYPE
        ):
            raise ValueError(
                f"emit() event_type must be a non-empty str of at most {MAX_EVENT_TYPE} characters"
            )
        if len(self.emitted) >= self.config.max_emits:
            self.fail("emits", f"more than {self.config.max_emits} emitted events")
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise TypeError("emit() payload must be a dict")
        config = self.config
        budget = Budget(
            config.max_emit_payload_size, "payload_size", config.max_nesting, "emit() payload"
        )
        plain = plain_into(payload, budget)
        self.emitted_size += config.max_emit_payload_size - budget.left + len(event_type)
        if self.emitted_size > config.max_emit_total_size:
            self.fail(
                "emits", f"emitted payloads exceed {config.max_emit_total_size} bytes in total"
            )
        emitted = EmittedEvent(str.__str__(event_type), plain)
        self.emitted.append(emitted)
        if self.effects is not None:
            self.effects.record("emit", **emitted.to_dict())

    def set_response(self, body: Any, status: int, headers: dict[str, str]) -> None:
        """`respond()`: the body as plain JSON, bounded like one emitted payload."""
        config = self.config
        budget = Budget(
            config.max_emit_payload_size, "response_size", config.max_nesting, "respond() body"
        )
        self.response = ApiResponse(status, plain_into(body, budget), headers)

    def regex_fullmatch(self, pattern: Any, value: str) -> bool:
        return self.engine.regex.fullmatch(pattern, value) is not None

    def plain_arguments(self, value: Any, size: int, what: str) -> Any:
        """A host helper's arguments as plain data leaving the sandbox, at most `size` bytes
        (past it: the ``argument_size`` limit)."""
        return plain_into(value, Budget(size, "argument_size", self.config.max_nesting, what))

    def materialize(self, values: Any) -> list[Any]:
        """The options of a helper such as `validate_one_of`, which compares in C: refused
        when they alias too many nested elements."""
        collected = self.collect(values)
        self.guards.check_virtual(collected, "the options")
        return collected


_RSS_UNIT = 1 if sys.platform == "darwin" else 1024


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _RSS_UNIT


class _Statm:
    """`/proc/self/statm`, opened once per process (a forked child reopens it: the
    descriptor names the process that opened it)."""

    fd = -1
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    @classmethod
    def forget(cls) -> None:
        cls.fd = -1


def _current_rss() -> int:
    """The resident set size now, in bytes (0 where `/proc` cannot be read: the peak
    alone then)."""
    fd = _Statm.fd
    try:
        if fd < 0:
            fd = _Statm.fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
        return int(os.pread(fd, 64, 0).split()[1]) * _Statm.page
    except (OSError, ValueError, IndexError):
        return 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_Statm.forget)
