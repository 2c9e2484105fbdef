"""`HookClient`: how a domain service calls alloy-scripting's hooks over Kafka.

Before-hooks are request/reply. FastStream's `broker.request()` does not work against a
real Kafka, so the client does the correlation itself: it owns one reply topic per client
instance, consumes it from its end (positions fixed before the first request is sent),
and resolves each pending request by its `correlation_id` header. Duplicate replies (a
redelivered request is answered again) are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from opentelemetry import propagate
from pydantic import ValidationError

from alloy_scripting.model import EventType, ExecutionPhase
from alloy_scripting.model.events import EntityEvent
from alloy_scripting.model.outcomes import Continue, Error, Rejected, hook_outcome_adapter

logger = logging.getLogger("alloy.client")

Outcome = Continue | Rejected | Error


class HookTimeout(TimeoutError):
    """No reply to a before-hook request within the timeout."""

    def __init__(self, correlation_id: str, timeout: float) -> None:
        super().__init__(f"no hook outcome within {timeout:g}s (correlation_id={correlation_id})")
        self.correlation_id = correlation_id
        self.timeout = timeout


class HookClient:
    """`async with HookClient(bootstrap) as hooks: outcome = await hooks.before(...)`.

    `on_timeout`: `"raise"` (default) raises `HookTimeout`; `"error"` returns an `Error`
    outcome (fail closed); `"continue"` returns an empty `Continue` (fail open).
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        topic_prefix: str = "",
        reply_topic: str | None = None,
        timeout: float = 10.0,
        on_timeout: Literal["raise", "error", "continue"] = "raise",
        delete_reply_topic: bool = True,
        client_id: str = "alloy-hook-client",
    ) -> None:
        self.bootstrap = bootstrap
        self.topic_prefix = topic_prefix
        self.reply_topic = reply_topic or f"{topic_prefix}alloy.replies.{uuid.uuid4().hex}"
        self.timeout = timeout
        self.on_timeout = on_timeout
        self.delete_reply_topic = delete_reply_topic and reply_topic is None
        self.client_id = client_id
        self.duplicates = 0
        self._pending: dict[str, asyncio.Future[Outcome]] = {}
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> HookClient:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=self.client_id)
        await admin.start()
        try:
            if self.reply_topic not in set(await admin.list_topics()):
                await admin.create_topics(
                    [NewTopic(self.reply_topic, num_partitions=1, replication_factor=1)]
                )
        finally:
            await admin.close()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=0,
        )
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=100,
        )
        await self._consumer.start()
        partition = TopicPartition(self.reply_topic, 0)
        for _ in range(50):  # the new topic's metadata may take a moment to propagate
            self._consumer.assign([partition])
            with contextlib.suppress(Exception):
                await self._consumer.seek_to_end(partition)
                await self._consumer.position(partition)  # fixed before any request is sent
                break
            await asyncio.sleep(0.1)
        self._reader = asyncio.create_task(self._read_replies(), name="alloy-hook-replies")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for future in self._pending.values():
            if not future.done():
                future.cancel()
        self._pending.clear()
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()
        if self.delete_reply_topic:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=self.client_id)
            with contextlib.suppress(Exception):
                await admin.start()
                await admin.delete_topics([self.reply_topic])
            with contextlib.suppress(Exception):
                await admin.close()

    async def _read_replies(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    self._resolve(record)

    def _resolve(self, record: Any) -> None:
        headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
        correlation_id = headers.get("correlation_id")
        future = self._pending.pop(correlation_id, None) if correlation_id else None
        if future is None or future.done():
            self.duplicates += 1
            return
        try:
            future.set_result(hook_outcome_adapter.validate_json(record.value or b""))
        except ValidationError as exc:
            future.set_result(Error(error=f"undecodable reply: {exc}", error_type="invalid_reply"))

    # -- hooks --------------------------------------------------------------------------

    def _topic(self, event: EventType) -> str:
        return f"{self.topic_prefix}entity.{event.value}"

    async def _send(self, event: EntityEvent, headers: Mapping[str, str]) -> None:
        if self._producer is None:
            raise RuntimeError("HookClient is not started (use `async with HookClient(...)`)")
        carrier = dict(headers)
        propagate.inject(carrier)  # the service's spans continue the caller's trace
        await self._producer.send_and_wait(
            self._topic(event.event),
            event.model_dump_json().encode(),
            key=event.key.encode(),
            headers=[(k, v.encode()) for k, v in carrier.items()],
        )

    async def before(
        self,
        entity_type: str,
        event: EventType | str,
        entity_id: str,
        data: Mapping[str, Any],
        *,
        tenant_id: str | None = None,
        user_id: str | None = None,
        before: Mapping[str, Any] | None = None,
        event_id: str | None = None,
        timeout: float | None = None,
    ) -> Outcome:
        """Ask the scripts bound to a before-event; returns `Continue`, `Rejected` or `Error`."""
        request = _entity_event(
            ExecutionPhase.BEFORE,
            "before() takes a before_* event",
            entity_type,
            event,
            entity_id,
            data,
            before,
            tenant_id,
            user_id,
            event_id,
        )
        return await self.request(request, timeout=timeout)

    async def request(self, request: EntityEvent, *, timeout: float | None = None) -> Outcome:
        """Send a prepared before-event and wait for its outcome."""
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        timeout = self.timeout if timeout is None else timeout
        try:
            await self._send(
                request,
                {
                    "reply_to": self.reply_topic,
                    "correlation_id": correlation_id,
                    "content-type": "application/json",
                },
            )
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            if self.on_timeout == "raise":
                raise HookTimeout(correlation_id, timeout) from None
            if self.on_timeout == "continue":
                return Continue(event_id=request.event_id)
            return Error(
                error=f"no outcome within {timeout:g}s",
                error_type="timeout",
                event_id=request.event_id,
            )
        finally:
            self._pending.pop(correlation_id, None)

    async def after(
        self,
        entity_type: str,
        event: EventType | str,
        entity_id: str,
        data: Mapping[str, Any],
        *,
        before: Mapping[str, Any] | None = None,
        tenant_id: str | None = None,
        user_id: str | None = None,
        event_id: str | None = None,
    ) -> str:
        """Publish an after_* event (fire and forget once Kafka acknowledged it); returns its id."""
        return await self._publish(
            ExecutionPhase.AFTER,
            entity_type,
            event,
            entity_id,
            data,
            before,
            tenant_id,
            user_id,
            event_id,
        )

    async def on_commit(
        self,
        entity_type: str,
        event: EventType | str,
        entity_id: str,
        data: Mapping[str, Any],
        *,
        before: Mapping[str, Any] | None = None,
        tenant_id: str | None = None,
        user_id: str | None = None,
        event_id: str | None = None,
    ) -> str:
        """Publish an on_commit_* event; returns its id."""
        return await self._publish(
            ExecutionPhase.ON_COMMIT,
            entity_type,
            event,
            entity_id,
            data,
            before,
            tenant_id,
            user_id,
            event_id,
        )

    async def _publish(
        self,
        phase: ExecutionPhase,
        entity_type: str,
        event: EventType | str,
        entity_id: str,
        data: Mapping[str, Any],
        before: Mapping[str, Any] | None,
        tenant_id: str | None,
        user_id: str | None,
        event_id: str | None,
    ) -> str:
        message = _entity_event(
            phase,
            f"expected a {phase.value}_* event",
            entity_type,
            event,
            entity_id,
            data,
            before,
            tenant_id,
            user_id,
            event_id,
        )
        await self._send(message, {"content-type": "application/json"})
        return message.event_id


def _entity_event(
    phase: ExecutionPhase,
    refusal: str,
    entity_type: str,
    event: EventType | str,
    entity_id: str,
    data: Mapping[str, Any],
    before: Mapping[str, Any] | None,
    tenant_id: str | None,
    user_id: str | None,
    event_id: str | None,
) -> EntityEvent:
    """The event to send, once ``event`` is known to be of ``phase`` (else ``refusal``)."""
    checked = EventType(event)
    if checked.phase is not phase:
        raise ValueError(f"{refusal}, not {checked.value}")
    return EntityEvent(
        event_id=event_id or uuid.uuid4().hex,
        tenant_id=tenant_id,
        user_id=user_id,
        entity_type=entity_type,
        entity_id=entity_id,
        event=checked,
        data=dict(data),
        before=dict(before) if before is not None else None,
    )
