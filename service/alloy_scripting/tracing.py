"""OpenTelemetry set-up for `serve`: an OTLP exporter and the library instrumentations when
the standard variables ask for one.

Spans: one per consumed hook record (continuing the producer's `traceparent` header), one
per script run (`script.execute`), and from the instrumentation packages: every HTTP request
(FastAPI), every MongoDB command (PyMongo) and every Kafka send and receive (aiokafka, which
also puts the trace into the answers' headers). A before-hook or a REST run is thus one
trace: consumer (or server) span, MongoDB calls, `script.execute`, the reply.

Set `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) to export;
`OTEL_EXPORTER_OTLP_PROTOCOL` (or `..._TRACES_PROTOCOL`) picks `http/protobuf` (the
default, port 4318) or `grpc` (port 4317). Without an endpoint nothing is installed: no
provider, no instrumentation, and the hot path skips span work (`telemetry.tracing_active`).
"""

from __future__ import annotations

import logging
import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from alloy_scripting import __version__, telemetry

logger = logging.getLogger("alloy.tracing")

PROTOCOLS = ("http/protobuf", "grpc")


def otlp_protocol() -> str:
    """The OTLP protocol the standard variables ask for (the spec's default: http/protobuf)."""
    protocol = (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol not in PROTOCOLS:
        raise ValueError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported: use one of "
            + ", ".join(PROTOCOLS)
        )
    return protocol


def otlp_exporter(protocol: str) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    return HttpExporter()


def instrument_libraries(provider: TracerProvider) -> None:
    """Spans for every MongoDB command and Kafka send/receive (the REST app is instrumented
    by `api.app.create_api` when tracing is active). The aiokafka instrumentation puts the
    trace into sent records' headers, so the producers stop doing it themselves."""
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    PymongoInstrumentor().instrument(tracer_provider=provider)
    AIOKafkaInstrumentor().instrument(tracer_provider=provider)
    telemetry.KAFKA_INSTRUMENTED = True


def uninstrument_libraries() -> None:
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    PymongoInstrumentor().uninstrument()
    AIOKafkaInstrumentor().uninstrument()
    telemetry.KAFKA_INSTRUMENTED = False


def configure_tracing() -> TracerProvider | None:
    """Install a global tracer provider exporting over OTLP and the instrumentations, if an
    endpoint is configured (and the SDK is not disabled)."""
    if not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return None
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    protocol = otlp_protocol()
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", "alloy-scripting"),
            "service.version": __version__,
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(otlp_exporter(protocol)))
    trace.set_tracer_provider(provider)
    instrument_libraries(provider)
    logger.info(
        "exporting traces over OTLP (%s) to %s",
        protocol,
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"),
    )
    return provider
