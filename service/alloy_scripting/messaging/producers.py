"""Everything the service sends to Kafka: hook replies, side effects, dead letters, execution
records and script-change broadcasts, through two aiokafka producers.

The main producer carries replies, effects and dead letters (latency matters); execution
records go through a bulk producer of their own, so that hundreds of them never delay a
reply. Reply topics are the requesters' own: the main producer stops tracking
one's metadata once it was unused for `reply_topic_idle` seconds (see `_forget_idle`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from opentelemetry import propagate

from alloy_scripting import telemetry
from alloy_scripting.messaging.codec import JSON_HEADERS, encode
from alloy_scripting.messaging.topics import Topics
from alloy_scripting.model.events import ScriptsChanged, SideEffect
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.settings import Settings


class Publisher(Protocol):
    """Sends one record and returns once Kafka acknowledged it."""

    async def __call__(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: dict[str, str]
    ) -> None: ...


class Enqueuer(Protocol):
    """Hands a record to the producer; the returned future resolves once it is durable."""

    async def __call__(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: dict[str, str]
    ) -> asyncio.Future[Any]: ...


async def publish_effects(publish: Publisher, topic: str, effects: Sequence[SideEffect]) -> None:
    """Publish side-effect intents to `alloy.effects`, keyed by their deterministic id."""
    await asyncio.gather(
        *(
            publish(
                topic,
                encode(effect),
                key=effect.event_id.encode(),
                headers={**JSON_HEADERS, "event_id": effect.event_id},
            )
            for effect in effects
        )
    )


class Producers:
    def __init__(
        self, settings: Settings, topics: Topics, *, reply_topic_idle: float = 10.0
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.reply_topic_idle = reply_topic_idle
        self.producer: AIOKafkaProducer | None = None
        self.bulk_producer: AIOKafkaProducer | None = None
        self._own_topics = frozenset(topics.all)
        self._answered: dict[str, float] = {}  # reply topic -> when last answered on
        self._pruner: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.producer = self._producer(
            "alloy-scripting",
            # A reply topic that never appears must not hold a batch for aiokafka's 40 s.
            request_timeout_ms=10_000,
            # aiokafka keeps one open batch per partition and makes further sends wait for it
            # to drain: with its 16 KiB default a burst of answers or effects on one
            # partition queues for many round trips (and past the timeout above).
            max_batch_size=512 * 1024,
        )
        self.bulk_producer = self._producer(
            "alloy-scripting-records", linger_ms=20, max_batch_size=1024 * 1024
        )
        await self.producer.start()
        await self.bulk_producer.start()
        # Track the service's topics from the start: later prunings then only ever remove.
        await self.producer.client.set_topics(sorted(self._own_topics))
        self._pruner = asyncio.create_task(self._forget_idle())

    def _producer(self, client_id: str, **tuning: Any) -> AIOKafkaProducer:
        """A producer of the service's cluster that waits for every in-sync replica."""
        return AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            client_id=client_id,
            acks="all",
            **tuning,
        )

    async def stop(self) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
            self._pruner = None
        for producer in (self.producer, self.bulk_producer):
            if producer is not None:
                await producer.stop()
        self.producer = self.bulk_producer = None

    async def publish(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: dict[str, str]
    ) -> None:
        """Send one record and wait until Kafka acknowledged it (acks=all)."""
        await (await self._enqueue(self.producer, topic, value, key, headers))

    async def enqueue(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: dict[str, str]
    ) -> asyncio.Future[Any]:
        """Hand one record to the producer; the future resolves once Kafka acknowledged it.

        A topic the producer has no metadata for (a new requester's reply topic, or one that
        does not exist) may take up to the request timeout to resolve: that send goes on in
        a task of its own rather than holding the caller."""
        producer = self.producer
        if topic not in self._own_topics:
            self._answered[topic] = time.monotonic()
            if producer is not None and producer.client.cluster.partitions_for_topic(topic) is None:
                return asyncio.ensure_future(self.publish(topic, value, key=key, headers=headers))
        return await self._enqueue(producer, topic, value, key, headers)

    async def publish_effects(self, effects: Sequence[SideEffect]) -> None:
        await publish_effects(self.publish, self.topics.effects, effects)

    async def publish_executions(self, records: list[ExecutionRecord]) -> None:
        """Publish execution records to `alloy.executions` and wait for Kafka's
        acknowledgements. Key and `record_id` header are the record's id (a redelivered
        hook's record comes again with the same id: consumers de-duplicate by it). They go
        through their own producer: a batch's books send them by the hundred, and hook
        replies must not queue behind them."""
        topic, producer = self.topics.executions, self.bulk_producer
        deliveries = [
            await self._enqueue(
                producer, topic, record.model_dump_json().encode(), record.id.encode(),
                {**JSON_HEADERS, "record_id": record.id},
            )
            for record in records
        ]  # fmt: skip
        await asyncio.gather(*deliveries)

    async def broadcast_change(self, tenant_id: str | None, *, origin: str) -> None:
        message = ScriptsChanged(tenant_id=tenant_id, origin=origin)
        await self.publish(self.topics.scripts_changed, encode(message), headers=JSON_HEADERS)

    async def _forget_idle(self) -> None:
        """Stop tracking the metadata of reply topics unused for `reply_topic_idle` seconds.
        The producer otherwise asks the broker about every topic it ever answered on,
        forever, and a broker with topic auto-creation on re-creates a closed client's
        deleted reply topic at each such request."""
        while True:
            await asyncio.sleep(self.reply_topic_idle / 2)
            cutoff = time.monotonic() - self.reply_topic_idle
            for topic in [t for t, at in self._answered.items() if at < cutoff]:
                del self._answered[topic]
            if self.producer is not None:
                self.producer.client.set_topics(sorted(self._own_topics | self._answered.keys()))

    @staticmethod
    async def _enqueue(
        producer: AIOKafkaProducer | None,
        topic: str,
        value: bytes,
        key: bytes | None,
        headers: dict[str, str],
    ) -> asyncio.Future[Any]:
        if producer is None:
            raise RuntimeError("the Kafka producers are not started")
        if telemetry.tracing_active() and not telemetry.KAFKA_INSTRUMENTED:
            headers = dict(headers)
            propagate.inject(headers)  # the consumer's spans continue this trace
        delivery: asyncio.Future[Any] = await producer.send(
            topic,
            value,
            key=key,
            headers=[(name, item.encode()) for name, item in headers.items()],
        )
        return delivery
