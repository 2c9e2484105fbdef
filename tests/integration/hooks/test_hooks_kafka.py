"""The Kafka surface end to end: real broker, real MongoDB-wire server, the HookClient."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from alloy_scripting.model import ScriptStatus
from alloy_scripting.model.outcomes import Continue, Error, Rejected

from .conftest import Service, json_value, read_topic, read_until_quiet

pytestmark = pytest.mark.integration

SEED_SCRIPT = """\
if entity["amount"] < 100:
    abort("Minimum deal amount is 100")
if entity["amount"] > 100000:
    entity["status"] = "needs_approval"
"""


async def test_seed_scenario_through_the_client(service: Service) -> None:
    await service.add_script("validate_deal", SEED_SCRIPT, "deal", "before_create")
    await service.add_script(
        "announce_deal",
        'emit("deal.created", {"id": entity.id, "amount": entity["amount"]})',
        "deal",
        "after_create",
    )
    async with service.client() as hooks:
        small, big = await asyncio.gather(
            hooks.before("deal", "before_create", "d1", {"amount": 50}),
            hooks.before("deal", "before_create", "d2", {"amount": 500000}),
        )
        assert isinstance(small, Rejected)
        assert small.reason == "Minimum deal amount is 100"
        assert small.script == "validate_deal"
        assert isinstance(big, Continue)
        assert big.changes == {"status": "needs_approval"}
        assert [e.name for e in big.executed] == ["validate_deal"]

        event_id = await hooks.after("deal", "after_create", "d2", {"amount": 500000})

    [effect] = await read_topic(
        service.settings.kafka_bootstrap, service.edge.topics.effects, count=1
    )
    body = json_value(effect)
    assert body["event_type"] == "deal.created"
    assert body["payload"] == {"id": "d2", "amount": 500000}
    assert body["source_event_id"] == event_id
    assert body["script_name"] == "announce_deal"


async def test_priority_order_and_changes_chain(service: Service) -> None:
    await service.add_script(
        "second", 'entity["b"] = entity["a"] + 1', "deal", "before_update", priority=2
    )
    await service.add_script("first", 'entity["a"] = 10', "deal", "before_update", priority=1)
    async with service.client() as hooks:
        outcome = await hooks.before(
            "deal", "before_update", "d1", {"a": 0, "gone": 1}, before={"a": 0}
        )
    assert isinstance(outcome, Continue)
    assert outcome.changes == {"a": 10, "b": 11}
    assert [e.name for e in outcome.executed] == ["first", "second"]


async def test_failing_script_is_disabled_after_three_errors(service: Service) -> None:
    script = await service.add_script("broken", "x = 1 / 0", "deal", "before_create")
    async with service.client() as hooks:
        for _ in range(3):
            outcome = await hooks.before("deal", "before_create", "d1", {"amount": 1})
            assert isinstance(outcome, Error)
            assert outcome.script == "broken"
            assert "ZeroDivisionError" in outcome.error
        stored = await service.stores.scripts.get(script.id)
        assert stored.status is ScriptStatus.DISABLED
        assert stored.error_count == 3
        outcome = await hooks.before("deal", "before_create", "d1", {"amount": 1})
    assert isinstance(outcome, Continue)
    assert outcome.executed == []
    # A hook's records are written by its batch's finish step, just after the reply (and
    # before the offset commit): give the last one that moment.
    log = service.runtime.orchestrator.execution_log
    async with asyncio.timeout(10):
        while (page := await log.find_by_script(script.id, 0, 10)).total < 3:
            await asyncio.sleep(0.05)
    assert page.total == 3


async def test_garbage_request_gets_error_reply_and_dead_letter(service: Service) -> None:
    await service.add_script("validate_deal", SEED_SCRIPT, "deal", "before_create")
    topics = service.edge.topics
    async with service.client() as hooks:
        producer = AIOKafkaProducer(bootstrap_servers=service.settings.kafka_bootstrap)
        await producer.start()
        correlation_id = uuid.uuid4().hex
        future = asyncio.get_running_loop().create_future()
        hooks._pending[correlation_id] = future
        try:
            await producer.send_and_wait(
                topics.entity("before_create"),
                b"\x00not json{",
                key=b"deal:x",
                headers=[
                    ("reply_to", hooks.reply_topic.encode()),
                    ("correlation_id", correlation_id.encode()),
                ],
            )
        finally:
            await producer.stop()
        reply = await asyncio.wait_for(future, 30)
        assert isinstance(reply, Error)
        assert reply.error_type == "invalid_request"

        outcome = await hooks.before("deal", "before_create", "d1", {"amount": 50})
        assert isinstance(outcome, Rejected)

    [dead] = await read_topic(service.settings.kafka_bootstrap, topics.dlq, count=1)
    headers = {k: v.decode() for k, v in dead.headers}
    assert dead.value == b"\x00not json{"
    assert headers["x-error-type"] == "undecodable"
    assert headers["x-source-topic"] == topics.entity("before_create")
    assert int(headers["x-source-offset"]) >= 0


async def test_schema_invalid_event_is_dead_lettered(service: Service) -> None:
    topics = service.edge.topics
    producer = AIOKafkaProducer(bootstrap_servers=service.settings.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topics.entity("after_update"), b'{"entity_type": "deal"}')
    finally:
        await producer.stop()
    [dead] = await read_topic(service.settings.kafka_bootstrap, topics.dlq, count=1)
    headers = {k: v.decode() for k, v in dead.headers}
    assert headers["x-error-type"] == "invalid"
    assert "entity_id" in headers["x-error"]


async def test_redelivered_after_event_runs_once(service: Service) -> None:
    script = await service.add_script(
        "notify", 'emit("n", {"x": entity["x"]})', "deal", "after_update"
    )
    async with service.client() as hooks:
        await hooks.after("deal", "after_update", "d1", {"x": 1}, before={"x": 0}, event_id="evt-1")
        await hooks.after("deal", "after_update", "d1", {"x": 1}, before={"x": 0}, event_id="evt-1")
        await hooks.after("deal", "after_update", "d1", {"x": 2}, before={"x": 1}, event_id="evt-2")
        # the marker: same entity key, so it is handled after the redelivery
        await hooks.after("deal", "after_update", "d1", {"x": 3}, before={"x": 2}, event_id="evt-3")
    effects = await read_until_quiet(
        service.settings.kafka_bootstrap,
        service.edge.topics.effects,
        until=lambda record: json_value(record)["source_event_id"] == "evt-3",
    )
    assert sorted(json_value(e)["source_event_id"] for e in effects) == ["evt-1", "evt-2", "evt-3"]
    log = service.runtime.orchestrator.execution_log
    async with asyncio.timeout(10):
        while (page := await log.find_by_script(script.id, 0, 10)).total < 3:
            await asyncio.sleep(0.05)
    assert page.total == 3


async def test_redelivered_before_request_gets_the_same_outcome(service: Service) -> None:
    script = await service.add_script("validate_deal", SEED_SCRIPT, "deal", "before_create")
    async with service.client() as hooks:
        first = await hooks.before(
            "deal", "before_create", "d1", {"amount": 500000}, event_id="req-1"
        )
        # The script changes; a redelivery of the same event must still get the first answer.
        script.source = 'abort("changed")'
        await service.stores.scripts.save(script)
        await service.runtime.orchestrator.scripts_changed(None)
        again = await hooks.before(
            "deal", "before_create", "d1", {"amount": 500000}, event_id="req-1"
        )
        fresh = await hooks.before(
            "deal", "before_create", "d1", {"amount": 500000}, event_id="req-2"
        )
    assert isinstance(first, Continue)
    assert again == first
    assert isinstance(fresh, Rejected)


async def test_many_concurrent_requests_from_one_client(service: Service) -> None:
    await service.add_script("validate_deal", SEED_SCRIPT, "deal", "before_create")
    async with service.client() as hooks:
        amounts = [50 if i % 2 else 200_000 for i in range(200)]
        outcomes = await asyncio.gather(
            *(
                hooks.before("deal", "before_create", f"d{i}", {"amount": a})
                for i, a in enumerate(amounts)
            )
        )
    for amount, outcome in zip(amounts, outcomes, strict=True):
        if amount == 50:
            assert isinstance(outcome, Rejected)
        else:
            assert isinstance(outcome, Continue) and outcome.changes == {"status": "needs_approval"}


async def test_tenants_only_see_their_scripts(service: Service) -> None:
    await service.add_script(
        "acme_rule", 'abort("acme says no")', "deal", "before_create", tenant_id="acme"
    )
    async with service.client() as hooks:
        acme = await hooks.before("deal", "before_create", "d1", {}, tenant_id="acme")
        other = await hooks.before("deal", "before_create", "d1", {}, tenant_id="globex")
    assert isinstance(acme, Rejected)
    assert isinstance(other, Continue) and other.executed == []


async def test_unanswerable_reply_to_is_dead_lettered_and_the_consumer_goes_on(
    service: Service,
) -> None:
    await service.add_script("validate_deal", SEED_SCRIPT, "deal", "before_create")
    topics = service.edge.topics
    producer = AIOKafkaProducer(bootstrap_servers=service.settings.kafka_bootstrap)
    await producer.start()
    try:
        body = b'{"entity_type": "deal", "entity_id": "x", "event": "before_create", "data": {"amount": 5}}'
        await producer.send_and_wait(
            topics.entity("before_create"),
            body,
            key=b"deal:x",
            headers=[("reply_to", b"not a topic!"), ("correlation_id", b"c-1")],
        )
    finally:
        await producer.stop()
    async with service.client() as hooks:
        outcome = await hooks.before("deal", "before_create", "d1", {"amount": 50})
    assert isinstance(outcome, Rejected)
    [dead] = await read_topic(service.settings.kafka_bootstrap, topics.dlq, count=1)
    headers = {k: v.decode() for k, v in dead.headers}
    assert headers["x-error-type"] == "invalid_reply_to"
    assert dead.value == body


async def test_a_hook_continues_the_callers_trace_and_the_answer_carries_it(
    service: Service, spans: Any
) -> None:
    from opentelemetry import trace

    await service.add_script("validate_deal", SEED_SCRIPT, "deal", "before_create")
    async with service.client(delete_reply_topic=False) as hooks:
        with trace.get_tracer("test").start_as_current_span("caller") as caller:
            outcome = await hooks.before("deal", "before_create", "d1", {"amount": 500000})
        reply_topic = hooks.reply_topic
    assert isinstance(outcome, Continue)
    trace_id = format(caller.get_span_context().trace_id, "032x")

    finished = spans.get_finished_spans()
    consumer = [s for s in finished if s.name.endswith("entity.before_create process")]
    assert consumer and format(consumer[0].context.trace_id, "032x") == trace_id
    run = [s for s in finished if s.name == "script.execute"]
    assert run and run[0].parent is not None
    assert run[0].parent.span_id == consumer[0].context.span_id
    [reply] = await read_topic(service.settings.kafka_bootstrap, reply_topic, count=1)
    assert trace_id in dict(reply.headers)["traceparent"].decode()


async def test_a_closed_clients_reply_topic_stays_deleted(
    kafka_bootstrap: str, mongodb_url: str, mongo_db: Any, unique_name: str
) -> None:
    """The service's producer forgets idle reply topics, so its metadata requests do not
    make a broker with auto-creation on bring a deleted reply topic back."""
    from aiokafka.admin import AIOKafkaAdminClient

    from .conftest import make_settings, start_service

    service = await start_service(
        make_settings(kafka_bootstrap, mongodb_url, unique_name), mongo_db, reply_topic_idle=0.5
    )
    try:
        await service.add_script("validate_deal", SEED_SCRIPT, "deal", "before_create")
        async with service.client() as first:
            assert isinstance(
                await first.before("deal", "before_create", "d1", {"amount": 500000}), Continue
            )
            closed_topic = first.reply_topic
        await asyncio.sleep(1.5)  # idle for longer than reply_topic_idle
        async with service.client() as second:
            assert isinstance(
                await second.before("deal", "before_create", "d2", {"amount": 50}), Rejected
            )
            assert service.edge.producers.producer is not None
            # the marker: a topic the same producer asks about; once the broker has
            # auto-created it, a metadata request naming the closed topic would have too
            marker = f"{closed_topic}-marker"
            client = service.edge.producers.producer.client
            client.add_topic(marker)
            await client.force_metadata_update()
            admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
            await admin.start()
            try:
                async with asyncio.timeout(30):
                    while marker not in (topics := set(await admin.list_topics())):
                        client.add_topic(marker)
                        await client.force_metadata_update()
                        await asyncio.sleep(0.1)
                assert closed_topic not in topics
                await admin.delete_topics([marker])
            finally:
                await admin.close()
    finally:
        await service.edge.stop()


async def test_field_names_the_store_refuses_still_get_their_records_written(
    service: Service,
) -> None:
    """A script (or its caller) may name fields `$set` or `a.b`; MongoDB-wire stores refuse
    them in documents. The hook is answered and its execution record is written, so the
    batch's books are done (not failed and redelivered forever)."""
    rules = await service.add_script(
        "odd_fields", 'entity["$set"] = {"a.b": entity["n"]}', "deal", "before_create"
    )
    notify = await service.add_script(
        "odd_payload", 'emit("deal.odd", {"$where": entity["n"], "x.y": 1})', "deal", "after_create"
    )
    async with service.client() as hooks:
        answer = await hooks.before("deal", "before_create", "d1", {"n": 1, "c.d": 2})
        await hooks.after("deal", "after_create", "d1", {"n": 2})
    assert isinstance(answer, Continue) and answer.changes == {"$set": {"a.b": 1}}
    log = service.runtime.orchestrator.execution_log
    async with asyncio.timeout(15):
        while not (page := await log.find_by_script(rules.id, 0, 10)).items:
            await asyncio.sleep(0.05)
        while not (effects := await log.find_by_script(notify.id, 0, 10)).items:
            await asyncio.sleep(0.05)
    assert page.items[0].changes == {"$set": {"a.b": 1}}
    assert effects.items[0].emitted[0]["payload"] == {"$where": 2, "x.y": 1}
