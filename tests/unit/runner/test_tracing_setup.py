"""Tracing set-up: the OTLP protocol from the standard variable, and tracing off costing
nothing (no provider, no instrumentation, no span object on the hot path)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

from alloy_scripting.tracing import otlp_exporter, otlp_protocol


def test_the_protocol_comes_from_the_standard_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", raising=False)
    assert otlp_protocol() == "http/protobuf"  # the OTLP spec's default, as the chart's
    assert isinstance(otlp_exporter(otlp_protocol()), Http)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert isinstance(otlp_exporter(otlp_protocol()), Grpc)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")  # more specific
    assert otlp_protocol() == "http/protobuf"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")
    with pytest.raises(ValueError, match="http/json"):
        otlp_protocol()


OFF = textwrap.dedent(
    """
    import os
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        del os.environ[name]
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from pymongo import monitoring
    from alloy_scripting import telemetry
    from alloy_scripting.tracing import configure_tracing
    from alloy_scripting.api.app import create_api
    from alloy_scripting.runner.service import Runtime
    from alloy_scripting.settings import Settings
    from alloy_scripting.storage import InMemoryStores
    from alloy_scripting.engine import create_default_engine
    from alloy_scripting.runner.orchestrator import ScriptOrchestrator

    assert configure_tracing() is None
    assert not telemetry.tracing_active()
    assert telemetry.span("script.execute") is telemetry._NO_SPAN  # one shared no-op
    assert not hasattr(AIOKafkaProducer.send, "__wrapped__")
    assert not hasattr(AIOKafkaConsumer.getmany, "__wrapped__")
    assert not monitoring._LISTENERS.command_listeners
    stores = InMemoryStores()
    engine = create_default_engine()
    runtime = Runtime(
        settings=Settings(_env_file=None), stores=stores, engine=engine,
        orchestrator=ScriptOrchestrator(stores.scripts, engine, stores.executions),
    )
    app = create_api(runtime)
    assert "OpenTelemetryMiddleware" not in [m.cls.__name__ for m in app.user_middleware]
    print("off")
    """
)


def test_tracing_off_installs_nothing() -> None:
    """In a fresh process (the test session has a provider): without an endpoint there is
    no provider, no library is wrapped, and `span()` hands out one shared no-op object."""
    done = subprocess.run(
        [sys.executable, "-c", OFF], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "off"
