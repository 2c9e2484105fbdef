"""The Kafka edge of a running service: hook consumers feeding the `HookProcessor`, the
producers, and the FastStream broker carrying the scripts-changed broadcast.

The hook topics are consumed by our own `BatchConsumer` loop (it overlaps each batch's
commit with the next batch's work; see `consumer.py`); answers are sent by `Producers`.
`wiring.wire_service` builds an edge over a wired `Runtime`.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaBroker

from alloy_scripting.messaging.consumer import BatchConsumer
from alloy_scripting.messaging.contract import declare_scripts_changed, specification
from alloy_scripting.messaging.processor import HookProcessor
from alloy_scripting.messaging.producers import Producers
from alloy_scripting.messaging.topics import ensure_topics, hook_groups
from alloy_scripting.model.events import ScriptsChanged
from alloy_scripting.runner.service import Runtime


class KafkaEdge:
    def __init__(self, runtime: Runtime, producers: Producers, broker: KafkaBroker) -> None:
        settings = runtime.settings
        self.settings = settings
        self.runtime = runtime
        self.producers = producers
        self.topics = producers.topics
        self.broker = broker
        declare_scripts_changed(broker, self.topics, self._on_scripts_changed)
        self.processor = HookProcessor(
            runtime.orchestrator,
            runtime.stores.processed,
            producers.publish,
            self.topics,
            enqueue=producers.enqueue,
            concurrency=settings.hook_concurrency,
            processed_ttl_seconds=settings.processed_ttl_seconds,
            group=settings.consumer_group,
            books_delays=_test_books_delays(),
        )
        self.consumers: list[BatchConsumer] = []
        self._stopping: asyncio.Future[Any] | None = None

    async def _on_scripts_changed(self, body: ScriptsChanged) -> None:
        if body.origin != self.runtime.instance_id:
            await self.runtime.orchestrator.scripts_changed(body.tenant_id, broadcast=False)

    def faststream_app(self) -> FastStream:
        """The FastStream application: its broker plus the hook consumers and producers,
        started after the broker and stopped (drained) before it."""
        app = FastStream(self.broker, specification=specification(self.settings))
        app.after_startup(self.start_hooks)
        app.on_shutdown(self.stop_hooks)
        app.after_shutdown(self.close)
        return app

    async def start(self) -> None:
        await ensure_topics(self.settings, self.topics)
        await self.broker.start()
        await self.start_hooks()

    async def start_hooks(self) -> None:
        """Start the script workers and the producers, then one consumer for the
        before-hooks and one for the after/on-commit events (so slow side effects never
        delay a before-hook answer)."""
        s = self.settings
        self._stopping = None
        await self.runtime.start_workers()
        await self.producers.start()
        self.consumers = [
            BatchConsumer(
                topics,
                self.processor.handle_batch,
                bootstrap=s.kafka_bootstrap,
                group_id=group,
                max_records=s.hook_batch_size,
                fetch_max_wait_ms=s.hook_fetch_wait_ms,
                max_uncommitted=s.hook_max_uncommitted,
            )
            for topics, group in hook_groups(self.topics, s.consumer_group)
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
        """After `stop_hooks`: close the producers and stop the script workers."""
        await self.producers.stop()
        self.consumers = []
        await self.runtime.stop_workers()

    async def stop(self) -> None:
        await self.stop_hooks()
        await self.close()
        await self.broker.stop()


def _test_books_delays() -> tuple[float, float]:
    """Pauses before a batch's records and before its marks, for the crash tests only
    (`ALLOY_TEST_DELAY_RECORDS`, `ALLOY_TEST_DELAY_MARKS`, seconds): they hold a batch
    between its answers and its books long enough to kill the process there."""
    return (
        float(os.environ.get("ALLOY_TEST_DELAY_RECORDS") or 0),
        float(os.environ.get("ALLOY_TEST_DELAY_MARKS") or 0),
    )
