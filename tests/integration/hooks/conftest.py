"""An in-process alloy-scripting Kafka edge per test, on fresh topics and a fresh database."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from alloy_scripting.client.kafka import HookClient
from alloy_scripting.messaging.edge import KafkaEdge
from alloy_scripting.messaging.wiring import wire_service
from alloy_scripting.model import EventType
from alloy_scripting.model.script import Event, Script
from alloy_scripting.runner.service import Runtime
from alloy_scripting.settings import Settings
from alloy_scripting.storage.mongo import MongoStores


@dataclass
class Service:
    settings: Settings
    runtime: Runtime
    edge: KafkaEdge
    stores: MongoStores

    async def add_script(
        self, name: str, source: str, entity_type: str, event: EventType | str, **kwargs: Any
    ) -> Script:
        script = Script.new(name, source, Event(entity_type, EventType(event)), **kwargs).activate()
        saved = await self.stores.scripts.for_tenant(kwargs.get("tenant_id")).save(script)
        await self.runtime.orchestrator.scripts_changed(saved.tenant_id)
        return saved

    def client(self, **kwargs: Any) -> HookClient:
        return HookClient(
            self.settings.kafka_bootstrap,
            topic_prefix=self.settings.topic_prefix,
            timeout=30,
            **kwargs,
        )


def make_settings(kafka_bootstrap: str, mongodb_url: str, name: str) -> Settings:
    return Settings(
        kafka_bootstrap=kafka_bootstrap,
        mongodb_url=mongodb_url,
        mongodb_database=f"t_{name}",
        topic_prefix=f"t{name}.",
        consumer_group=f"alloy-{name}",
        topic_partitions=3,
    )


async def start_service(settings: Settings, mongo_db: Any, **edge_options: Any) -> Service:
    stores = MongoStores(mongo_db, failure_threshold=settings.failure_threshold)
    await stores.ensure_indexes()
    edge = wire_service(settings, stores, **edge_options)
    await edge.start()
    return Service(settings, edge.runtime, edge, stores)


@pytest.fixture
async def service(
    kafka_bootstrap: str, mongodb_url: str, mongo_db: Any, unique_name: str
) -> AsyncIterator[Service]:
    settings = make_settings(kafka_bootstrap, mongodb_url, unique_name)
    svc = await start_service(settings, mongo_db)
    try:
        yield svc
    finally:
        await svc.edge.stop()


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    count: int,
    timeout: float = 30.0,
    predicate: Callable[[Any], bool] | None = None,
) -> list[Any]:
    """Read `count` records of `topic` from the beginning (without a group)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[Any] = []
    try:
        async with asyncio.timeout(timeout):
            while len(found) < count:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        if predicate is None or predicate(record):
                            found.append(record)
    finally:
        await consumer.stop()
    return found


async def read_until_quiet(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[Any], bool],
    quiet: float = 1.5,
    timeout: float = 30.0,
) -> list[Any]:
    """Every record of `topic` from the beginning (without a group), read until a record
    matching `until` (a marker sent after the records under test) has arrived and then no
    further record for `quiet` seconds. A negative check ("no duplicate") waits on the
    marker, a positive signal, and still counts a record that arrives after it."""
    loop = asyncio.get_running_loop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[Any] = []
    marked = False
    last = loop.time()
    try:
        async with asyncio.timeout(timeout):
            while not (marked and loop.time() - last >= quiet):
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        found.append(record)
                        marked = marked or until(record)
                        last = loop.time()
    finally:
        await consumer.stop()
    return found


def json_value(record: Any) -> Any:
    return json.loads(record.value)


async def seed_database(mongo_db: Any, source: str) -> Script:
    """A database with indexes and one active before_create script for `deal`."""
    stores = MongoStores(mongo_db)
    await stores.ensure_indexes()
    script = Script.new("validate_deal", source, Event("deal", EventType.BEFORE_CREATE)).activate()
    await stores.scripts.save(script)
    return script


def service_env(
    kafka_bootstrap: str, mongodb_url: str, mongo_db: Any, unique_name: str, **extra: str
) -> dict[str, str]:
    """The environment of a service process on this test's topics and database."""
    return {
        **os.environ,
        "ALLOY_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "ALLOY_MONGODB_URL": mongodb_url,
        "ALLOY_MONGODB_DATABASE": mongo_db.name,
        "ALLOY_TOPIC_PREFIX": f"t{unique_name}.",
        "ALLOY_CONSUMER_GROUP": f"alloy-{unique_name}",
        **extra,
    }


def serve_env(
    kafka_bootstrap: str,
    mongodb_url: str,
    mongo_db: Any,
    unique_name: str,
    port: int,
    **extra: str,
) -> dict[str, str]:
    """`service_env` for an `alloy-scripting serve` process on 127.0.0.1:`port`, without
    the scheduler (unless `extra` says otherwise)."""
    return service_env(
        kafka_bootstrap,
        mongodb_url,
        mongo_db,
        unique_name,
        **{
            "ALLOY_HTTP_HOST": "127.0.0.1",
            "ALLOY_HTTP_PORT": str(port),
            "ALLOY_SCHEDULER_ENABLED": "false",
            **extra,
        },
    )
