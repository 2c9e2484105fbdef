"""`ScriptEngine`: validates, compiles (cached) and runs scripts (per-run state: `run.Run`).

How the limits hold
-------------------
Every unbounded computation a script can start passes through Python code of ours:
loops and comprehension steps call `_tick_`, user functions are wrapped by `_fn_`,
builtins consuming iterables pull items through ticking iterators and count `key=`
callbacks (`builtins.py`), long scripts and straight-line scripts that call anything but
`abort` and a few `entity` methods count an operation (and check the deadline) after every
heavy expression (`rewrite.ExpressionTicker`, `compiler._trivially_bounded`), and C-level
work that Python would do on a script's behalf (repetition, concatenation, joins,
padding, formatting, `**`, `<<`, `pow` with a modulus, integer parsing in any base,
regular expressions and their output, JSON, slice assignment, unpacking, starred
displays, set/dict operators, comparisons of aliased containers and tuples nested by C
code such as `popitem`) is preceded by a size check (`guards.py`, `attrs.py`,
`render.py`, `toolbox/`). So each single C call is bounded by the size limits, and
the in-band checks suffice:

* `_tick_` counts operations and, every 4 ticks, compares `time.perf_counter()` with the
  run's deadline, re-raises a breach still propagating through a `finally:` block and
  (every 256 operations) checks the memory growth; bulk charges (`sum(list)`) and `_t_`
  (after a heavy expression) check each time. The deadline is enforced with a lag of at
  most 4 bounded steps.
* Compiling is bounded too: a script has at most `compiler.MAX_NODES` syntax nodes.
* What leaves the sandbox is JSON that storage and Kafka can carry: UTF-8 text (no lone
  surrogates) and 64-bit integers, checked where changes and emitted payloads are made.
* Aborts and breaches are sticky: every `ScriptControl` registers with the active run
  (`errors.py`); from then on each tick, user call and `except` handler raises it again,
  and the result reports it even if the script managed to replace it with another
  exception (a `finally:` raising, a `StopIteration` eaten by C iteration code).

Memory: each object is bounded by the size limits; what a script keeps alive is bounded
by `max_memory` (peak-RSS growth, checked every 256 operations).

Residual risk: a few C-level paths are bounded only by the size limits, not by the
timeout (one `set()` of up to `max_array_size` colliding keys, ~0.4 s; one comparison or
hash walking up to `100 * max_array_size` aliased elements; the `regex` package's timeout
granularity); the deadline catches the run right after such a call.
`alloy-scripting script run` therefore also runs each script in a forked child under a
hard wall-clock and address-space limit (`isolation.py`); a service should run scripts
in killable worker processes the same way.

Threading: an engine holds only immutable configuration, stateless guards and the locked
compile cache; everything a run mutates lives in its `Run` and its fresh globals dict, so
one engine serves concurrent threads and sequential asyncio tasks alike.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import functools
import logging
import operator
from collections.abc import Mapping
from time import perf_counter
from types import TracebackType
from typing import Any, NoReturn

from alloy_scripting.bridge.host import HelperHost, phase_error_message, unavailable
from alloy_scripting.bridge.registry import REGISTRY
from alloy_scripting.bridge.state.namespace import StoreNamespace
from alloy_scripting.bridge.state.usage import store_problems
from alloy_scripting.engine.attrs import STR_METHODS, build_policies, make_getattr
from alloy_scripting.engine.builtins import (
    ITERATION_BUILTINS,
    make_builtins,
    make_isinstance,
)
from alloy_scripting.engine.cache import CompileCache
from alloy_scripting.engine.compiler import FILENAME, CompiledScript, compile_script
from alloy_scripting.engine.config import EngineConfig
from alloy_scripting.engine.context import ScriptContext
from alloy_scripting.engine.entity import (
    ALL_DIRTY,
    EntityProxy,
    EntityView,
    changes_by_field,
    copy_json,
    entity_changes,
    entity_proxy,
    written_changes,
)
from alloy_scripting.engine.errors import (
    LimitExceeded,
    ScriptAbort,
    first_control,
    set_active_run,
)
from alloy_scripting.engine.guards import SCRIPT_EXCEPTIONS, Guards
from alloy_scripting.engine.render import exception_message, sanitize
from alloy_scripting.engine.run import PER_RUN_NAMES, RUN_BINDINGS, Run
from alloy_scripting.engine.toolbox import (
    DECIMAL_CONTEXT,
    NAMESPACE_TYPES,
    ROUNDING,
    DatetimeType,
    DateType,
    DecimalType,
    DictType,
    JsonNamespace,
    MatchResult,
    MathNamespace,
    ReNamespace,
    StrType,
    TimedeltaType,
    TimezoneType,
    make_functions,
)
from alloy_scripting.engine.trace_lines import LINE_HOOK
from alloy_scripting.engine.tracer import MAX_STEPS, Tracer
from alloy_scripting.model.debug import DebugEffects, Trace
from alloy_scripting.model.enums import EventType, ExecutionPhase, ExecutionStatus
from alloy_scripting.model.limits import ScriptLimits
from alloy_scripting.model.result import (
    Diagnostic,
    ExecutionResult,
    ScriptError,
    success_result,
)

logger = logging.getLogger("alloy.engine")

MAX_REASON = 1024
_PARAM_PHASES = frozenset({ExecutionPhase.MANUAL, ExecutionPhase.SCHEDULED, ExecutionPhase.API})
_BEFORE_PHASES = frozenset({ExecutionPhase.AFTER, ExecutionPhase.ON_COMMIT})
_SUCCESS = ExecutionStatus.SUCCESS
_MANUAL = ExecutionPhase.MANUAL
_SCALARS = frozenset({str, int, float, bool, type(None)})
_new_dict = dict.__new__
_update = dict.update


class ScriptEngine:
    """Validates and runs scripts in the sandbox; see the module docstring."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config if config is not None else EngineConfig()
        self.cache = CompileCache(self.config.cache_size)
        self.guards = Guards(self.config)
        self.regex = ReNamespace(self.guards, self.config.regex_timeout)
        self._base = self._build_globals()
        self._known = frozenset(self._base) | frozenset(RUN_BINDINGS) | PER_RUN_NAMES
        self._helper_names = frozenset(REGISTRY)
        self._lookup = self.cache.lookup
        self._max_changes = self.config.max_changes_size
        self._max_nesting = self.config.max_nesting
        self._timeout = self.config.timeout
        self._warn_after = self.config.warn_after

    # -- public API ----------------------------------------------------------------------

    def compile(self, source: str) -> CompiledScript:
        """The compiled form of `source`, from the cache when possible."""
        return self.cache.get_or_compile(source, self._compile)

    def validate(self, source: str, phase: ExecutionPhase | str | None = None) -> list[Diagnostic]:
        """Syntax errors, forbidden constructs, undefined names and (with `phase`) helpers
        not available in that phase, sorted by position."""
        resolved = None if phase is None else ExecutionPhase(phase)
        compiled = self.compile(source)
        diagnostics = list(compiled.diagnostics)
        if compiled.code is not None:
            for line, col, message in store_problems(source, resolved):
                diagnostics.append(Diagnostic("error", line, col, message))
        if resolved is not None:
            for use in compiled.helper_uses:
                if resolved not in REGISTRY[use.name].phases:
                    diagnostics.append(
                        Diagnostic(
                            "error", use.line, use.col, phase_error_message(use.name, resolved)
                        )
                    )
        diagnostics.sort(key=lambda item: (item.line, item.col))
        return diagnostics

    def cache_stats(self) -> dict[str, int]:
        return self.cache.stats()

    def execute(
        self,
        source: str,
        *,
        phase: ExecutionPhase | str | None = None,
        entity: EntityProxy | Mapping[str, Any] | None = None,
        event: EventType | str | None = None,
        entity_before: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        ctx: Mapping[str, Any] | None = None,
        script_name: str | None = None,
        limits: ScriptLimits | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> ExecutionResult:
        """Run `source` and report what happened. Never raises for anything the script does;
        raises `ValueError` only for an unknown `phase` or `event` (a caller error).
        `limits` overrides the configured time, operations and call depth of this run (the
        caller bounds it; a straight script, the hot path below, needs none of them).
        `config` is what the script reads as `config` (its template parameters: plain data,
        a fresh copy per run)."""
        started = perf_counter()
        if event is None:
            event_type = None
            if phase is None:
                run_phase = _MANUAL
            else:
                run_phase = phase if type(phase) is ExecutionPhase else ExecutionPhase(phase)
        else:
            event_type = event if type(event) is EventType else EventType(event)
            run_phase = event_type.phase if phase is None else ExecutionPhase(phase)
        compiled = self._lookup(source)
        if compiled is None:
            compiled = self.cache.get_or_compile(source, self._compile)
            # Compiling is bounded on its own (`MAX_NODES`): the run's time starts now, so
            # that a long script does not time out on its first run only.
            started = perf_counter()
        else:
            compiled.referenced = True
            self.cache.hits += 1
        code = compiled.simple_code
        if code is not None and ctx is None and type(entity) is dict:
            for key, item in entity.items():
                if type(item) not in _SCALARS or type(key) is not str:
                    break
            else:
                # The hot path: a straight script (no `Run`: no loop, call, log or helper
                # needs one; no context bindings, no decimal context) on a flat entity of
                # JSON scalars with str keys. Such an entity is copied at C speed and is its
                # own comparison basis (the script only ever sees the copy).
                proxy = _new_dict(EntityProxy)
                _update(proxy, entity)
                proxy._meta = (None, None, entity, True)
                proxy._dirty = None
                scope = compiled.static_globals.copy()
                scope["entity"] = proxy
                try:
                    exec(code, scope)
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as error:
                    scope.clear()
                    return self._finish(error, proxy, None, run_phase, started)
                # `_changes`, inlined for a flat proxy over `entity`.
                dirty = proxy._dirty
                written: tuple[dict[str, Any], list[str]] | None = None
                if dirty is None:  # never written
                    written = {}, []
                elif dirty is not ALL_DIRTY:
                    written = written_changes(proxy, entity, dirty, self._max_changes)
                if written is None:
                    try:
                        written = changes_by_field(
                            proxy, entity, self._max_changes, self._max_nesting
                        )
                    except (LimitExceeded, Exception) as error:
                        return self._finish(error, proxy, None, run_phase, started)
                changes, removed = written
                duration = perf_counter() - started
                if duration > self._warn_after:
                    self._warn_slow(None, duration)
                return success_result(changes, removed, proxy, run_phase, duration * 1000)
        return self._run(
            compiled,
            run_phase,
            entity,
            event_type,
            entity_before,
            params,
            ctx,
            script_name,
            started,
            limits=limits,
            config=config,
        )

    def debug(
        self,
        source: str,
        *,
        effects: DebugEffects,
        phase: ExecutionPhase | str | None = None,
        entity: Mapping[str, Any] | None = None,
        event: EventType | str | None = None,
        entity_before: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        ctx: Mapping[str, Any] | None = None,
        script_name: str | None = None,
        max_steps: int = MAX_STEPS,
        trace: bool = True,
        limits: ScriptLimits | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> tuple[ExecutionResult, Trace]:
        """Run `source` as `execute` does, with no side effects (helpers record intents in
        `effects`) and a trace of each executed line (`tracer.py`). The traced compile is
        not cached: debug runs are rare, and ordinary runs never pay for tracing. Without
        `trace` (fixture runs), the ordinary compiled form runs and the trace is empty.
        `limits`: the script's own, as in `execute`."""
        started = perf_counter()
        event_type = None if event is None else EventType(event)
        if phase is not None:
            run_phase = ExecutionPhase(phase)
        else:
            run_phase = event_type.phase if event_type is not None else _MANUAL
        compiled = self._compile(source, trace=True) if trace else self.compile(source)
        tracer = Tracer(self._known | self._helper_names, max_steps=max_steps) if trace else None
        started = perf_counter()
        result = self._run(
            compiled,
            run_phase,
            entity,
            event_type,
            entity_before,
            params,
            ctx,
            script_name,
            started,
            tracer,
            effects,
            limits=limits,
            config=config,
        )
        return result, tracer.finish() if tracer is not None else Trace()

    def _run(
        self,
        compiled: CompiledScript,
        run_phase: ExecutionPhase,
        entity: EntityProxy | Mapping[str, Any] | None,
        event_type: EventType | None,
        entity_before: Mapping[str, Any] | None,
        params: Mapping[str, Any] | None,
        ctx: Mapping[str, Any] | None,
        script_name: str | None,
        started: float,
        tracer: Tracer | None = None,
        effects: DebugEffects | None = None,
        limits: ScriptLimits | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> ExecutionResult:
        """`execute` beyond its hot path: any entity, context, `Run` and decimal context."""
        try:
            if type(entity) is EntityProxy:
                proxy = entity
            elif ctx is None:
                proxy = entity_proxy(entity)
            else:
                proxy = entity_proxy(entity, ctx.get("entity_id"), ctx.get("entity_type"))
        except Exception as error:  # not a mapping, nested too deep, not JSON, ...
            return self._input_error(error, run_phase, started)
        run: Run | None = None
        code = compiled.simple_code
        if code is not None:
            # The common case, a straight path: no `Run` (no loop, call, log or helper
            # needs one), no context bindings, no decimal context.
            scope = compiled.static_globals.copy()
            scope["entity"] = proxy
            try:
                exec(code, scope)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as error:
                scope.clear()
                return self._finish(error, proxy, None, run_phase, started)
        else:
            code = compiled.code
            if code is None:
                return self._invalid(compiled, proxy, run_phase, started)
            scope = compiled.static_globals.copy()
            scope["entity"] = proxy
            previous: Any = None
            if compiled.needs_run:
                timeout = self._timeout
                if limits is not None and limits.timeout_ms is not None:
                    timeout = limits.timeout_ms / 1000
                run = Run(self, started + timeout, script_name or _script_name(ctx), limits)
                run.effects = effects
                if tracer is not None:
                    tracer.attach(run, proxy)
                    scope[LINE_HOOK] = tracer.line
                previous = set_active_run(run)
            try:  # whatever happens, the thread's active run is restored
                try:
                    if run is not None:
                        for name, attribute in compiled.run_bindings:
                            scope[name] = getattr(run, attribute)
                        for name in compiled.helper_names:
                            scope[name] = self._helper(name, run_phase, run)
                    if compiled.needs_context:
                        self._bind_context(
                            compiled,
                            scope,
                            proxy,
                            run_phase,
                            event_type,
                            entity_before,
                            params,
                            ctx,
                            script_name,
                            config,
                        )
                except Exception as error:  # the caller's data (e.g. nested too deep)
                    return self._input_error(error, run_phase, started)
                try:
                    if compiled.uses_decimal:
                        with decimal.localcontext(DECIMAL_CONTEXT):
                            exec(code, scope)
                    else:
                        exec(code, scope)
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as error:
                    if tracer is not None:
                        tracer.finish()
                    scope.clear()
                    return self._finish(error, proxy, run, run_phase, started)
            finally:
                if run is not None:
                    set_active_run(previous)
            if tracer is not None:
                tracer.finish()
            if run is not None:
                scope.clear()  # user functions reference their globals: break the cycle now
                if run.outcome is not None:
                    return self._finish(run.outcome, proxy, run, run_phase, started)
        try:
            changes, removed = entity_changes(proxy, self._max_changes, self._max_nesting)
        except (LimitExceeded, Exception) as error:  # e.g. Decimal('sNaN') compared
            return self._finish(error, proxy, run, run_phase, started)
        duration = perf_counter() - started
        if duration > self._warn_after:
            self._warn_slow(run, duration)
        if run is None:
            return success_result(changes, removed, proxy, run_phase, duration * 1000)
        return ExecutionResult(
            _SUCCESS,
            changes,
            removed,
            proxy,
            run_phase,
            None,
            None,
            None,
            run.logs,
            run.emitted,
            run.ops,
            duration * 1000,
            response=run.response,
        )

    def _bind_context(
        self,
        compiled: CompiledScript,
        scope: dict[str, Any],
        proxy: EntityProxy,
        phase: ExecutionPhase,
        event: EventType | None,
        entity_before: Mapping[str, Any] | None,
        params: Mapping[str, Any] | None,
        ctx: Mapping[str, Any] | None,
        script_name: str | None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        if compiled.uses_ctx:
            scope["ctx"] = self._context(ctx or {}, phase, event, proxy, script_name)
        if compiled.uses_params:
            scope["params"] = copy_json(dict(params)) if params and phase in _PARAM_PHASES else {}
        if compiled.uses_config:
            scope["config"] = copy_json(dict(config)) if config else {}
        if compiled.uses_before:
            scope["entity_before"] = (
                EntityView(proxy.id, proxy.entity_type, entity_before)
                if entity_before is not None
                and phase in _BEFORE_PHASES
                and event is not None
                and event.has_before_image
                else None
            )

    # -- run outcome ---------------------------------------------------------------------

    def _finish(
        self,
        outcome: BaseException,
        proxy: EntityProxy,
        run: Run | None,
        phase: ExecutionPhase,
        started: float,
    ) -> ExecutionResult:
        try:
            return self._failure(outcome, proxy, run, phase, started)
        except Exception as error:  # pragma: no cover - defensive: a bug of ours, not the script's
            logger.exception("script engine failure")
            return ExecutionResult(
                ExecutionStatus.ERROR,
                {},
                [],
                dict(proxy._meta[2]),
                phase,
                error=ScriptError("InternalError", sanitize(type(error).__name__)),
                duration_ms=(perf_counter() - started) * 1000,
            )

    def _failure(
        self,
        outcome: BaseException,
        proxy: EntityProxy,
        run: Run | None,
        phase: ExecutionPhase,
        started: float,
    ) -> ExecutionResult:
        control = first_control(outcome)
        if run is not None and run.outcome is not None:
            recorded = run.outcome
            if not (isinstance(control, LimitExceeded) and isinstance(recorded, ScriptAbort)):
                control = recorded
        reason: str | None = None
        limit: str | None = None
        error: ScriptError | None
        line = _script_line(outcome)
        if isinstance(control, ScriptAbort):
            status = ExecutionStatus.ABORTED
            reason = control.reason
            error = None
        elif isinstance(control, LimitExceeded):
            limit = control.limit
            status = (
                ExecutionStatus.TIMEOUT if limit == "timeout" else ExecutionStatus.LIMIT_EXCEEDED
            )
            error = ScriptError(
                "LimitExceeded", sanitize(str(control)), _script_line(control) or line
            )
        elif isinstance(outcome, MemoryError):
            limit = "memory"
            status = ExecutionStatus.LIMIT_EXCEEDED
            error = ScriptError("LimitExceeded", "out of memory", line)
        else:
            status = ExecutionStatus.ERROR
            error = ScriptError(
                type(outcome).__name__, exception_message(outcome, self.guards.renderer), line
            )
        duration = perf_counter() - started
        if duration > self.config.warn_after:
            self._warn_slow(run, duration)
        return ExecutionResult(
            status,
            {},
            [],
            dict(proxy._meta[2]),
            phase,
            reason=reason,
            error=error,
            limit=limit,
            logs=run.logs if run is not None else [],
            emitted=run.emitted if run is not None else [],
            operations=run.ops if run is not None else 0,
            duration_ms=duration * 1000,
        )

    def _input_error(
        self, error: Exception, phase: ExecutionPhase, started: float
    ) -> ExecutionResult:
        """The caller's data cannot be given to a script (not the script's fault)."""
        return ExecutionResult(
            ExecutionStatus.ERROR,
            {},
            [],
            {},
            phase,
            error=ScriptError("InvalidInput", sanitize(str(error)) or type(error).__name__),
            duration_ms=(perf_counter() - started) * 1000,
        )

    def _invalid(
        self, compiled: CompiledScript, proxy: EntityProxy, phase: ExecutionPhase, started: float
    ) -> ExecutionResult:
        first = (
            compiled.errors[0] if compiled.errors else Diagnostic("error", 0, 0, "invalid script")
        )
        kind, message = "ValidationError", first.message
        if message.startswith("SyntaxError: "):
            kind, message = "SyntaxError", message[len("SyntaxError: ") :]
        return ExecutionResult(
            ExecutionStatus.ERROR,
            {},
            [],
            dict(proxy._meta[2]),
            phase,
            error=ScriptError(kind, message, first.line or None),
            duration_ms=(perf_counter() - started) * 1000,
        )

    def _warn_slow(self, run: Run | None, duration: float) -> None:
        logger.warning(
            "script %s ran for %.1f ms (warn_after %.0f ms)",
            (run.script_name if run is not None else None) or "<anonymous>",
            duration * 1000,
            self.config.warn_after * 1000,
        )

    # -- setup ---------------------------------------------------------------------------

    def _helper(self, name: str, phase: ExecutionPhase, run: Run) -> Any:
        spec = REGISTRY[name]
        if spec.namespace:
            return spec.function()
        if phase not in spec.phases:
            return unavailable(name, phase)
        if spec.needs_host:
            host: HelperHost = run
            return functools.partial(spec.function, host)
        return spec.function

    @staticmethod
    def _context(
        values: Mapping[str, Any],
        phase: ExecutionPhase,
        event: EventType | None,
        proxy: EntityProxy,
        script_name: str | None,
    ) -> ScriptContext:
        fields = dict(values)
        fields["phase"] = phase.value
        fields["event"] = None if event is None else event.value
        fields.setdefault("entity_type", proxy.entity_type)
        fields.setdefault("entity_id", proxy.id)
        fields["script"] = script_name or fields.get("script") or fields.get("script_name")
        return ScriptContext(fields, _dt.datetime.now(_dt.UTC))

    def _compile(self, source: str, trace: bool = False) -> CompiledScript:
        compiled = compile_script(
            source,
            known=self._known,
            helpers=self._helper_names,
            max_source_size=self.config.max_source_size,
            trace=trace,
        )
        if compiled.code is None:
            return compiled
        names = compiled.names
        base = self._base
        scope: dict[str, Any] = {"__builtins__": {}}
        scope.update((name, base[name]) for name in names if name in base)
        compiled.static_globals = scope
        compiled.run_bindings = tuple(
            (name, RUN_BINDINGS[name]) for name in sorted(names) if name in RUN_BINDINGS
        )
        compiled.helper_names = tuple(sorted(name for name in names if name in REGISTRY))
        compiled.uses_ctx = "ctx" in names
        compiled.uses_params = "params" in names
        compiled.uses_config = "config" in names
        compiled.uses_before = "entity_before" in names
        compiled.uses_decimal = "Decimal" in names
        compiled.needs_run = trace or bool(compiled.run_bindings or compiled.helper_names)
        compiled.needs_context = (
            compiled.uses_ctx
            or compiled.uses_params
            or compiled.uses_config
            or compiled.uses_before
        )
        if not (compiled.needs_run or compiled.needs_context or compiled.uses_decimal):
            compiled.simple_code = compiled.code
        return compiled

    def _build_globals(self) -> dict[str, Any]:
        guards = self.guards
        renderer = guards.renderer
        builtins = make_builtins(guards)
        namespaces = (*NAMESPACE_TYPES, MatchResult, ScriptContext, StoreNamespace)
        policies = build_policies(guards, namespaces)
        getattr_ = make_getattr(policies)
        str_type, dict_type = StrType(guards, getattr_, STR_METHODS), DictType(guards)
        datetime_type, date_type = DatetimeType(), DateType()
        timedelta_type, timezone_type, decimal_type = TimedeltaType(), TimezoneType(), DecimalType()
        aliases: dict[Any, type] = {
            str_type: str,
            dict_type: dict,
            builtins["int"]: int,
            builtins["range"]: range,
            float: float,
            bool: bool,
            datetime_type: _dt.datetime,
            date_type: _dt.date,
            timedelta_type: _dt.timedelta,
            timezone_type: _dt.timezone,
            decimal_type: decimal.Decimal,
            **{cls: cls for cls in SCRIPT_EXCEPTIONS.values()},
        }
        for name, kind in (
            ("list", list),
            ("tuple", tuple),
            ("set", set),
            ("frozenset", frozenset),
        ):
            aliases[getattr(Run, ITERATION_BUILTINS[name])] = kind

        def abort(reason: Any = "") -> NoReturn:
            text = reason if type(reason) is str else renderer.truncated(reason, MAX_REASON)
            raise ScriptAbort(text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "...")

        scope: dict[str, Any] = {
            "_getattr_": getattr_,
            "_getitem_": operator.getitem,
            "_write_": guards.write,
            "_getiter_": iter,
            "_iter_unpack_sequence_": guards.iter_unpack_sequence,
            "_unpack_sequence_": guards.unpack_sequence,
            "_inplacevar_": guards.inplacevar,
            "_augitem_": guards.augitem,
            "_apply_": guards.apply,
            "_mul_": guards.mul,
            "_add_": guards.add,
            "_sub_": guards.sub,
            "_iadd_": guards.iadd,
            "_imul_": guards.imul,
            "_pow_": guards.pow,
            "_lshift_": guards.lshift,
            "_mod_": guards.mod,
            "_fmt_": guards.fmt,
            "_fstr_": guards.fstr,
            "_catch_": guards.catch,
            "_exc_": guards.exc,
            "_raise_": guards.raise_,
            "_starred_": guards.starred,
            "_coll_": guards.coll,
            "_cmp_": guards.cmp,
            "_cv_": guards.cv,
            "_tup_": guards.tup,
            "_setdisplay_": guards.setdisplay,
            "abort": abort,
            **builtins,
            "str": str_type,
            "dict": dict_type,
            "isinstance": make_isinstance(aliases),
            "json": JsonNamespace(guards),
            "math": MathNamespace(guards),
            "re": self.regex,
            "datetime": datetime_type,
            "date": date_type,
            "timedelta": timedelta_type,
            "timezone": timezone_type,
            "Decimal": decimal_type,
            **ROUNDING,
            **make_functions(guards),
        }
        return scope


def _script_name(ctx: Mapping[str, Any] | None) -> str | None:
    if ctx is None:
        return None
    name = ctx.get("script_name") or ctx.get("script")
    return None if name is None else str(name)


def _script_line(error: BaseException | None) -> int | None:
    """The line of the innermost script frame in `error`'s traceback."""
    if error is None:
        return None
    line: int | None = None
    tb: TracebackType | None = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def create_default_engine() -> ScriptEngine:
    """An engine with the default limits."""
    return ScriptEngine(EngineConfig())
