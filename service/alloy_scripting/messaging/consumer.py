"""`BatchConsumer`: a consumer-group member that hands record batches to a handler and
commits each batch once its bookkeeping is durable, while the next batch is already handled.

A handler call runs a batch up to the point where its answers are durable (replies,
effects, dead letters acknowledged by Kafka) and returns a *finish* step: the bookkeeping
that must be durable before the batch's offsets are committed (the processed-event marks).
The finish step and the commit run behind the loop, which fetches and handles the next
batch meanwhile — so a database write no longer sits between one request's reply and the
next request's fetch. A batch's offsets are committed only once its own finish step and
every earlier batch's succeeded; commits ready within `commit_linger` of each other go out
as one (`GroupedWriter`). At most `max_uncommitted` records wait to be committed.

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
from alloy_scripting.messaging.grouped import GroupedWriter

logger = logging.getLogger("alloy.messaging")

Finish = Callable[[], Awaitable[None]]
BatchHandler = Callable[[list[RecordLike]], Awaitable[Finish | None]]


@dataclass
class _Uncommitted:
    """A handled batch whose offsets are not committed yet."""

    firsts: dict[TopicPartition, int]
    records: int
    ready: asyncio.Future[bool]
    """Its finish step succeeded, and so did every earlier batch's: it may be committed."""
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
        max_uncommitted: int = 1024,
        commit_linger: float = 0.05,
        poll_timeout_ms: int = 500,
        client_id: str = "alloy-scripting",
    ) -> None:
        self.topics = list(topics)
        self.handler = handler
        self.max_records = max_records
        self.max_uncommitted = max_uncommitted
        self.poll_timeout_ms = poll_timeout_ms
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group_id,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=fetch_max_wait_ms,
        )
        self._committer = GroupedWriter(self._commit_offsets, linger=commit_linger)
        self._uncommitted: deque[_Uncommitted] = deque()
        self._uncommitted_records = 0
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
            self._uncommitted_records = 0
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
                if self._failed:  # a finish step failed and nothing new came since
                    async with self._in_hand:
                        await self._rewind()
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
        previous = self._uncommitted[-1].ready if self._uncommitted else None
        ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        commit = asyncio.create_task(self._complete(previous, ready, finish, offsets))
        count = sum(offsets[tp] - firsts[tp] for tp in offsets)
        self._uncommitted.append(_Uncommitted(firsts, count, ready, commit))
        self._uncommitted_records += count
        while self._uncommitted_records > self.max_uncommitted and not self._failed:
            await asyncio.wait({self._uncommitted[0].commit})
            self._prune()
        self._prune()
        if self._failed:
            await self._rewind()

    def _prune(self) -> None:
        """Forget the committed batches at the head of the queue."""
        while self._uncommitted and self._uncommitted[0].commit.done():
            head = self._uncommitted[0]
            if not head.commit.result():
                return  # failed: kept for the rewind
            self._uncommitted.popleft()
            self._uncommitted_records -= head.records

    async def _complete(
        self,
        previous: asyncio.Future[bool] | None,
        ready: asyncio.Future[bool],
        finish: Finish | None,
        offsets: dict[TopicPartition, int],
    ) -> bool:
        """Run the batch's finish step; once it and every earlier batch's succeeded, commit
        its offsets (together with whatever else is ready). False if anything failed."""
        ok = True
        try:
            if finish is not None:
                await finish()
        except Exception:
            logger.exception("finishing a batch from %s failed; it comes again", self.topics)
            ok = False
        if ok and previous is not None:
            ok = await previous
        ready.set_result(ok)
        if not ok:
            self._failed = True
            return False
        try:
            await self._committer.submit([offsets])
        except Exception:
            logger.exception("committing offsets of %s failed; they come again", self.topics)
            self._failed = True
            return False
        return True

    async def _commit_offsets(self, batches: list[dict[TopicPartition, int]]) -> None:
        merged: dict[TopicPartition, int] = {}
        for offsets in batches:
            for tp, offset in offsets.items():
                merged[tp] = max(offset, merged.get(tp, offset))
        await self.consumer.commit(merged)

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
        self._uncommitted_records = 0
        self._rewind_to.clear()
        self._failed = False
