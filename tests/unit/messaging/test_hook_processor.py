"""HookProcessor on in-memory stores with a recording producer: answers, marks, redeliveries.

Fast checks of the batch logic; the same paths run against the real Kafka and FerretDB in
tests/integration/hooks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.errors import UnknownTopicOrPartitionError
from opentelemetry.trace import SpanKind

from alloy_scripting.engine import create_default_engine
from alloy_scripting.messaging.processor import HookProcessor
from alloy_scripting.messaging.topics import Topics
from alloy_scripting.model import EventType
from alloy_scripting.model.events import EntityEvent
from alloy_scripting.model.script import Event, Script
from alloy_scripting.runner.orchestrator import ScriptOrchestrator
from alloy_scripting.storage.memory import InMemoryStores

SEED = (
    'if entity["amount"] < 100:\n'
    '    abort("Minimum deal amount is 100")\n'
    'if entity["amount"] > 100000:\n'
    '    entity["status"] = "needs_approval"\n'
)


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class Sent:
    topic: str
    value: bytes
    key: bytes | None
    headers: dict[str, str]


class Producer:
    """Records what is sent; topics in `refusing` fail their delivery like a missing topic."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.refusing: set[str] = set()

    async def publish(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: dict[str, str]
    ) -> None:
        await (await self.enqueue(topic, value, key=key, headers=headers))

    async def enqueue(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: dict[str, str]
    ) -> asyncio.Future[Any]:
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if topic in self.refusing:
            delivery.set_exception(UnknownTopicOrPartitionError())
        else:
            self.sent.append(Sent(topic, value, key, dict(headers)))
            delivery.set_result(None)
        return delivery

    def on(self, topic: str) -> list[Sent]:
        return [s for s in self.sent if s.topic == topic]


class Service:
    def __init__(self, stores: InMemoryStores | None = None) -> None:
        self.stores = stores or InMemoryStores()
        self.orchestrator = ScriptOrchestrator(
            self.stores.scripts, create_default_engine(), self.stores.executions
        )
        self.producer = Producer()
        self.topics = Topics("")
        self.processor = self.new_processor()
        self.offset = 0

    def new_processor(self) -> HookProcessor:
        """A processor as a freshly started instance has it (empty memory)."""
        return HookProcessor(
            self.orchestrator,
            self.stores.processed,
            self.producer.publish,
            self.topics,
            enqueue=self.producer.enqueue,
            mark_linger=0,
        )

    async def add(self, name: str, source: str, event: str) -> Script:
        script = Script.new(name, source, Event("deal", EventType(event))).activate()
        saved = await self.stores.scripts.save(script)
        await self.orchestrator.scripts_changed(None, broadcast=False)
        return saved

    def record(
        self, event: str, amount: int, *, event_id: str, offset: int | None = None
    ) -> Record:
        if offset is None:
            offset, self.offset = self.offset, self.offset + 1
        body = {
            "event_id": event_id,
            "entity_type": "deal",
            "entity_id": "d1",
            "event": event,
            "data": {"amount": amount},
        }
        headers = [("reply_to", b"replies"), ("correlation_id", f"c-{event_id}".encode())]
        return Record(f"entity.{event}", 0, offset, b"deal:d1", json.dumps(body).encode(), headers)

    async def handle(self, *records: Record, processor: HookProcessor | None = None) -> None:
        finish = await (processor or self.processor).handle_batch(list(records))
        await finish()


def request_key(kind: str, record: Record) -> str:
    """The processed-event key of a request (tenant, event id, digest of its content)."""
    event = EntityEvent.model_validate_json(record.value or b"")
    content = event.model_dump_json(
        include={"user_id", "entity_type", "entity_id", "event", "data", "before"}
    )
    digest = hashlib.blake2b(content.encode(), digest_size=8).hexdigest()
    return f"{kind}:{event.event_id}:{digest}"


@pytest.fixture
def service() -> Service:
    return Service()


async def test_a_before_request_is_answered_and_its_answer_kept_as_sent(service: Service) -> None:
    await service.add("validate_deal", SEED, "before_create")
    await service.handle(service.record("before_create", 500_000, event_id="e1"))

    [reply] = service.producer.on("replies")
    assert reply.headers["correlation_id"] == "c-e1"
    outcome = json.loads(reply.value)
    assert outcome["outcome"] == "continue" and outcome["changes"] == {"status": "needs_approval"}
    request = service.record("before_create", 500_000, event_id="e1", offset=0)
    assert await service.stores.processed.get(request_key("before:", request)) == {
        "reply": reply.value,
        "recorded": True,  # written after the run's execution records
    }


async def test_a_redelivery_elsewhere_is_answered_from_the_mark_without_running(
    service: Service,
) -> None:
    script = await service.add("validate_deal", SEED, "before_create")
    first = service.record("before_create", 50, event_id="e1", offset=7)
    await service.handle(first)
    [answer] = service.producer.on("replies")
    assert json.loads(answer.value)["outcome"] == "rejected"
    runs = (await service.stores.executions.find_by_script(script.id)).total

    # Another instance takes the partition over (its memory is empty) and gets the record
    # again: the watermark marks it as a possible redelivery, the store has the answer.
    # The script changed meanwhile: running it again would answer differently.
    await service.stores.scripts.save(script.model_copy(update={"source": "pass"}))
    await service.orchestrator.scripts_changed(None, broadcast=False)
    await service.handle(first, processor=service.new_processor())

    again = service.producer.on("replies")[1]
    assert again.value == answer.value and again.headers["correlation_id"] == "c-e1"
    assert (await service.stores.executions.find_by_script(script.id)).total == runs


async def test_a_mark_in_the_earlier_format_still_answers(service: Service) -> None:
    await service.add("validate_deal", SEED, "before_create")
    request = service.record("before_create", 500_000, event_id="e9", offset=3)
    stored = {"outcome": "rejected", "reason": "from the store", "script": "old", "event_id": "e9"}
    await service.stores.processed.mark_many({request_key("before:", request): stored})
    await service.stores.processed.set_watermark("alloy-scripting:entity.before_create:0", 100)

    await service.handle(request)

    [reply] = service.producer.on("replies")
    outcome = json.loads(reply.value)
    assert outcome["outcome"] == "rejected" and outcome["reason"] == "from the store"


async def test_the_same_request_twice_in_a_batch_runs_once_and_is_answered_twice(
    service: Service,
) -> None:
    script = await service.add("validate_deal", SEED, "before_create")
    await service.handle(
        service.record("before_create", 50, event_id="e1"),
        service.record("before_create", 50, event_id="e1"),
    )
    replies = service.producer.on("replies")
    assert len(replies) == 2 and replies[0].value == replies[1].value
    assert (await service.stores.executions.find_by_script(script.id)).total == 1


async def test_an_event_seen_again_before_its_mark_is_written_has_no_second_effects(
    service: Service,
) -> None:
    await service.add("notify", 'emit("deal.created", {"id": "d1"})', "after_create")
    gate = asyncio.Event()
    processed = service.stores.processed
    original = processed.mark_many

    async def slow_mark_many(entries: Any, **kwargs: Any) -> None:
        await gate.wait()
        await original(entries, **kwargs)

    processed.mark_many = slow_mark_many  # type: ignore[method-assign]
    finish_first = await service.processor.handle_batch(
        [service.record("after_create", 1, event_id="a1")]
    )
    first_marks = asyncio.create_task(finish_first())
    await asyncio.sleep(0.01)
    # The domain service's outbox sends the event again; the first batch is not marked yet.
    finish_second = await service.processor.handle_batch(
        [service.record("after_create", 1, event_id="a1")]
    )
    gate.set()
    await asyncio.gather(first_marks, finish_second())

    effects = service.producer.on(service.topics.effects)
    assert len(effects) == 1 and json.loads(effects[0].value)["event_type"] == "deal.created"
    marked = request_key("effects:", service.record("after_create", 1, event_id="a1", offset=0))
    assert await processed.get(marked) is not None


async def test_a_reply_topic_that_refuses_the_answer_dead_letters_the_request(
    service: Service,
) -> None:
    await service.add("validate_deal", SEED, "before_create")
    service.producer.refusing.add("replies")
    request = service.record("before_create", 500_000, event_id="e1")
    await service.handle(request)  # the batch still finishes: the partition is not held

    [dead] = service.producer.on(service.topics.dlq)
    assert dead.value == request.value
    assert dead.headers["x-error-type"] == "reply_failed"
    assert dead.headers["x-source-offset"] == str(request.offset)


async def test_an_undecodable_request_gets_an_error_answer_and_a_dead_letter(
    service: Service,
) -> None:
    garbage = Record("entity.before_create", 0, 0, b"k", b"{not json", [("reply_to", b"replies")])
    await service.handle(garbage)
    [reply] = service.producer.on("replies")
    assert json.loads(reply.value)["outcome"] == "error"
    [dead] = service.producer.on(service.topics.dlq)
    assert dead.value == b"{not json" and dead.headers["x-source-topic"] == "entity.before_create"


async def test_a_request_is_a_consumer_span_continuing_the_callers_trace(
    service: Service, spans: Any
) -> None:
    await service.add("validate_deal", SEED, "before_create")
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    request = service.record("before_create", 500_000, event_id="e1")
    request.headers.append(("traceparent", f"00-{trace_id}-00f067aa0ba902b7-01".encode()))
    await service.handle(request)

    finished = {s.name: s for s in spans.get_finished_spans()}
    consumer = finished["entity.before_create process"]
    assert format(consumer.context.trace_id, "032x") == trace_id
    assert consumer.kind is SpanKind.CONSUMER
    assert consumer.attributes["messaging.message.id"] == "e1"
    run = finished["script.execute"]
    assert run.parent is not None and run.parent.span_id == consumer.context.span_id


async def test_another_event_reusing_an_event_id_is_run_not_answered_from_memory(
    service: Service,
) -> None:
    """A client bug (one id for two requests) must not let the second skip validation."""
    await service.add("validate_deal", SEED, "before_create")
    await service.handle(service.record("before_create", 500, event_id="same"))
    await service.handle(service.record("before_create", 5, event_id="same"))
    first, second = (json.loads(r.value) for r in service.producer.on("replies"))
    assert first["outcome"] == "continue"
    assert second["outcome"] == "rejected"


async def test_after_events_reusing_an_event_id_both_have_their_effects(service: Service) -> None:
    await service.add(
        "notify", 'emit("deal.changed", {"amount": entity["amount"]})', "after_create"
    )
    await service.handle(service.record("after_create", 1, event_id="same"))
    await service.handle(service.record("after_create", 2, event_id="same"))
    await service.handle(service.record("after_create", 2, event_id="same"))  # a resend
    payloads = [json.loads(r.value)["payload"] for r in service.producer.on(service.topics.effects)]
    assert payloads == [{"amount": 1}, {"amount": 2}]


async def test_a_request_with_reply_to_but_no_correlation_id_is_refused(service: Service) -> None:
    await service.add("validate_deal", SEED, "before_create")
    request = service.record("before_create", 500, event_id="e1")
    request.headers = [("reply_to", b"replies")]
    await service.handle(request)
    [reply] = service.producer.on("replies")
    assert json.loads(reply.value)["outcome"] == "error"
    [dead] = service.producer.on(service.topics.dlq)
    assert dead.headers["x-error-type"] == "missing_correlation_id"


@pytest.mark.parametrize(
    "own",
    [
        "alloy.effects",
        "alloy.executions",
        "alloy.dlq",
        "entity.after_create",
        "alloy.scripts.changed",
    ],
)
async def test_a_reply_to_naming_a_service_topic_is_never_answered_there(
    service: Service, own: str
) -> None:
    await service.add("validate_deal", SEED, "before_create")
    request = service.record("before_create", 500, event_id="e1")
    request.headers = [("reply_to", own.encode()), ("correlation_id", b"c1")]
    await service.handle(request)
    assert [s.topic for s in service.producer.sent] == [service.topics.dlq]
    [dead] = service.producer.on(service.topics.dlq)
    assert dead.headers["x-error-type"] == "invalid_reply_to" and own in dead.headers["x-error"]


async def test_non_finite_numbers_in_event_data_are_refused(service: Service) -> None:
    await service.add("reader", 'x = entity["v"]', "before_create")
    request = service.record("before_create", 1, event_id="e1")
    request.value = (
        b'{"event_id": "e1", "entity_type": "deal", "entity_id": "d1", '
        b'"event": "before_create", "data": {"v": NaN}}'
    )
    await service.handle(request)
    [reply] = service.producer.on("replies")
    outcome = json.loads(reply.value)
    assert outcome["outcome"] == "error" and "finite" in outcome["error"]


async def test_the_same_event_sent_again_later_gets_the_remembered_answer(
    service: Service,
) -> None:
    """A resend carries a new send time: it is still the same event."""
    script = await service.add("validate_deal", SEED, "before_create")
    first = service.record("before_create", 50, event_id="e1")
    body = json.loads(first.value or b"")
    await service.handle(first)
    again = service.record("before_create", 50, event_id="e1")
    again.value = json.dumps({**body, "occurred_at": "2030-01-01T00:00:00Z"}).encode()
    await service.handle(again)
    replies = service.producer.on("replies")
    assert replies[0].value == replies[1].value
    assert (await service.stores.executions.find_by_script(script.id)).total == 1


async def test_a_before_request_without_reply_to_is_dead_lettered_not_run(
    service: Service,
) -> None:
    script = await service.add("validate_deal", SEED, "before_create")
    request = service.record("before_create", 500, event_id="e1")
    request.headers = [("correlation_id", b"c1")]
    await service.handle(request)
    [dead] = service.producer.on(service.topics.dlq)
    assert dead.headers["x-error-type"] == "missing_reply_to"
    assert (await service.stores.executions.find_by_script(script.id)).total == 0


async def test_a_hook_lately_slower_than_the_hold_is_not_waited_for(service: Service) -> None:
    """A batch holds `hold` seconds for its scripts; a hook that outlasted the hold last time
    runs behind at once, so the requests fetched after it are not held up by it."""
    await service.add("validate_deal", SEED, "before_create")
    gate = asyncio.Event()
    run_before = service.orchestrator.before

    async def gated_before(*args: Any, **kwargs: Any) -> Any:
        await gate.wait()  # a run in a worker: the loop is free meanwhile
        return await run_before(*args, **kwargs)

    service.orchestrator.before = gated_before  # type: ignore[method-assign]
    processor = service.processor
    processor.hold = 0.05
    first = await processor.handle_batch([service.record("before_create", 500, event_id="e1")])
    await asyncio.sleep(0.1)  # past the hold: the run is slow
    gate.set()
    await first()
    gate.clear()

    processor.hold = 10.0  # were the batch held, handle_batch would take 10 s
    second = await asyncio.wait_for(
        processor.handle_batch([service.record("before_create", 500, event_id="e2")]), 5
    )
    assert not service.producer.on("replies")[1:]  # e2 still running, behind
    gate.set()
    await second()
    assert len(service.producer.on("replies")) == 2


def test_hook_pace_forgets_slowness_once_a_hook_is_fast_again_and_stays_bounded() -> None:
    from alloy_scripting.messaging.pace import HookPace

    pace = HookPace(slow_after=0.01, size=2)

    def event(tenant: str) -> EntityEvent:
        return EntityEvent(
            tenant_id=tenant, entity_type="deal", entity_id="d", event=EventType.BEFORE_CREATE
        )

    assert not pace.is_slow(event("a"))  # unknown: fast
    pace.observe(event("a"), 0.5)
    assert pace.is_slow(event("a")) and not pace.is_slow(event("b"))
    pace.observe(event("a"), 0.001)
    assert not pace.is_slow(event("a"))
    pace.observe(event("a"), 0.5)
    pace.observe(event("b"), 0.5)
    pace.observe(event("c"), 0.5)  # the least recently seen ("a") is forgotten
    assert not pace.is_slow(event("a")) and pace.is_slow(event("c"))


async def test_keys_running_behind_bound_the_next_batch_and_every_waiter_wakes() -> None:
    from alloy_scripting.messaging.processor import _Behind

    loop = asyncio.get_running_loop()
    behind = _Behind()
    running = [loop.create_future() for _ in range(3)]
    for task in running:
        behind.add(task)
    first = asyncio.ensure_future(behind.below(2))
    second = asyncio.ensure_future(behind.below(3))
    await asyncio.sleep(0)
    assert not first.done() and not second.done()
    running[0].set_result(None)  # two left: room below 3, not below 2
    await asyncio.wait_for(second, 1)
    assert not first.done()
    running[1].set_result(None)
    await asyncio.wait_for(first, 1)
    assert len(behind) == 1
    await behind.below(2)  # room already: returns at once
