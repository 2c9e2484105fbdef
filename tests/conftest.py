"""Shared fixtures: real Kafka and MongoDB-wire services.

Resolution order for each service:
1. `ALLOY_TEST_KAFKA_BOOTSTRAP` / `ALLOY_TEST_MONGODB_URL` (set by `make test` after `scripts/services up`);
2. testcontainers (`KafkaContainer`, `MongoDbContainer`) when a Docker engine answers;
3. a clear failure saying how to start the services. Never a silent skip.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

HOW_TO_START = (
    "no {what} for integration tests: run `scripts/services up` and `eval $(scripts/services env)`, "
    "or set {env}, or start a Docker engine for testcontainers (`make test` does the first for you)"
)


def _docker_answers() -> bool:
    try:
        return (
            subprocess.run(
                ["docker", "info"], capture_output=True, timeout=10, check=False
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    env = os.environ.get("ALLOY_TEST_KAFKA_BOOTSTRAP")
    if env:
        yield env
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.0").with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
        return
    pytest.fail(HOW_TO_START.format(what="Kafka broker", env="ALLOY_TEST_KAFKA_BOOTSTRAP"))


@pytest.fixture(scope="session")
def mongodb_url() -> Iterator[str]:
    env = os.environ.get("ALLOY_TEST_MONGODB_URL")
    if env:
        yield env
        return
    if _docker_answers():
        from testcontainers.mongodb import MongoDbContainer

        with MongoDbContainer("mongo:7") as mongo:
            yield mongo.get_connection_url()
        return
    pytest.fail(HOW_TO_START.format(what="MongoDB-wire server", env="ALLOY_TEST_MONGODB_URL"))


@pytest.fixture(scope="session")
async def mongo_client(mongodb_url: str) -> AsyncIterator[Any]:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongodb_url, tz_aware=True, serverSelectionTimeoutMS=10_000
    )
    yield client
    await client.close()


@pytest.fixture
async def mongo_db(mongo_client: Any) -> AsyncIterator[Any]:
    """A fresh, uniquely named database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    db = mongo_client[name]
    yield db
    await mongo_client.drop_database(name)


@pytest.fixture
def unique_name() -> str:
    """A fresh suffix for topic names, consumer groups, and so on."""
    return uuid.uuid4().hex[:12]


_SPANS: Any = None


@pytest.fixture
def spans() -> Any:
    """An in-memory exporter behind the process's tracer provider (a global that can be set
    only once per process), emptied for each test that asks for it."""
    global _SPANS
    if _SPANS is None:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        _SPANS = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_SPANS))
        trace.set_tracer_provider(provider)
    _SPANS.clear()
    return _SPANS
