"""SIGKILL `alloy-scripting serve` with hundreds of hooks in flight, restart it: every
answered request, and every after/on-commit event, has exactly one execution record in
MongoDB, and `alloy.executions` carries every record id at least once.

The moments of the kill: with the first batches answered and none of their books written
(`ALLOY_TEST_DELAY_RECORDS` holds the books), mid-batch (no pause: killed while replies
stream out), and during the finish step (`ALLOY_TEST_DELAY_MARKS` holds the marks after
the records were written). Each is checked to have been hit before the kill.
"""

from __future__ import annotations

import asyncio
import collections
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from alloy_scripting.client.kafka import HookClient
from alloy_scripting.model import EventType
from alloy_scripting.model.outcomes import Continue, Rejected
from alloy_scripting.model.script import Event, Manual, Script
from alloy_scripting.storage.mongo import MongoStores

from .conftest import seed_database, serve_env
from .test_hooks_kafka import SEED_SCRIPT
from .test_restart import free_port, start_serve, wait_ready

pytestmark = pytest.mark.integration

REQUESTS = 300


class Crash:
    """One `serve` process killed with SIGKILL at a chosen moment, then a fresh one."""

    def __init__(
        self,
        kafka_bootstrap: str,
        mongodb_url: str,
        mongo_db: Any,
        unique_name: str,
        tmp_path: Any,
    ) -> None:
        self.kafka_bootstrap = kafka_bootstrap
        self.db = mongo_db
        self.prefix = f"t{unique_name}."
        self.port = free_port()
        self.env = serve_env(
            kafka_bootstrap,
            mongodb_url,
            mongo_db,
            unique_name,
            self.port,
            ALLOY_AUTH_DISABLED="true",
            ALLOY_HOOK_BATCH_SIZE="32",
        )
        self.log = str(tmp_path / "serve.log")
        self.procs: list[subprocess.Popen[bytes]] = []

    async def start(self, **knobs: str) -> None:
        proc = start_serve({**self.env, **knobs}, self.log)
        self.procs.append(proc)
        await wait_ready(self.port, proc)

    async def kill(self) -> None:
        proc = self.procs[-1]
        proc.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(proc.wait, 30) == -signal.SIGKILL

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()

    async def count(self, collection: str, flt: dict[str, Any] | None = None) -> int:
        return int(await self.db[collection].count_documents(flt or {}))

    async def marks(self, kind: str) -> int:
        return await self.count("processed_events", {"_id": {"$regex": f"^{kind}:"}})

    async def wait_for(
        self, what: str, check: Callable[[], Awaitable[bool]], timeout: float = 90
    ) -> None:
        deadline = time.monotonic() + timeout
        while not await check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def records_by_entity(self) -> tuple[collections.Counter[str], set[str]]:
        """How many execution records each entity has, and every record id."""
        per_entity: collections.Counter[str] = collections.Counter()
        ids = set()
        async for doc in self.db["script_executions"].find({}, {"entity_id": 1}):
            per_entity[doc["entity_id"]] += 1
            ids.add(doc["_id"])
        return per_entity, ids

    async def published_ids(self, expected: set[str], timeout: float = 60) -> set[str]:
        """Record ids on `alloy.executions` (read until `expected` are all there); each
        record's key and `record_id` header are its id."""
        consumer = AIOKafkaConsumer(
            f"{self.prefix}alloy.executions",
            bootstrap_servers=self.kafka_bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        seen: set[str] = set()
        try:
            async with asyncio.timeout(timeout):
                while not expected <= seen:
                    for records in (await consumer.getmany(timeout_ms=500)).values():
                        for record in records:
                            headers = dict(record.headers)
                            record_id = headers["record_id"].decode()
                            assert record.key == record_id.encode()
                            seen.add(record_id)
        except TimeoutError:
            pass
        finally:
            await consumer.stop()
        return seen

    async def assert_one_record_each(self, entities: set[str]) -> None:
        per_entity, ids = await self.records_by_entity()
        assert set(per_entity) == entities, (
            f"{len(entities - set(per_entity))} handled without a record"
        )
        assert set(per_entity.values()) == {1}, f"duplicates: {per_entity.most_common(3)}"
        published = await self.published_ids(ids)
        assert ids <= published, f"{len(ids - published)} records never on alloy.executions"


@pytest.fixture
async def crash(
    kafka_bootstrap: str, mongodb_url: str, mongo_db: Any, unique_name: str, tmp_path: Any
) -> Any:
    c = Crash(kafka_bootstrap, mongodb_url, mongo_db, unique_name, tmp_path)
    try:
        yield c
    finally:
        c.stop_all()


@pytest.mark.parametrize("moment", ["before_the_books", "mid_batch", "during_the_finish_step"])
async def test_sigkill_with_before_requests_in_flight_loses_no_record(
    crash: Crash, mongo_db: Any, moment: str
) -> None:
    await seed_database(mongo_db, SEED_SCRIPT)
    knobs = {
        "before_the_books": {"ALLOY_TEST_DELAY_RECORDS": "30"},
        "mid_batch": {},
        "during_the_finish_step": {"ALLOY_TEST_DELAY_MARKS": "30"},
    }[moment]
    await crash.start(**knobs)
    async with HookClient(
        crash.kafka_bootstrap, topic_prefix=crash.prefix, timeout=180, delete_reply_topic=False
    ) as hooks:
        amounts = [50 if i % 3 == 0 else 250_000 for i in range(REQUESTS)]
        answered = 0
        in_flight = asyncio.Semaphore(64)  # a steady stream: some are always in flight

        async def ask(i: int, amount: int) -> Any:
            nonlocal answered
            async with in_flight:
                outcome = await hooks.before(
                    "deal", "before_create", f"deal-{i}", {"amount": amount}
                )
            answered += 1
            return outcome

        tasks = [asyncio.create_task(ask(i, a)) for i, a in enumerate(amounts)]

        async def answered_at_least(n: int) -> bool:
            return answered >= n

        if moment == "before_the_books":
            await crash.wait_for("100 answers", lambda: answered_at_least(100))
            # Answered, and not one record written yet: the books are held.
            assert await crash.count("script_executions") == 0
        elif moment == "mid_batch":
            await crash.wait_for("150 answers", lambda: answered_at_least(150))
        else:

            async def some_records() -> bool:
                return await crash.count("script_executions") > 0

            await crash.wait_for("the first records", some_records)
            # Records written, their marks held: the kill lands inside the finish step.
            assert await crash.marks("before") == 0
        at_kill = answered
        await crash.kill()
        assert at_kill < REQUESTS, "every request was answered before the kill"
        await crash.start()
        outcomes = await asyncio.gather(*tasks)

    for amount, outcome in zip(amounts, outcomes, strict=True):
        if amount == 50:
            assert isinstance(outcome, Rejected) and outcome.reason == "Minimum deal amount is 100"
        else:
            assert isinstance(outcome, Continue) and outcome.changes == {"status": "needs_approval"}

    async def all_marked() -> bool:  # marks come after their records
        return await crash.marks("before") == REQUESTS

    await crash.wait_for("every mark", all_marked)
    await crash.assert_one_record_each({f"deal-{i}" for i in range(REQUESTS)})


async def test_sigkill_with_after_and_on_commit_events_in_flight_loses_no_record(
    crash: Crash, mongo_db: Any
) -> None:
    stores = MongoStores(mongo_db)
    await stores.ensure_indexes()
    for name, event in (("notify", EventType.AFTER_CREATE), ("audit", EventType.ON_COMMIT_CREATE)):
        source = f'emit("deal.{name}", {{"id": entity["id"]}})'
        await stores.scripts.save(Script.new(name, source, Event("deal", event)).activate())
    await crash.start(ALLOY_TEST_DELAY_MARKS="30")
    entities = {f"deal-{i}" for i in range(REQUESTS)}
    async with HookClient(crash.kafka_bootstrap, topic_prefix=crash.prefix) as hooks:
        for i in range(REQUESTS):
            if i % 2:
                await hooks.after("deal", EventType.AFTER_CREATE, f"deal-{i}", {"id": i})
            else:
                await hooks.on_commit("deal", EventType.ON_COMMIT_CREATE, f"deal-{i}", {"id": i})

    async def some_records() -> bool:
        return await crash.count("script_executions") > 0

    await crash.wait_for("the first records", some_records)
    assert await crash.marks("effects") == 0  # inside the finish step
    await crash.kill()
    await crash.start()

    async def all_marked() -> bool:
        return await crash.marks("effects") == REQUESTS

    await crash.wait_for("every event handled", all_marked)
    await crash.assert_one_record_each(entities)


async def test_a_manual_run_is_recorded_before_its_http_response(
    crash: Crash, mongo_db: Any
) -> None:
    stores = MongoStores(mongo_db)
    await stores.ensure_indexes()
    script = await stores.scripts.save(Script.new("report", 'log("ran")', Manual()).activate())
    await crash.start()
    base = f"http://127.0.0.1:{crash.port}/scripts/{script.id}"
    async with httpx.AsyncClient() as http:
        for n in range(5):
            ran = await http.post(f"{base}/run", json={"params": {"n": n}})
            assert ran.status_code == 200, ran.text
            # Read-your-writes: the very next request finds the record of this run.
            page = (await http.get(f"{base}/executions")).json()
            assert page["total"] == n + 1
    ids = {item["id"] for item in page["items"]}
    assert ids <= await crash.published_ids(ids)
