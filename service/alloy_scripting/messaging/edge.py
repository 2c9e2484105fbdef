"""The Kafka edge: `BatchConsumer`s feeding `HookProcessor`, one producer for every answer.

`KafkaEdge(settings)` describes the whole Kafka surface (so the AsyncAPI document can be
generated without connecting anywhere); `attach(runtime)` wires it to a running service.
The hook topics are consumed by our own `BatchConsumer` loop (it overlaps each batch's
commit with the next batch's work; see `consumer.py`) and answers are sent with a plain
aiokafka producer; the FastStream broker carries the scripts-changed broadcast and the
application lifecycle, and its declarations are the source of the AsyncAPI document.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.specification import AsyncAPI
from opentelemetry import propagate

from alloy_scripting import __version__
from alloy_scripting.messaging.codec import JSON_HEADERS
from alloy_scripting.messaging.consumer import BatchConsumer
from alloy_scripting.messaging.hooks import HookProcessor
from alloy_scripting.messaging.topics import Topics
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.hooks import ScriptsChanged, SideEffect
from alloy_scripting.runner import telemetry
from alloy_scripting.runner.buffered_log import BufferedExecutionLog
from alloy_scripting.runner.runtime import Runtime
from alloy_scripting.settings import Settings

logger = logging.getLogger("alloy.messaging")

DESCRIPTION = """\
Domain services publish entity lifecycle events; alloy-scripting runs the active scripts
bound to (tenant, entity type, event) and answers.

Before-hooks (`entity.before_*`) are request/reply: send the request with headers `reply_to`
(a topic you consume) and `correlation_id`; the `HookOutcome` reply arrives on `reply_to` with
the same `correlation_id` header. After and on-commit events run side effects, published to
`alloy.effects`; every script run is summarised on `alloy.executions`. Records that cannot be
decoded go to `alloy.dlq` (and, when they carried `reply_to`, get an `error` outcome at once).
Record keys are `<entity_type>:<entity_id>`: one entity's events are handled in order.
"""


async def _raw_body(msg: Any) -> Any:
    return msg.body


def _describe_only(broker: KafkaBroker) -> None:
    """Not run: the hook topics are consumed by `BatchConsumer`s."""
    raise RuntimeError("a documentation-only subscriber was started")


class KafkaEdge:
    def __init__(self, settings: Settings, *, reply_topic_idle: float = 10.0) -> None:
        self.settings = settings
        self.reply_topic_idle = reply_topic_idle
        self.topics = Topics(settings.topic_prefix)
        self.broker = self._broker()
        self._declare_changed(self.broker, self._on_scripts_changed)
        self.producer: AIOKafkaProducer | None = None
        self._own_topics = frozenset(self.topics.all)
        self._answered: dict[str, float] = {}  # reply topic -> when last answered on
        self._pruner: asyncio.Task[None] | None = None
        self.bulk_producer: AIOKafkaProducer | None = None
        self.consumers: list[BatchConsumer] = []
        self._stopping: asyncio.Future[Any] | None = None
        self.processor: HookProcessor | None = None
        self.runtime: Runtime | None = None

    # -- declaration ------------------------------------------------------------------

    def _broker(self) -> KafkaBroker:
        return KafkaBroker(
            self.settings.kafka_bootstrap,
            acks="all",
            client_id="alloy-scripting",
            description="The Kafka cluster shared with the domain services.",
            graceful_timeout=30.0,
            logger=logging.getLogger("alloy.kafka"),
            log_level=logging.DEBUG,
        )

    def _declare_changed(self, broker: KafkaBroker, handler: Any) -> None:
        broker.subscriber(
            self.topics.scripts_changed,
            group_id=None,
            auto_offset_reset="latest",
            title="ScriptsChanged",
            description="Broadcast to every instance: drop cached trigger lookups.",
        )(handler)

    async def _on_scripts_changed(self, body: ScriptsChanged) -> None:
        if self.runtime is not None and body.origin != self.runtime.instance_id:
            await self.runtime.orchestrator.scripts_changed(body.tenant_id, broadcast=False)

    def _hook_subscriber(
        self, broker: KafkaBroker, topics: list[str], group: str, title: str, description: str
    ) -> BatchSubscriber:
        """How the hook topics are consumed, as the contract shows it (see `BatchConsumer`)."""
        s = self.settings
        return broker.subscriber(
            *topics,
            group_id=group,
            batch=True,
            max_records=s.hook_batch_size,
            ack_policy=AckPolicy.MANUAL,
            decoder=_raw_body,
            no_reply=True,
            title=title,
            description=description,
        )

    def _hook_groups(self) -> list[tuple[list[str], str]]:
        """The hook topics and their consumer groups: before-hooks, then after/on-commit."""
        group = self.settings.consumer_group
        return [
            (self.topics.before, group),
            (self.topics.after_and_on_commit, f"{group}.effects"),
        ]

    def _describe(self) -> KafkaBroker:
        """A broker declaring the whole Kafka surface, for the AsyncAPI document only."""
        broker = self._broker()
        (before_topics, before_group), (effects_topics, effects_group) = self._hook_groups()
        before = self._hook_subscriber(
            broker,
            before_topics,
            before_group,
            "BeforeHooks",
            "Before-hook requests (`EntityEvent`). Headers: `reply_to` (topic for the "
            "answer), `correlation_id`. Answer: a `HookOutcome` on `reply_to`.",
        )
        effects = self._hook_subscriber(
            broker,
            effects_topics,
            effects_group,
            "AfterHooks",
            "After and on-commit events (`EntityEvent`); scripts run once per `event_id`.",
        )

        @before
        async def on_before(msg: KafkaMessage) -> None:
            _describe_only(broker)

        @effects
        async def on_effects(msg: KafkaMessage) -> None:
            _describe_only(broker)

        self._declare_changed(broker, self._on_scripts_changed)
        broker.publisher(
            self.topics.effects,
            schema=SideEffect,
            title="Effects",
            description="Side-effect intents of successful scripts; `event_id` is deterministic.",
        )
        broker.publisher(
            self.topics.executions,
            schema=ExecutionRecord,
            title="Executions",
            description="One `ExecutionRecord` per script run.",
        )
        broker.publisher(
            self.topics.dlq,
            schema=bytes,
            title="DeadLetters",
            description=(
                "Undecodable or invalid records, value unchanged. Headers: `x-error-type`, "
                "`x-error`, `x-source-topic`, `x-source-partition`, `x-source-offset`."
            ),
        )
        return broker

    def _processor(self) -> HookProcessor:
        if self.processor is None:
            raise RuntimeError("KafkaEdge.attach(runtime) was not called")
        return self.processor

    def specification(self) -> AsyncAPI:
        return AsyncAPI(
            self._describe(),
            title="alloy-scripting",
            version=__version__,
            description=DESCRIPTION,
            schema_version="3.0.0",
        )

    def faststream_app(self) -> FastStream:
        """The FastStream application: its broker plus the hook consumers and producer,
        started after the broker and stopped (drained) before it."""
        app = FastStream(self.broker, specification=self.specification())
        app.after_startup(self.start_hooks)
        app.on_shutdown(self.stop_hooks)
        app.after_shutdown(self.close)
        return app

    # -- wiring -------------------------------------------------------------------------

    def attach(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.processor = HookProcessor(
            runtime.orchestrator,
            runtime.stores.processed,
            self.publish,
            self.topics,
            enqueue=self.enqueue,
            concurrency=self.settings.hook_concurrency,
            processed_ttl_seconds=self.settings.processed_ttl_seconds,
            group=self.settings.consumer_group,
        )
        runtime.orchestrator.change_listeners.append(self.broadcast_change)
        runtime.orchestrator.effects_sink = self.processor.publish_effects
        log = runtime.orchestrator.execution_log
        if isinstance(log, BufferedExecutionLog):
            log.listeners.append(self.publish_executions)
        runtime.health_checks["kafka"] = self.ping

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

    async def _forget_idle_reply_topics(self) -> None:
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

    async def _enqueue(
        self,
        producer: AIOKafkaProducer | None,
        topic: str,
        value: bytes,
        key: bytes | None,
        headers: dict[str, str],
    ) -> asyncio.Future[Any]:
        if producer is None:
            raise RuntimeError("the Kafka edge is not started")
        if telemetry.tracing_active():
            headers = dict(headers)
            propagate.inject(headers)  # the consumer's spans continue this trace
        delivery: asyncio.Future[Any] = await producer.send(
            topic,
            value,
            key=key,
            headers=[(name, item.encode()) for name, item in headers.items()],
        )
        return delivery

    async def publish_executions(self, records: list[ExecutionRecord]) -> None:
        """Execution records go through their own producer: a flush sends them by the
        thousand, and hook replies must not queue behind them."""
        topic, producer = self.topics.executions, self.bulk_producer
        deliveries = [
            await self._enqueue(
                producer, topic, record.model_dump_json().encode(), record.script_id.encode(),
                JSON_HEADERS,
            )
            for record in records
        ]  # fmt: skip
        await asyncio.gather(*deliveries)

    async def broadcast_change(self, tenant_id: str | None) -> None:
        assert self.runtime is not None
        message = ScriptsChanged(tenant_id=tenant_id, origin=self.runtime.instance_id)
        await self.publish(
            self.topics.scripts_changed,
            message.model_dump_json().encode(),
            headers={"content-type": "application/json"},
        )

    async def ping(self) -> bool:
        return await self.broker.ping(timeout=2.0)

    async def ensure_topics(self) -> None:
        """Create the service's topics when missing (works with auto-create off too)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [t for t in self.topics.all if t not in existing]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(
                        [
                            NewTopic(
                                t,
                                num_partitions=self.settings.topic_partitions,
                                replication_factor=1,
                            )
                            for t in missing
                        ]
                    )
        finally:
            await admin.close()

    async def start(self) -> None:
        await self.ensure_topics()
        await self.broker.start()
        await self.start_hooks()

    async def start_hooks(self) -> None:
        """Start the producer, then one consumer for the before-hooks and one for the
        after/on-commit events (so slow side effects never delay a before-hook answer)."""
        s = self.settings
        processor = self._processor()
        self._stopping = None
        self.producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka_bootstrap,
            client_id="alloy-scripting",
            acks="all",
            # A reply topic that never appears must not hold a batch for aiokafka's 40 s.
            request_timeout_ms=10_000,
            # aiokafka keeps one open batch per partition and makes further sends wait for it
            # to drain: with its 16 KiB default a burst of answers or effects on one
            # partition queues for many round trips (and past the timeout above).
            max_batch_size=512 * 1024,
        )
        self.bulk_producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka_bootstrap,
            client_id="alloy-scripting-records",
            acks="all",
            linger_ms=20,
            max_batch_size=1024 * 1024,
        )
        await self.producer.start()
        await self.bulk_producer.start()
        # Track the service's topics from the start: later prunings then only ever remove.
        await self.producer.client.set_topics(sorted(self._own_topics))
        self._pruner = asyncio.create_task(self._forget_idle_reply_topics())
        self.consumers = [
            BatchConsumer(
                topics,
                processor.handle_batch,
                bootstrap=s.kafka_bootstrap,
                group_id=group,
                max_records=s.hook_batch_size,
                fetch_max_wait_ms=s.hook_fetch_wait_ms,
                max_uncommitted=s.hook_max_uncommitted,
            )
            for topics, group in self._hook_groups()
        ]
        for consumer in self.consumers:
            await consumer.start()

    async def stop_hooks(self) -> None:
        """Stop taking hook records: finish and commit the batches in hand, leave the group.
        Safe to call again (and concurrently): every call waits for the one drain."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(
                asyncio.gather(*(consumer.stop() for consumer in self.consumers))
            )
        await asyncio.shield(self._stopping)

    async def close(self) -> None:
        """After `stop_hooks`: write the execution records still buffered (published on
        `alloy.executions` while the producer is up), then close the producer."""
        log = self.runtime.orchestrator.execution_log if self.runtime is not None else None
        if isinstance(log, BufferedExecutionLog):
            try:
                await log.flush()
            except Exception:
                logger.exception("could not write the last execution records")
        if self._pruner is not None:
            self._pruner.cancel()
            self._pruner = None
        for producer in (self.producer, self.bulk_producer):
            if producer is not None:
                await producer.stop()
        self.producer = self.bulk_producer = None
        self.consumers = []

    async def stop(self) -> None:
        await self.stop_hooks()
        await self.close()
        await self.broker.stop()
