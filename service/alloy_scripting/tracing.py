"""OpenTelemetry set-up for `serve`: an OTLP exporter when the standard variables ask for one.

Spans: one per consumed hook record (continuing the producer's `traceparent` header; the
answers carry the trace on), and one per script run (`script.execute`). Set
`OTEL_EXPORTER_OTLP_ENDPOINT` (and optionally `OTEL_SERVICE_NAME`,
`OTEL_EXPORTER_OTLP_HEADERS`, …) to export them; without it tracing stays a no-op.
"""

from __future__ import annotations

import logging
import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from alloy_scripting import __version__

logger = logging.getLogger("alloy.tracing")


def configure_tracing() -> TracerProvider | None:
    """Install a global tracer provider exporting over OTLP/HTTP, if configured."""
    if not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return None
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", "alloy-scripting"),
            "service.version": __version__,
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    logger.info("exporting traces over OTLP to %s", os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    return provider
