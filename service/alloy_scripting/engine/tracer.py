"""`Tracer`: records what each executed line of a debug run did (`model.debug.Trace`).

A traced compile (`trace_lines.py`) calls `_line_(n)` before every statement. Each call
closes the step of the frame it comes from (the names that frame bound or changed since
its previous step, the entity's changes so far, the operation count) and opens a step
for line `n`. A frame keeps its step open while it calls a function, so `y = f(x)` shows
`y` on its own line, after the steps of `f`; log lines belong to the step that was running
when they were written.

Bounds: `max_steps` steps (then `truncated="steps"`), at most `MAX_NAMES` names and
`MAX_FIELDS` entity fields per step, each rendered by `preview` (bounded work), and
`max_seconds` of the tracer's own time per run (then `truncated="time"`). The tracer's
time is added to the run's deadline, so tracing never makes a script time out. It runs
only in debug runs: ordinary runs are compiled without `_line_` and never reach it.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Collection
from time import perf_counter
from types import FrameType
from typing import TYPE_CHECKING, Any

from alloy_scripting.engine.entity import EntityProxy
from alloy_scripting.engine.preview import preview
from alloy_scripting.model.debug import Trace, TraceStep

if TYPE_CHECKING:
    from alloy_scripting.engine.run import Run

MAX_STEPS = 1000
MAX_SECONDS = 2.0
MAX_NAMES = 50
MAX_FIELDS = 20
#: Names and fields looked at per step (beyond them, a step reports nothing more).
MAX_SCAN = 2000

_IMMUTABLE = frozenset({int, float, bool, str, type(None), tuple, frozenset})
_MISSING = object()


class _Open:
    """A frame's open step and what that frame's names looked like at its last step."""

    __slots__ = ("frame", "seen", "step")

    def __init__(self, frame: FrameType) -> None:
        self.frame = frame
        self.step: TraceStep | None = None
        self.seen: dict[str, tuple[Any, str]] = {}


class Tracer:
    """One run's tracer; bind `line` as the script global `_line_`."""

    def __init__(
        self,
        hidden: Collection[str],
        *,
        max_steps: int = MAX_STEPS,
        max_seconds: float = MAX_SECONDS,
    ) -> None:
        self.hidden = frozenset(hidden)
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        self.trace = Trace()
        self.spent = 0.0
        self._stack: list[_Open] = []
        self._run: Run | None = None
        self._proxy: EntityProxy | None = None
        self._logs_seen = 0
        self._original: dict[str, str] = {}
        self._stopped = False

    def attach(self, run: Run, proxy: EntityProxy) -> None:
        self._run = run
        self._proxy = proxy

    # -- the hook --------------------------------------------------------------------------

    def line(self, lineno: int) -> None:
        """`_line_(n)`: close the calling frame's step; open one for line `n` (0: none)."""
        if lineno:
            self.trace.executed += 1
        if self._stopped:
            return
        started = perf_counter()
        try:
            self._mark(lineno, sys._getframe(1))
        except Exception:  # a bug of ours must never change the run it observes
            self._stop("tracer_error")
        spent = perf_counter() - started
        self.spent += spent
        run = self._run
        if run is not None:
            run.deadline += spent
        if self.spent > self.max_seconds:
            self._stop("time")

    def finish(self) -> Trace:
        """Close every open step (the run is over) and hand the trace out."""
        if not self._stopped:
            try:
                self._attach_logs()
                while self._stack:
                    self._close(self._stack.pop())
            except Exception:
                self.trace.truncated = self.trace.truncated or "tracer_error"
        self._stack.clear()
        self._run = None
        self._proxy = None
        self._stopped = True
        return self.trace

    # -- steps -----------------------------------------------------------------------------

    def _mark(self, lineno: int, frame: FrameType) -> None:
        self._attach_logs()
        stack = self._stack
        if stack and stack[-1].frame is not frame:
            callers: set[int] = set()
            caller = frame.f_back
            while caller is not None and len(callers) < 256:
                callers.add(id(caller))
                caller = caller.f_back
            while stack and stack[-1].frame is not frame and id(stack[-1].frame) not in callers:
                self._close(stack.pop())  # a frame that returned
        if not stack or stack[-1].frame is not frame:
            stack.append(_Open(frame))
        current = stack[-1]
        self._close(current)
        if not lineno:
            return
        if len(self.trace.steps) >= self.max_steps:
            self._stop("steps")
            return
        run = self._run
        step = TraceStep(lineno, run.ops if run is not None else 0, {}, {}, [], [])
        self.trace.steps.append(step)
        current.step = step

    def _stop(self, why: str) -> None:
        if self._stopped:
            return
        try:
            self._attach_logs()
            while self._stack:
                self._close(self._stack.pop())
        except Exception:
            why = "tracer_error"
        self._stopped = True
        self.trace.truncated = why

    def _attach_logs(self) -> None:
        run = self._run
        if run is None or len(run.logs) == self._logs_seen:
            return
        new = run.logs[self._logs_seen :]
        self._logs_seen = len(run.logs)
        for entry in reversed(self._stack):
            if entry.step is not None:
                entry.step.logs.extend(f"{item.level}: {item.message[:200]}" for item in new)
                return

    def _close(self, entry: _Open) -> None:
        step = entry.step
        if step is None:  # a frame's first mark: its parameters show in its first step
            return
        entry.step = None
        names = self._names(entry)
        run = self._run
        if run is not None:
            step.operations = run.ops
        step.names = names
        step.changes, step.removed = self._entity()

    def _names(self, entry: _Open) -> dict[str, str]:
        """Names of the frame bound or changed since its previous step (and remember them)."""
        hidden = self.hidden
        seen = entry.seen
        changed: dict[str, str] = {}
        for name, value in itertools.islice(dict.items(entry.frame.f_locals), MAX_SCAN):
            if name in hidden or name[:1] == "_":
                continue
            before = seen.get(name)
            if before is not None and before[0] is value and type(value) in _IMMUTABLE:
                continue
            text = preview(value)
            fresh = before is None or before[0] is not value or before[1] != text
            if fresh and len(changed) < MAX_NAMES:
                changed[name] = text
            seen[name] = (value, text)
        return changed

    def _entity(self) -> tuple[dict[str, str], list[str]]:
        """The entity's top-level changes so far, as previews (exact ones are the result's)."""
        proxy = self._proxy
        if proxy is None:
            return {}, []
        original: Any = proxy._meta[2]
        if not isinstance(original, dict):
            return {}, []
        changes: dict[str, str] = {}
        for key, value in itertools.islice(dict.items(proxy), MAX_SCAN):
            old = dict.get(original, key, _MISSING)
            if old is value:
                continue
            text = preview(value)
            if old is not _MISSING:
                was = self._original.get(key)
                if was is None:
                    was = self._original[key] = preview(old)
                if was == text:
                    continue
            changes[str(key)] = text
            if len(changes) >= MAX_FIELDS:
                break
        removed = [
            str(key)
            for key in itertools.islice(original, MAX_SCAN)
            if not dict.__contains__(proxy, key)
        ][:MAX_FIELDS]
        return changes, removed
