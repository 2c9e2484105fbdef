"""Metrics and spans of HTTP calls.

Prometheus: `alloy_script_http_calls_total{outcome}` and the call duration by outcome (the
outcomes are the closed set of `audit.Outcome`). Tracing: each call is a CLIENT span
(``HTTP <method>``) whose context is sent on as ``traceparent``; with no tracer provider
installed the span is a no-op and no header is added.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, MutableMapping

from opentelemetry import propagate, trace
from prometheus_client import Counter, Histogram

HTTP_CALLS = Counter(
    "alloy_script_http_calls_total",
    "HTTP calls made by scripts, by outcome.",
    ["outcome"],
)
HTTP_CALL_DURATION = Histogram(
    "alloy_script_http_call_duration_seconds",
    "Wall time of one HTTP call made by a script (redirects included), by outcome.",
    ["outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
_tracer = trace.get_tracer("alloy_scripting.http")


@functools.cache
def calls(outcome: str) -> Counter:
    return HTTP_CALLS.labels(outcome)


@functools.cache
def duration(outcome: str) -> Histogram:
    return HTTP_CALL_DURATION.labels(outcome)


def observe(outcome: str, seconds: float) -> None:
    calls(outcome).inc()
    duration(outcome).observe(seconds)


def _tracing_active() -> bool:
    provider = trace._TRACER_PROVIDER
    return provider is not None and not isinstance(provider, trace.NoOpTracerProvider)


@contextlib.contextmanager
def client_span(method: str) -> Iterator[trace.Span]:
    """The span of one call (a shared no-op when tracing is off)."""
    if not _tracing_active():
        yield trace.INVALID_SPAN
        return
    with _tracer.start_as_current_span(
        f"HTTP {method}", kind=trace.SpanKind.CLIENT, attributes={"http.request.method": method}
    ) as span:
        yield span


def propagate_into(headers: MutableMapping[str, str]) -> None:
    """Add ``traceparent`` (and ``tracestate``) of the current span, if one is recording."""
    if _tracing_active():
        propagate.inject(headers)
