"""`BatchConsumer`: a consumer-group member that hands record batches to a handler and
commits each batch once its bookkeeping is durable, while the next batch is already handled.

A handler call runs a batch up to the point where its answers are durable (replies,
effects, dead letters acknowledged by Kafka) and returns a *finish* step: the bookkeeping
that must be durable before the batch's offsets are committed (the processed-event marks).
The finish step and the commit run behind the loop, which fetches and handles the next
batch meanwhile — so a database write no longer sits between one request's reply and the
next request's fetch. Commits stay in order: a batch is committed after its own finish
step and after the batch before it was committed; at most `max_pending` batches wait.

Failure (a batch that cannot be handled, a finish step or commit that fails): once the
batches in flight have settled, every partition is rewound to its first offset not yet
committed and those records are delivered again (at-least-once); the handler recognises
redeliveries. A rebalance waits for the batch in hand and the pending commits, so the
next owner of a partition starts where this member really stopped.

Why not a FastStream subscriber: its batch loop awaits the handler, bookkeeping included,
before it fetches again, sleeps `batch_timeout_ms` after an empty poll, and its
acknowledgement commits the consumer's position rather than a given batch's offsets, so
it cannot overlap one batch's commit with the next batch's work (see README).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import ConsumerStoppedError, KafkaError

from alloy_scripting.messaging.codec import RecordLike

logger = logging.getLogger("alloy.messaging")

Finish = Callable[[], Awaitable[None]]
BatchHandler = Callable[[list[RecordLike]], Awaitable[Finish | None]]


@dataclass
class _Uncommitted:
    """A handled batch whose offsets are not committed yet."""

    firsts: dict[TopicPartition, int]
    commit: asyncio.Task[bool]


class BatchConsumer(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(
        self,
        topics: Sequence[str],
        handler: BatchHandler,
        *,
        bootstrap: str,
        group_id: str,
        max_records: int = 256,
        fetch_max_wait_ms: int = 10,
        max_pending: int = 4,
        poll_timeout_ms: int = 500,
        client_id: str = "alloy-scripting",
    ) -> None:
        self.topics = list(topics)
        self.handler = handler
        self.max_records = max_records
        self.max_pending = max_pending
        self.poll_timeout_ms = poll_timeout_ms
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group_id,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=fetch_max_wait_ms,
        )
        self._uncommitted: deque[_Uncommitted] = deque()
        self._rewind_to: dict[TopicPartition, int] = {}
        self._failed = False
        self._in_hand = asyncio.Lock()  # held while a batch is being handled
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await self.consumer.start()
        self.consumer.subscribe(topics=self.topics, listener=self)
        self._task = asyncio.create_task(self._run(), name=f"consume {','.join(self.topics)}")

    async def stop(self) -> None:
        """Finish the batch in hand and commit what was handled, then leave the group."""
        task, self._task = self._task, None
        if task is not None:
            async with self._in_hand:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self._settle()
        await self.consumer.stop()

    # -- rebalance listener ---------------------------------------------------------------

    async def on_partitions_revoked(self, revoked: object) -> None:
        async with self._in_hand:
            await self._settle()
            # The next assignment starts every partition at its committed offset, which is
            # exactly the rewind a failed batch asked for.
            self._uncommitted.clear()
            self._rewind_to.clear()
            self._failed = False

    async def on_partitions_assigned(self, assigned: object) -> None:
        return None

    # -- the loop --------------------------------------------------------------------------

    async def _run(self) -> None:
        consumer = self.consumer
        while True:
            try:
                fetched = await consumer.getmany(
                    timeout_ms=self.poll_timeout_ms, max_records=self.max_records
                )
            except ConsumerStoppedError:
                return
            except KafkaError:
                logger.exception("fetching from %s failed; retrying", self.topics)
                await asyncio.sleep(1.0)
                continue
            if not fetched:
                continue
            async with self._in_hand:
                await self._handle(fetched)

    async def _handle(self, fetched: dict[TopicPartition, list[RecordLike]]) -> None:
        firsts = {tp: records[0].offset for tp, records in fetched.items()}
        offsets = {tp: records[-1].offset + 1 for tp, records in fetched.items()}
        if self._failed:  # an earlier batch's commit failed: this one comes again after it
            self._note_failure(firsts)
            await self._rewind()
            return
        try:
            finish = await self.handler([r for records in fetched.values() for r in records])
        except Exception:
            logger.exception("a batch from %s failed; it will be delivered again", self.topics)
            self._note_failure(firsts)
            await self._rewind()
            return
        previous = self._uncommitted[-1].commit if self._uncommitted else None
        commit = asyncio.create_task(self._commit(previous, finish, offsets))
        self._uncommitted.append(_Uncommitted(firsts, commit))
        while self._uncommitted and self._uncommitted[0].commit.done():
            if not self._uncommitted[0].commit.result():
                await self._rewind()
                return
            self._uncommitted.popleft()
        if len(self._uncommitted) > self.max_pending:
            await asyncio.wait({self._uncommitted[0].commit})
        if self._failed:
            await self._rewind()

    async def _commit(
        self,
        previous: asyncio.Task[bool] | None,
        finish: Finish | None,
        offsets: dict[TopicPartition, int],
    ) -> bool:
        """Finish the batch, then commit it after the one before; False if either failed."""
        try:
            if finish is not None:
                await finish()
            if previous is not None and not await previous:
                return False
            await self.consumer.commit(offsets)
        except Exception:
            logger.exception("committing a batch from %s failed; it comes again", self.topics)
            self._failed = True
            return False
        return True

    def _note_failure(self, firsts: dict[TopicPartition, int]) -> None:
        for tp, offset in firsts.items():
            self._rewind_to[tp] = min(offset, self._rewind_to.get(tp, offset))
        self._failed = True

    async def _settle(self) -> None:
        """Wait for every pending finish step and commit."""
        if self._uncommitted:
            await asyncio.gather(*(u.commit for u in self._uncommitted), return_exceptions=True)

    async def _rewind(self) -> None:
        """After a failure: let the batches in flight settle, then seek every partition back
        to its first offset that is not committed."""
        await self._settle()
        for pending in self._uncommitted:
            if not pending.commit.result():
                for tp, offset in pending.firsts.items():
                    self._rewind_to[tp] = min(offset, self._rewind_to.get(tp, offset))
        assigned = self.consumer.assignment()
        for tp, offset in self._rewind_to.items():
            if tp in assigned:
                self.consumer.seek(tp, offset)
        self._uncommitted.clear()
        self._rewind_to.clear()
        self._failed = False
