"""Prometheus metrics and OpenTelemetry spans, shared by every layer (engine runs, hooks, edges)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from prometheus_client import Counter, Gauge, Histogram

tracer = trace.get_tracer("alloy_scripting")
trace.get_tracer_provider()  # installs one named by OTEL_PYTHON_TRACER_PROVIDER, if any
_NO_SPAN = contextlib.nullcontext(trace.INVALID_SPAN)
#: Set by `tracing.instrument_libraries`: the aiokafka instrumentation injects the trace
#: into sent records' headers, so our producers leave that to it.
KAFKA_INSTRUMENTED = False


def tracing_active() -> bool:
    """Whether a real tracer provider is installed. Without one every span is a no-op, and
    the hot path skips building spans and propagating trace context altogether.

    Reads the global directly: `trace.get_tracer_provider()` looks `os.environ` up on every
    call while no provider is set, which costs more than a hook's script run."""
    provider = trace._TRACER_PROVIDER
    return provider is not None and not isinstance(provider, trace.NoOpTracerProvider)


def span(
    name: str,
    *,
    context: Context | None = None,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
) -> contextlib.AbstractContextManager[trace.Span]:
    """`tracer.start_as_current_span(...)`, or a shared no-op when tracing is off."""
    if not tracing_active():
        return _NO_SPAN
    return tracer.start_as_current_span(name, context=context, kind=kind, attributes=attributes)


SCRIPT_EXECUTIONS = Counter(
    "alloy_script_executions_total",
    "Script runs by phase and final status.",
    ["phase", "status"],
)
SCRIPT_DURATION = Histogram(
    "alloy_script_duration_seconds",
    "Wall time of one script run inside the sandbox.",
    ["phase"],
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)
SCRIPTS_DISABLED = Counter(
    "alloy_scripts_auto_disabled_total",
    "Scripts disabled automatically after consecutive failures.",
)
HOOK_OUTCOMES = Counter(
    "alloy_hook_outcomes_total",
    "Before-hook answers by outcome.",
    ["outcome"],
)
HOOK_DURATION = Histogram(
    "alloy_hook_duration_seconds",
    "Time to run all scripts of one hook event.",
    ["phase"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
MESSAGES = Counter(
    "alloy_messages_total",
    "Kafka records consumed, by topic kind and result (ok, duplicate, dead_letter).",
    ["kind", "result"],
)
SCHEDULED_RUNS = Counter(
    "alloy_scheduled_runs_total",
    "Cron ticks claimed and run by this instance.",
)
SCRIPT_RUNS_BY_SCRIPT = Counter(
    "alloy_script_runs_by_script_total",
    "Runs of the scripts named in ALLOY_METRICS_SCRIPTS (opt-in, at most "
    "MAX_LABELLED_SCRIPTS names), by script name and final status.",
    ["script", "status"],
)
SCRIPT_DURATION_BY_SCRIPT = Histogram(
    "alloy_script_duration_by_script_seconds",
    "Run wall time of the scripts named in ALLOY_METRICS_SCRIPTS.",
    ["script"],
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5),
)
#: The bound on ALLOY_METRICS_SCRIPTS: at most 5 statuses x 50 scripts = 250 counter series
#: and 50 x 9 histogram series (buckets, sum, count).
MAX_LABELLED_SCRIPTS = 50
#: Script names whose runs are labelled by script (set by `label_scripts`).
LABELLED_SCRIPTS: frozenset[str] = frozenset()


def label_scripts(names: frozenset[str]) -> None:
    """Label the runs of these scripts (by name) in the `*_by_script` metrics."""
    global LABELLED_SCRIPTS
    if len(names) > MAX_LABELLED_SCRIPTS:
        raise ValueError(f"at most {MAX_LABELLED_SCRIPTS} scripts may be labelled in metrics")
    LABELLED_SCRIPTS = names


def count_script_run(name: str, status: str, seconds: float) -> None:
    """The labelled series of one run of a script in `LABELLED_SCRIPTS`."""
    SCRIPT_RUNS_BY_SCRIPT.labels(name, status).inc()
    SCRIPT_DURATION_BY_SCRIPT.labels(name).observe(seconds)


TRIGGER_CACHE_SIZE = Gauge("alloy_trigger_cache_entries", "Entries in the trigger cache.")


# Labelled children, looked up once: `.labels()` takes a lock and builds a key each call, a
# cost worth avoiding per hook. Every label value comes from a closed set (phases, statuses,
# outcomes), so the caches stay small.


@functools.cache
def script_executions(phase: str, status: str) -> Counter:
    return SCRIPT_EXECUTIONS.labels(phase, status)


@functools.cache
def script_duration(phase: str) -> Histogram:
    return SCRIPT_DURATION.labels(phase)


@functools.cache
def hook_duration(phase: str) -> Histogram:
    return HOOK_DURATION.labels(phase)


@functools.cache
def hook_outcomes(outcome: str) -> Counter:
    return HOOK_OUTCOMES.labels(outcome)


@functools.cache
def messages(kind: str, result: str) -> Counter:
    return MESSAGES.labels(kind, result)
