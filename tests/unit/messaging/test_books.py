"""A batch's books: execution records are durable (stored and published) before its
processed-event marks, a failed record write fails the finish step, and a redelivery
writes no second record (ids derive from the request). In-memory stores; the same paths
run against the real Kafka and FerretDB, with the process killed, in
tests/integration/hooks/test_crash_records.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alloy_scripting.model.enums import ExecutionStatus
from alloy_scripting.model.execution import ExecutionRecord, derive_record_id

from .test_hook_processor import SEED, Service, request_key


class Books:
    """Watches the service's books: every record write, record publication and mark
    write, in order; `failing` makes the next record writes (or publications) raise."""

    def __init__(self, service: Service) -> None:
        self.events: list[tuple[str, list[str]]] = []
        self.published: list[ExecutionRecord] = []
        self.failing: set[str] = set()
        log, processed = service.stores.executions, service.stores.processed
        append_many, mark_many = log.append_many, processed.mark_many

        async def store(records: list[ExecutionRecord]) -> None:
            if "store" in self.failing:
                raise ConnectionError("MongoDB went away")
            await append_many(records)
            self.events.append(("records", [r.id for r in records]))

        async def publish(records: list[ExecutionRecord]) -> None:
            if "publish" in self.failing:
                raise ConnectionError("Kafka went away")
            self.published.extend(records)
            self.events.append(("published", [r.id for r in records]))

        async def mark(entries: Any, **kwargs: Any) -> None:
            await mark_many(entries, **kwargs)
            self.events.append(("marks", list(entries)))

        log.append_many = store  # type: ignore[method-assign]
        processed.mark_many = mark  # type: ignore[method-assign]
        service.orchestrator.records.listeners.append(publish)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]


@pytest.fixture
def service() -> Service:
    return Service()


@pytest.fixture
def books(service: Service) -> Books:
    return Books(service)


async def records_of(service: Service, script_id: str) -> list[ExecutionRecord]:
    return (await service.stores.executions.find_by_script(script_id)).items


async def test_records_are_stored_and_published_before_the_mark(
    service: Service, books: Books
) -> None:
    script = await service.add("validate_deal", SEED, "before_create")
    request = service.record("before_create", 50, event_id="e1")
    await service.handle(request)

    key = request_key("before:", request)
    record_id = derive_record_id(key, script.id)
    assert sorted(books.kinds()[:2]) == ["published", "records"]
    assert books.events[2] == ("marks", [key])
    assert all(ids == [record_id] for kind, ids in books.events if kind != "marks")
    [record] = await records_of(service, script.id)
    assert record.id == record_id and record.status is ExecutionStatus.ABORTED
    assert record.reason == "Minimum deal amount is 100" and not record.recovered
    assert [r.id for r in books.published] == [record_id]


@pytest.mark.parametrize("failing", ["store", "publish"])
async def test_a_failed_record_write_fails_the_finish_step_and_writes_no_mark(
    service: Service, books: Books, failing: str
) -> None:
    script = await service.add("validate_deal", SEED, "before_create")
    request = service.record("before_create", 50, event_id="e1", offset=0)
    books.failing.add(failing)
    finish = await service.processor.handle_batch([request])
    with pytest.raises(ConnectionError):
        await finish()  # the consumer commits nothing and rewinds: the batch comes again
    key = request_key("before:", request)
    assert await service.stores.processed.get(key) is None
    assert "marks" not in books.kinds()

    # The redelivery (same instance: answered from memory, the script does not run again)
    # writes the records of the first run, then the mark.
    books.failing.clear()
    await service.handle(request)
    [record] = await records_of(service, script.id)
    assert record.id == derive_record_id(key, script.id)
    assert record.id in {r.id for r in books.published}
    assert books.kinds()[-1] == "marks"
    assert (await service.stores.processed.get(key) or {}).get("recorded") is True
    replies = service.producer.on("replies")
    assert len(replies) == 2 and replies[0].value == replies[1].value


async def test_a_redelivery_that_runs_again_elsewhere_writes_no_second_record(
    service: Service, books: Books
) -> None:
    script = await service.add("validate_deal", SEED, "before_create")
    request = service.record("before_create", 500_000, event_id="e2", offset=4)
    first = service.processor
    finish = await first.handle_batch([request])
    books.failing.add("publish")  # stored in MongoDB, not acknowledged by Kafka: no mark
    with pytest.raises(ConnectionError):
        await finish()
    assert len(await records_of(service, script.id)) == 1

    # Another instance gets the record again: no mark, so it runs again, with the same ids.
    books.failing.clear()
    await service.handle(request, processor=service.new_processor())
    [record] = await records_of(service, script.id)
    assert record.id == derive_record_id(request_key("before:", request), script.id)
    assert [r.id for r in books.published] == [record.id]
    assert books.kinds()[-1] == "marks"


async def test_after_hook_records_are_written_before_the_mark(
    service: Service, books: Books
) -> None:
    script = await service.add("notify", 'emit("deal.created", {"id": "d1"})', "after_create")
    event = service.record("after_create", 1, event_id="a1")
    await service.handle(event)
    key = request_key("effects:", event)
    [record] = await records_of(service, script.id)
    assert record.id == derive_record_id(key, script.id)
    assert books.kinds()[-1] == "marks" and books.events[-1][1] == [key]
    assert "records" in books.kinds()[:-1] and "published" in books.kinds()[:-1]

    # A redelivery that runs again (its mark lost with a failed batch) has the same id.
    await service.stores.processed.release(key)
    await service.handle(event, processor=service.new_processor())
    assert [r.id for r in await records_of(service, script.id)] == [record.id]


async def test_a_mark_of_the_earlier_version_gets_its_missing_records_recovered(
    service: Service, books: Books
) -> None:
    script = await service.add("validate_deal", SEED, "before_create")
    request = service.record("before_create", 50, event_id="e7", offset=3)
    key = request_key("before:", request)
    sent = {
        "outcome": "rejected",
        "reason": "Minimum deal amount is 100",
        "script": "validate_deal",
        "event_id": "e7",
        "executed": [
            {
                "name": "validate_deal",
                "script_id": script.id,
                "version": 1,
                "status": "aborted",
                "duration_ms": 0.25,
            }
        ],
    }
    # The earlier version's mark: the answer as sent, records written behind (and lost).
    await service.stores.processed.mark_many({key: {"reply": json.dumps(sent).encode()}})
    await service.stores.processed.set_watermark("alloy-scripting:entity.before_create:0", 100)

    await service.handle(request)

    [reply] = service.producer.on("replies")
    assert json.loads(reply.value)["reason"] == "Minimum deal amount is 100"
    [record] = await records_of(service, script.id)
    assert record.recovered and record.id == derive_record_id(key, script.id)
    assert record.status is ExecutionStatus.ABORTED and record.reason == sent["reason"]
    assert record.correlation_id == "c-e7" and record.entity_id == "d1"
    assert [r.id for r in books.published] == [record.id]


async def test_recovered_records_whose_write_failed_come_with_the_next_redelivery(
    service: Service, books: Books
) -> None:
    script = await service.add("validate_deal", SEED, "before_create")
    request = service.record("before_create", 500_000, event_id="e6", offset=2)
    key = request_key("before:", request)
    ran = {"name": script.name, "script_id": script.id, "version": 1, "status": "success"}
    sent = {"outcome": "continue", "executed": [{**ran, "duration_ms": 0.5}]}
    await service.stores.processed.mark_many({key: {"reply": json.dumps(sent).encode()}})
    await service.stores.processed.set_watermark("alloy-scripting:entity.before_create:0", 100)
    books.failing.add("store")
    finish = await service.processor.handle_batch([request])
    with pytest.raises(ConnectionError):
        await finish()

    books.failing.clear()
    await service.handle(request)  # answered from memory now: the owed records come along
    [record] = await records_of(service, script.id)
    assert record.recovered and record.id == derive_record_id(key, script.id)
    assert record.status is ExecutionStatus.SUCCESS


async def test_a_mark_written_after_its_records_recovers_nothing(
    service: Service, books: Books
) -> None:
    script = await service.add("validate_deal", SEED, "before_create")
    request = service.record("before_create", 50, event_id="e8", offset=0)
    await service.handle(request)
    [record] = await records_of(service, script.id)
    published = len(books.published)

    await service.handle(request, processor=service.new_processor())  # redelivery elsewhere

    assert await records_of(service, script.id) == [record]
    assert len(books.published) == published  # answered from the mark: nothing rewritten
