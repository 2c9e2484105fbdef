"""The Kafka edge: a FastStream broker whose subscribers feed `HookProcessor`.

`KafkaEdge(settings)` declares every channel (so the AsyncAPI document can be generated
without connecting anywhere); `attach(runtime)` wires the handlers to a running service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.specification import AsyncAPI

from alloy_scripting import __version__
from alloy_scripting.messaging.hooks import HookProcessor
from alloy_scripting.messaging.topics import Topics
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.hooks import ScriptsChanged, SideEffect
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
    """Keep the bytes: decoding happens once, in `codec.decode`, per record."""
    return msg.body


class KafkaEdge:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)
        self.broker = KafkaBroker(
            settings.kafka_bootstrap,
            acks="all",
            client_id="alloy-scripting",
            # A reply topic that never appears must not hold a batch for aiokafka's default 40 s.
            request_timeout_ms=10_000,
            description="The Kafka cluster shared with the domain services.",
            graceful_timeout=30.0,
            logger=logging.getLogger("alloy.kafka"),
            log_level=logging.DEBUG,
            # Spans per batch and per publish, continuing the producer's trace. (FastStream's
            # Prometheus middleware is left out: it labels publishes by destination, and every
            # HookClient has its own reply topic, so its series would grow without bound.)
            middlewares=(KafkaTelemetryMiddleware(),),
        )
        self.processor: HookProcessor | None = None
        self.runtime: Runtime | None = None
        self._declare()

    # -- declaration ------------------------------------------------------------------

    def _batch_subscriber(self, topics: list[str], title: str, description: str) -> BatchSubscriber:
        """A consumer-group subscriber handing raw record batches to `HookProcessor`.

        Offsets are committed after the handler returns (everything it produced is
        durable by then); an exception rewinds the batch for redelivery.
        """
        s = self.settings
        return self.broker.subscriber(
            *topics,
            group_id=s.consumer_group,
            batch=True,
            max_records=s.hook_batch_size,
            batch_timeout_ms=s.hook_batch_timeout_ms,
            fetch_max_wait_ms=s.hook_fetch_wait_ms,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            decoder=_raw_body,
            no_reply=True,
            title=title,
            description=description,
        )

    def _declare(self) -> None:
        before = self._batch_subscriber(
            self.topics.before,
            "BeforeHooks",
            "Before-hook requests (`EntityEvent`). Headers: `reply_to` (topic for the "
            "answer), `correlation_id`. Answer: a `HookOutcome` on `reply_to`.",
        )
        effects = self._batch_subscriber(
            self.topics.after_and_on_commit,
            "AfterHooks",
            "After and on-commit events (`EntityEvent`); scripts run once per `event_id`.",
        )
        changed = self.broker.subscriber(
            self.topics.scripts_changed,
            group_id=None,
            auto_offset_reset="latest",
            title="ScriptsChanged",
            description="Broadcast to every instance: drop cached trigger lookups.",
        )

        @before
        async def on_before(msg: KafkaMessage) -> None:
            await self._processor().handle_batch(msg.raw_message)

        @effects
        async def on_effects(msg: KafkaMessage) -> None:
            await self._processor().handle_batch(msg.raw_message)

        @changed
        async def on_scripts_changed(body: ScriptsChanged) -> None:
            if self.runtime is not None and body.origin != self.runtime.instance_id:
                await self.runtime.orchestrator.scripts_changed(body.tenant_id, broadcast=False)

        self.effects_publisher = self.broker.publisher(
            self.topics.effects,
            schema=SideEffect,
            title="Effects",
            description="Side-effect intents of successful scripts; `event_id` is deterministic.",
        )
        self.executions_publisher = self.broker.publisher(
            self.topics.executions,
            schema=ExecutionRecord,
            title="Executions",
            description="One `ExecutionRecord` per script run.",
        )
        self.dlq_publisher = self.broker.publisher(
            self.topics.dlq,
            schema=bytes,
            title="DeadLetters",
            description=(
                "Undecodable or invalid records, value unchanged. Headers: `x-error-type`, "
                "`x-error`, `x-source-topic`, `x-source-partition`, `x-source-offset`."
            ),
        )
        self.changed_publisher = self.broker.publisher(
            self.topics.scripts_changed,
            schema=ScriptsChanged,
            title="ScriptsChangedBroadcast",
            include_in_schema=False,
        )

    def _processor(self) -> HookProcessor:
        if self.processor is None:
            raise RuntimeError("KafkaEdge.attach(runtime) was not called")
        return self.processor

    def specification(self) -> AsyncAPI:
        return AsyncAPI(
            self.broker,
            title="alloy-scripting",
            version=__version__,
            description=DESCRIPTION,
            schema_version="3.0.0",
        )

    def faststream_app(self) -> FastStream:
        return FastStream(self.broker, specification=self.specification())

    # -- wiring -------------------------------------------------------------------------

    def attach(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.processor = HookProcessor(
            runtime.orchestrator,
            runtime.stores.processed,
            self.publish,
            self.topics,
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
        await self.broker.publish(
            value,
            topic=topic,
            key=key,
            headers=headers,
            correlation_id=headers.get("correlation_id"),
        )

    async def publish_executions(self, records: list[ExecutionRecord]) -> None:
        await asyncio.gather(
            *(
                self.publish(
                    self.topics.executions,
                    record.model_dump_json().encode(),
                    key=record.script_id.encode(),
                    headers={"content-type": "application/json"},
                )
                for record in records
            )
        )

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

    async def stop(self) -> None:
        """Drain: finish and commit the batches in hand, write the execution records they
        produced (published on `alloy.executions` while the producer is still up), close."""
        await asyncio.gather(*(subscriber.stop() for subscriber in self.broker.subscribers))
        log = self.runtime.orchestrator.execution_log if self.runtime is not None else None
        if isinstance(log, BufferedExecutionLog):
            try:
                await log.flush()
            except Exception:
                logger.exception("could not write the last execution records")
        await self.broker.stop()
