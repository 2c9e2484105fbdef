"""Prometheus metrics and OpenTelemetry tracer shared by the runner and the edges above it."""

from __future__ import annotations

from opentelemetry import trace
from prometheus_client import Counter, Gauge, Histogram

tracer = trace.get_tracer("alloy_scripting")

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
TRIGGER_CACHE_SIZE = Gauge("alloy_trigger_cache_entries", "Entries in the trigger cache.")
