"""Batch handling of entity-event records: before-hook request/reply and after/on-commit effects.

Delivery is at-least-once. `handle_batch` runs a batch's scripts and starts sending what
they produced, handing back the batch's *finish* step: waiting until every reply, effect and
dead letter is acknowledged by Kafka, then writing the batch's books: first the execution
records of its runs (stored in MongoDB and acknowledged on `alloy.executions`), then the
processed-event marks that make redeliveries no-ops. So a mark promises its records, and
the consumer commits the batch's offsets only after that step (`BatchConsumer`); any
failure raises, and the consumer rewinds. A redelivery that runs again writes records with
the same ids (derived from the request), which the store ignores as duplicates.
Records with one key are handled in order (across batches too); different keys run
concurrently (bounded), and a batch does not wait for the one before it to finish its
scripts.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import (
    InvalidTopicError,
    KafkaTimeoutError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)
from opentelemetry import propagate
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from alloy_scripting import telemetry
from alloy_scripting.messaging.codec import (
    JSON_HEADERS,
    Inbound,
    RecordLike,
    decode,
    dlq_headers,
    encode,
    topic_event,
)
from alloy_scripting.messaging.grouped import GroupedWriter
from alloy_scripting.messaging.pace import HookPace
from alloy_scripting.messaging.producers import Enqueuer, Publisher, publish_effects
from alloy_scripting.messaging.redelivery import RedeliveryTracker
from alloy_scripting.messaging.topics import Topics
from alloy_scripting.model.enums import ExecutionPhase
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.outcomes import (
    Continue,
    Error,
    Rejected,
    hook_outcome_adapter,
)
from alloy_scripting.runner.orchestrator import ScriptOrchestrator
from alloy_scripting.runner.records import Recording, recovered_records
from alloy_scripting.runner.shadow import ShadowJob
from alloy_scripting.storage.protocols import ProcessedEvents

logger = logging.getLogger("alloy.messaging")

Outcome = Continue | Rejected | Error
Marks = dict[str, dict[str, Any] | None]


class HookProcessor:
    def __init__(
        self,
        orchestrator: ScriptOrchestrator,
        processed: ProcessedEvents,
        publish: Publisher,
        topics: Topics,
        *,
        enqueue: Enqueuer,
        concurrency: int = 64,
        processed_ttl_seconds: float = 7 * 24 * 3600,
        group: str = "alloy-scripting",
        remembered_outcomes: int = 20_000,
        mark_linger: float = 0.02,
        books_delays: tuple[float, float] = (0.0, 0.0),
        hold: float = 0.01,
        max_behind: int = 8,
    ) -> None:
        self.orchestrator = orchestrator
        self.processed = processed
        self.publish = publish
        self.enqueue = enqueue
        self.topics = topics
        self.concurrency = concurrency
        self.hold = hold
        self.pace = HookPace(slow_after=hold)
        self.max_behind = max_behind
        self.processed_ttl_seconds = processed_ttl_seconds
        self.redeliveries = RedeliveryTracker(processed, group)
        self._recent: OrderedDict[str, _Answer] = OrderedDict()
        self._recent_size = remembered_outcomes
        self._books = GroupedWriter(self._write_books, linger=mark_linger)
        self._books_delays = books_delays
        """Test-only pauses before the records and before the marks (crash tests)."""
        self._unrecorded: dict[str, list[ExecutionRecord]] = {}
        """Records of remembered answers whose batch has not written its books yet: a
        redelivery answered from memory writes them (a mark without them is never written)."""
        self._reserved = frozenset(topics.all)
        self._unmarked: set[str] = set()
        """Effects handled in a batch whose marks are not written yet (duplicates meanwhile
        are caught here, not by the store)."""
        self._slots: asyncio.Semaphore | None = None
        """Keys handled at once, over all the batches in flight."""
        self._behind = _Behind()
        """Keys of earlier batches whose scripts outlasted `hold` (at most `max_behind`)."""
        self._tails: dict[bytes, asyncio.Future[None]] = {}
        """Per key, the latest batch's records still running (the next ones wait for it)."""

    # -- batch driver -------------------------------------------------------------------

    async def handle_batch(self, records: Sequence[RecordLike]) -> Callable[[], Awaitable[None]]:
        """Run one consumed batch's scripts, in order per key, for at most `hold` seconds
        (with at most `max_behind` keys of earlier batches still running), and return the
        batch's *finish* step, to await before committing its offsets: it waits for the
        scripts still running, then until every reply, effect and dead letter they produced
        is acknowledged by Kafka, then writes its books (execution records, then marks).
        The consumer meanwhile fetches and starts the next batches: a slow script (a worker runs it)
        holds its own key (later records with that key wait for it, across batches), not
        the keys behind it."""
        batch = _Batch(suspects=await self.redeliveries.begin(records))
        pending = batch.pending
        groups: dict[bytes, list[Inbound]] = defaultdict(list)
        for record in records:
            inbound = decode(record, topic_event(record.topic, self.topics.prefix), self._reserved)
            if inbound.event is None:
                self._dead_letter(inbound, pending)
            else:
                groups[inbound.key].append(inbound)

        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        slots, tails, behind, pace = self._slots, self._tails, self._behind, self.pace
        loop = asyncio.get_running_loop()
        await behind.below(self.max_behind)  # bounded: a drain on stop stays short

        async def run_group(items: list[Inbound], previous: asyncio.Future[None] | None) -> None:
            if previous is not None:  # the same key's records of an earlier batch first
                await asyncio.wait({previous})
            async with slots:
                for inbound in items:
                    started = loop.time()
                    await self._handle(inbound, batch)
                    assert inbound.event is not None
                    pace.observe(inbound.event, loop.time() - started)

        def forget(key: bytes, task: asyncio.Future[None]) -> None:
            if tails.get(key) is task:
                del tails[key]

        running: list[asyncio.Future[None]] = []
        held: list[asyncio.Future[None]] = []
        for key, items in groups.items():
            task = asyncio.ensure_future(run_group(items, tails.get(key)))
            tails[key] = task
            task.add_done_callback(functools.partial(forget, key))
            running.append(task)
            if any(pace.is_slow(i.event) for i in items if i.event is not None):
                behind.add(task)  # lately slower than the hold: not waited for at all
            else:
                held.append(task)
        if held:
            # Fast scripts finish here, as the batch did before; a slow one is left to run
            # behind after `hold` seconds instead of holding every key behind it.
            _, slow = await asyncio.wait(held, timeout=self.hold)
            for late in slow:
                behind.add(late)

        async def finish() -> None:
            try:
                results = await asyncio.gather(*running, return_exceptions=True)
                failure = next((r for r in results if isinstance(r, BaseException)), None)
                if failure is not None:
                    # Let whatever was started settle; the batch comes again.
                    await asyncio.gather(
                        *pending, *(d for _, d in batch.replies), return_exceptions=True
                    )
                    raise failure
                await self._settle_replies(batch.replies)
                results = await asyncio.gather(*pending, return_exceptions=True)
                for result in results:
                    if isinstance(result, BaseException):
                        raise result
                # Replies and effects are durable: now the books, records before marks
                # (an effects mark written earlier could hide effects that failed, a
                # mark written before its records could hide records that failed).
                if batch.records or batch.marks:
                    await self._books.submit([(batch.records, batch.marks)])
                for key in batch.owed:
                    self._unrecorded.pop(key, None)
            finally:
                self._unmarked -= batch.effects

        return finish

    async def _write_books(self, books: list[tuple[list[ExecutionRecord], Marks]]) -> None:
        """The books of every batch finishing together: all their records, then all their
        marks (each batch's finish step waits for this one write)."""
        before_records, before_marks = self._books_delays
        if before_records:
            await asyncio.sleep(before_records)
        await self.orchestrator.records.write([r for records, _ in books for r in records])
        if before_marks:
            await asyncio.sleep(before_marks)
        marks = {key: mark for _, batch_marks in books for key, mark in batch_marks.items()}
        await self.processed.mark_many(marks, ttl_seconds=self.processed_ttl_seconds)

    def _start(self, pending: list[asyncio.Future[Any]], work: Awaitable[Any]) -> None:
        pending.append(asyncio.ensure_future(work))

    # -- bad input ----------------------------------------------------------------------

    def _dead_letter(self, inbound: Inbound, pending: list[asyncio.Future[Any]]) -> None:
        telemetry.messages("entity", "dead_letter").inc()
        logger.warning(
            "dead-lettering %s[%d]@%d: %s: %s",
            inbound.record.topic,
            inbound.record.partition,
            inbound.record.offset,
            inbound.error_type,
            inbound.error,
        )
        self._start(
            pending,
            self.publish(
                self.topics.dlq,
                inbound.record.value or b"",
                key=inbound.record.key,
                headers=dlq_headers(inbound),
            ),
        )
        if inbound.reply_to:
            outcome = Error(
                error=f"{inbound.error_type}: {inbound.error}", error_type="invalid_request"
            )
            self._start(pending, self._reply_soon(inbound, _Answer.of(outcome), pending))

    async def _reply_soon(
        self, inbound: Inbound, answer: _Answer, pending: list[asyncio.Future[Any]]
    ) -> None:
        """`_reply` from a task of its own (the caller is not a coroutine)."""
        replies: list[tuple[Inbound, asyncio.Future[Any]]] = []
        await self._reply(inbound, answer, replies, pending)
        await self._settle_replies(replies)

    async def _reply(
        self,
        inbound: Inbound,
        answer: _Answer,
        replies: list[tuple[Inbound, asyncio.Future[Any]]],
        pending: list[asyncio.Future[Any]],
    ) -> None:
        """Hand the answer to the producer (its acknowledgement is awaited by the batch's
        finish step: no task per reply). A reply topic that refuses it at once is handled
        as in `_settle_replies`."""
        topic = inbound.reply_to
        assert topic is not None
        headers = dict(JSON_HEADERS)
        if inbound.correlation_id:
            headers["correlation_id"] = inbound.correlation_id
        telemetry.hook_outcomes(answer.outcome).inc()
        try:
            delivery = await self.enqueue(
                topic, answer.value, key=inbound.record.key, headers=headers
            )
        except _REPLY_TOPIC_ERRORS as exc:
            self._start(pending, self._reply_failed(inbound, topic, exc))
        else:
            replies.append((inbound, delivery))

    async def _settle_replies(self, replies: list[tuple[Inbound, asyncio.Future[Any]]]) -> None:
        """Wait for the replies' acknowledgements. A reply topic that cannot take its answer
        (missing with topic auto-creation off, not authorised, ...) must not hold the
        partition: that request is dead-lettered instead. A failure of Kafka as a whole
        still fails the batch."""
        results = await asyncio.gather(*(d for _, d in replies), return_exceptions=True)
        failed = []
        for (inbound, _), result in zip(replies, results, strict=True):
            if isinstance(result, _REPLY_TOPIC_ERRORS):
                assert inbound.reply_to is not None
                failed.append(self._reply_failed(inbound, inbound.reply_to, result))
            elif isinstance(result, BaseException):
                raise result
        await asyncio.gather(*failed)

    async def _reply_failed(self, inbound: Inbound, topic: str, exc: BaseException) -> None:
        logger.warning("cannot reply on %r: %s; dead-lettering the request", topic, exc)
        failed = Inbound(
            inbound.record, inbound.headers, None, "reply_failed", f"{type(exc).__name__}: {exc}"
        )
        await self.publish(
            self.topics.dlq,
            inbound.record.value or b"",
            key=inbound.record.key,
            headers=dlq_headers(failed),
        )

    # -- one record ---------------------------------------------------------------------

    async def _handle(self, inbound: Inbound, batch: _Batch) -> None:
        event = inbound.event
        assert event is not None
        record = inbound.record
        # One span per record, continuing the producer's trace (`traceparent` header); the
        # script runs, replies and effects below are its children.
        tracing = telemetry.tracing_active()
        with telemetry.span(
            f"{record.topic} process",
            context=propagate.extract(inbound.headers) if tracing else None,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": record.topic,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.kafka.offset": record.offset,
                "messaging.message.id": event.event_id,
            }
            if tracing
            else None,
        ):
            if event.event.phase is ExecutionPhase.BEFORE:  # the one place the phase is decided
                await self._before(inbound, batch)
            else:
                await self._effects(inbound, batch)

    async def _before(self, inbound: Inbound, batch: _Batch) -> None:
        event = inbound.event
        assert event is not None
        key = _request_key("before:", inbound)
        earlier = batch.claims.get(key)
        if earlier is not None:  # the same request twice in one batch: one run, two answers
            telemetry.messages("before", "duplicate").inc()
            answer: _Answer = await asyncio.shield(earlier)
        else:
            claim = batch.claim(key)
            try:
                answer = await self._stored_or_run_before(inbound, key, batch)
            except BaseException as exc:
                claim.set_exception(exc)
                claim.exception()  # retrieved here; the batch fails with it
                raise
            claim.set_result(answer)
        if inbound.reply_to:
            await self._reply(inbound, answer, batch.replies, batch.pending)
        jobs = batch.shadow_jobs.pop(key, None)
        if jobs and self.orchestrator.shadows is not None:
            # Once Kafka has the answer (or failed to take it): never before.
            sent = batch.replies[-1] if batch.replies else None
            after = sent[1] if sent is not None and sent[0] is inbound else None
            self.orchestrator.shadows.launch(jobs, after=after)

    async def _stored_or_run_before(self, inbound: Inbound, key: str, batch: _Batch) -> _Answer:
        """The earlier answer to this request if there was one, else a fresh run.

        Earlier answers are found in this instance's memory (a client sending the same
        event again) or, for records that may be redeliveries, in the processed store.
        The mark stores the answer as it was sent (`{"reply": <HookOutcome JSON>}`)."""
        remembered = self._recent.get(key)
        if remembered is not None:
            telemetry.messages("before", "duplicate").inc()
            if batch.is_suspect(inbound):  # its first batch may have failed before its books
                self._owe(batch, key, self._unrecorded.get(key, []))
                batch.marks[key] = _mark(remembered)
            return remembered
        if batch.is_suspect(inbound):
            mark = await self.processed.get(key)
            stored = _Answer.stored(mark)
            if stored is not None:
                telemetry.messages("before", "duplicate").inc()
                assert mark is not None
                if not mark.get(_RECORDED):  # an earlier version's mark: its records may be lost
                    self._owe(batch, key, self._recovered(inbound, key, stored))
                self._remember(key, stored)
                return stored
        outcome, recording = await self._run_before(inbound, key)
        records = recording.records
        if recording.shadow_jobs:
            batch.shadow_jobs[key] = recording.shadow_jobs
        answer = _Answer.of(outcome)
        batch.marks[key] = _mark(answer)
        self._owe(batch, key, records)
        self._remember(key, answer)
        telemetry.messages("before", "ok").inc()
        return answer

    def _owe(self, batch: _Batch, key: str, records: list[ExecutionRecord]) -> None:
        """The batch writes these records of a before-request; until its books are written,
        they are also kept with the remembered answer (a redelivery answered from memory
        writes them then)."""
        if records:
            batch.records.extend(records)
            batch.owed.append(key)
            self._unrecorded[key] = records

    @staticmethod
    def _recovered(inbound: Inbound, key: str, answer: _Answer) -> list[ExecutionRecord]:
        event = inbound.event
        assert event is not None
        outcome = hook_outcome_adapter.validate_json(answer.value)
        return recovered_records(
            outcome, event, key, correlation_id=inbound.correlation_id or event.event_id
        )

    def _remember(self, key: str, answer: _Answer) -> None:
        self._recent[key] = answer
        self._recent.move_to_end(key)
        while len(self._recent) > self._recent_size:
            forgotten, _ = self._recent.popitem(last=False)
            self._unrecorded.pop(forgotten, None)

    async def _run_before(self, inbound: Inbound, key: str) -> tuple[Outcome, Recording]:
        """The answer, and the recording of the runs (record ids derived from `key`)."""
        event = inbound.event
        assert event is not None
        recording = Recording(key)
        try:
            outcome = await self.orchestrator.before(
                event, correlation_id=inbound.correlation_id, recording=recording
            )
            return outcome, recording
        except Exception as exc:  # storage down, …: answer, then fail the batch for redelivery
            logger.exception("before-hook %s failed", event.event_id)
            raise HookInfrastructureError(str(exc)) from exc

    async def _effects(self, inbound: Inbound, batch: _Batch) -> None:
        event = inbound.event
        assert event is not None
        key = _request_key(_EFFECTS, inbound)
        if key in batch.claims or key in self._unmarked:  # seen in this or a finishing batch
            telemetry.messages("effects", "duplicate").inc()
            return
        batch.claim(key)
        batch.effects.add(key)
        self._unmarked.add(key)
        # Always looked up (not only for suspects): side effects must not repeat when a
        # domain service's outbox sends the same event again as a new record.
        if await self.processed.get(key) is not None:
            telemetry.messages("effects", "duplicate").inc()
            return
        recording = Recording(key)
        outcome = await self.orchestrator.effects(
            event, correlation_id=inbound.correlation_id, recording=recording
        )
        published = asyncio.ensure_future(
            publish_effects(self.publish, self.topics.effects, outcome.effects)
        )
        batch.pending.append(published)
        if recording.shadow_jobs and self.orchestrator.shadows is not None:
            self.orchestrator.shadows.launch(recording.shadow_jobs, after=published)
        batch.records.extend(recording.records)
        batch.marks[key] = None  # written once the effects and records are durable
        telemetry.messages("effects", "ok").inc()


class _Behind:
    """The keys still running behind their batch; `below(n)` waits until fewer than `n`
    are (woken once there is room, not by a wait over all of them per key that ends)."""

    def __init__(self) -> None:
        self._running: set[asyncio.Future[None]] = set()
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []

    def __len__(self) -> int:
        return len(self._running)

    def add(self, task: asyncio.Future[None]) -> None:
        self._running.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Future[None]) -> None:
        self._running.discard(task)
        for limit, room in self._waiting:
            if len(self._running) < limit and not room.done():
                room.set_result(None)

    async def below(self, limit: int) -> None:
        while len(self._running) >= limit:
            entry = (limit, asyncio.get_running_loop().create_future())
            self._waiting.append(entry)
            try:
                await entry[1]
            finally:
                self._waiting.remove(entry)


@dataclass(frozen=True, slots=True)
class _Answer:
    """A before-hook answer: its outcome kind and its encoded `HookOutcome`, as sent."""

    outcome: str
    value: bytes

    @classmethod
    def of(cls, outcome: Outcome) -> _Answer:
        return cls(outcome.outcome, encode(outcome))

    @classmethod
    def stored(cls, mark: dict[str, Any] | None) -> _Answer | None:
        """The answer kept in a processed-event mark (None when there is none usable)."""
        if not mark:
            return None
        try:
            reply = mark.get("reply")
            if isinstance(reply, bytes):
                return cls(hook_outcome_adapter.validate_json(reply).outcome, reply)
            return cls.of(hook_outcome_adapter.validate_python(mark))  # an older mark: the model
        except ValidationError:
            return None


@dataclass
class _Batch:
    """What one batch has in flight: started sends and writes, and the events it has seen.

    An event's mark in `ProcessedEvents` is written only once its effects are durable, so a
    second copy of the event in the same batch is caught here, not by the store.
    """

    suspects: dict[tuple[str, int], int]
    """Per partition, the offset at or below which a record may be a redelivery."""
    pending: list[asyncio.Future[Any]] = field(default_factory=list)
    replies: list[tuple[Inbound, asyncio.Future[Any]]] = field(default_factory=list)
    """Answers handed to the producer, with their acknowledgements to come."""
    claims: dict[str, asyncio.Future[_Answer]] = field(default_factory=dict)
    marks: Marks = field(default_factory=dict)
    """Processed-event marks to write once the batch's output and records are durable."""
    records: list[ExecutionRecord] = field(default_factory=list)
    """Execution records of the batch's runs, written before its marks."""
    owed: list[str] = field(default_factory=list)
    """Keys of the before-requests whose records are in `records`."""
    effects: set[str] = field(default_factory=set)
    """Its after/on-commit events, unmarked until its finish step (`_unmarked`)."""
    shadow_jobs: dict[str, list[ShadowJob]] = field(default_factory=dict)
    """Per before-request, its sampled shadow runs, launched once its reply is handed on."""

    def is_suspect(self, inbound: Inbound) -> bool:
        record = inbound.record
        return record.offset <= self.suspects.get((record.topic, record.partition), -1)

    def claim(self, key: str) -> asyncio.Future[_Answer]:
        future: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        self.claims[key] = future
        return future


_EFFECTS = "effects:"
_RECORDED = "recorded"
"""Flag of a before-hook mark written after its records (an earlier version's marks lack it)."""


def _mark(answer: _Answer) -> dict[str, Any]:
    """A before-hook's processed-event mark: the answer as sent; written after its records."""
    return {"reply": answer.value, _RECORDED: True}


def _request_key(kind: str, inbound: Inbound) -> str:
    """What identifies one request for deduplication: its tenant and `event_id`, and a
    digest of what the scripts see (entity, before image, user; not the send time), so
    that a redelivery or a resend of the same event is recognised, while another event
    that reuses the id (a client bug) is run, not answered with the earlier outcome."""
    event = inbound.event
    assert event is not None
    content = event.model_dump_json(include=_CONTENT)
    digest = hashlib.blake2b(content.encode(), digest_size=8).hexdigest()
    return f"{kind}{event.tenant_id or ''}:{event.event_id}:{digest}"


_CONTENT = {"user_id", "entity_type", "entity_id", "event", "data", "before"}


_REPLY_TOPIC_ERRORS = (
    InvalidTopicError,
    UnknownTopicOrPartitionError,
    TopicAuthorizationFailedError,
    KafkaTimeoutError,
)


class HookInfrastructureError(RuntimeError):
    """The hook could not run for a reason outside the scripts (e.g. MongoDB unreachable)."""
