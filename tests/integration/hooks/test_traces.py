"""One before-hook, and one REST run, is one connected trace: the consumer (or server) span,
the MongoDB commands, `script.execute` and the reply (SDK in-memory exporter, with the
FastAPI, PyMongo and aiokafka instrumentations on, on the real Kafka and FerretDB)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from alloy_scripting.model.outcomes import Continue
from alloy_scripting.storage.mongo import MongoStores
from alloy_scripting.storage.mongo.common import client_for
from alloy_scripting.tracing import instrument_libraries, uninstrument_libraries
from tests.unit.api.fixtures import auth, make_api, make_runtime, manual_body

from .conftest import make_settings, start_service
from .test_hooks_kafka import SEED_SCRIPT

pytestmark = pytest.mark.integration


@pytest.fixture
def instrumented(spans: Any) -> Iterator[Any]:
    """The process's tracer provider (see `spans`) with the library instrumentations on."""
    instrument_libraries(trace.get_tracer_provider())  # type: ignore[arg-type]
    try:
        yield spans
    finally:
        uninstrument_libraries()


def in_trace(spans: Any, trace_id: int) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names: list[str] = []
    parent = span.parent
    while parent is not None and parent.span_id in by_id:
        names.append(by_id[parent.span_id].name)
        parent = by_id[parent.span_id].parent
    return names


def is_mongo(span: ReadableSpan) -> bool:
    return span.kind is SpanKind.CLIENT and (span.attributes or {}).get("db.system") == "mongodb"


async def test_a_before_hook_is_one_connected_trace(
    instrumented: Any, kafka_bootstrap: str, mongodb_url: str, unique_name: str
) -> None:
    settings = make_settings(kafka_bootstrap, mongodb_url, unique_name)
    mongo = client_for(settings)  # made after the instrumentation: PyMongo's listeners
    service = await start_service(settings, mongo[settings.mongodb_database])
    try:
        await service.add_script("validate_deal", SEED_SCRIPT, "deal", "before_create")
        async with service.client() as hooks:
            with trace.get_tracer("test").start_as_current_span("caller") as caller:
                outcome = await hooks.before("deal", "before_create", "d1", {"amount": 500000})
            reply_topic = hooks.reply_topic
    finally:
        await service.edge.stop()
        await mongo.drop_database(settings.mongodb_database)
        await mongo.close()
    assert isinstance(outcome, Continue)

    spans = in_trace(instrumented, caller.get_span_context().trace_id)
    by_id = {s.context.span_id: s for s in spans}
    [consumer] = [s for s in spans if s.name.endswith("entity.before_create process")]
    assert "caller" in ancestors(consumer, by_id)  # continues the client's trace
    [run] = [s for s in spans if s.name == "script.execute"]
    assert consumer.name in ancestors(run, by_id)
    mongo_calls = [s for s in spans if is_mongo(s) and consumer.name in ancestors(s, by_id)]
    assert mongo_calls, f"no MongoDB span under the consumer span: {[s.name for s in spans]}"
    replies = [
        s
        for s in spans
        if s.kind is SpanKind.PRODUCER
        and (s.attributes or {}).get("messaging.destination.name") == reply_topic
    ]
    assert replies and consumer.name in ancestors(replies[0], by_id), [s.name for s in spans]


async def test_a_rest_run_is_one_connected_trace(instrumented: Any, mongodb_url: str) -> None:
    settings = make_settings("127.0.0.1:1", mongodb_url, "trace")
    mongo = client_for(settings)
    db = mongo[f"t_trace_{id(settings)}"]
    try:
        stores = MongoStores(db)
        await stores.ensure_indexes()
        app = make_api(make_runtime(stores))  # tracing is active: the app is instrumented
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api.test", headers=auth()
        ) as client:
            created = await client.post("/scripts", json=manual_body(status="active"))
            sid = created.json()["id"]
            instrumented.clear()
            ran = await client.post(f"/scripts/{sid}/run", json={})
            assert ran.status_code == 200, ran.text
    finally:
        await mongo.drop_database(db.name)
        await mongo.close()

    finished = instrumented.get_finished_spans()
    [server] = [
        s for s in finished if s.kind is SpanKind.SERVER and "/scripts/{script_id}/run" in s.name
    ]
    spans = in_trace(instrumented, server.context.trace_id)
    by_id = {s.context.span_id: s for s in spans}
    [run] = [s for s in spans if s.name == "script.execute"]
    assert server.name in ancestors(run, by_id)
    assert any(is_mongo(s) and server.name in ancestors(s, by_id) for s in spans)
