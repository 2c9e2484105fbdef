"""The real services answer from Python: Kafka through a consumer group, MongoDB-wire through AsyncMongoClient."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

pytestmark = pytest.mark.integration


async def test_kafka_produce_and_consume_through_a_group(
    kafka_bootstrap: str, unique_name: str
) -> None:
    topic = f"smoke.{unique_name}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(
                topic, f"m{i}".encode(), key=f"k{i % 3}".encode(), headers=[("h", b"v")]
            )
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"smoke-{unique_name}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: list[bytes] = []
    try:
        async with asyncio.timeout(30):
            while len(received) < 10:
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    for record in records:
                        received.append(record.value)
                        assert record.headers == (("h", b"v"),)
        await consumer.commit()
        committed = 0
        for tp in consumer.assignment():
            committed += (await consumer.committed(tp)) or 0
    finally:
        await consumer.stop()
    assert sorted(received) == sorted(f"m{i}".encode() for i in range(10))
    assert committed == 10


async def test_mongo_insert_find_unique_and_atomic_inc(mongo_db: Any) -> None:
    coll = mongo_db["smoke"]
    await coll.create_index([("tenant", 1), ("name", 1)], unique=True)
    await coll.insert_one({"_id": "a", "tenant": "t1", "name": "x", "n": 0})
    assert (await coll.find_one({"name": "x"}))["_id"] == "a"

    with pytest.raises(DuplicateKeyError):
        await coll.insert_one({"_id": "b", "tenant": "t1", "name": "x", "n": 0})
    await coll.insert_one({"_id": "c", "tenant": "t2", "name": "x", "n": 0})

    async def bump() -> int:
        doc = await coll.find_one_and_update(
            {"_id": "a"}, {"$inc": {"n": 1}}, return_document=ReturnDocument.AFTER
        )
        return int(doc["n"])

    seen = await asyncio.gather(*(bump() for _ in range(20)))
    assert sorted(seen) == list(range(1, 21))
    assert (await coll.find_one({"_id": "a"}))["n"] == 20
