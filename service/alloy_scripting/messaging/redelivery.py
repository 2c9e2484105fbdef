"""Which consumed records may have been handled before (redeliveries), per partition.

A Kafka record is delivered again when a consumer handled it but its offset was not
committed (a crash, a rebalance, a rewound batch). Looking every request up in the
processed-event store would put a database read on the hot path of every hook; instead,
before a batch is handled, each partition's *watermark* — the highest offset any consumer
may have started to handle — is raised in the store (ahead of need, by `headroom`, so it
is written about once per `headroom` records). A record above the watermark was never
seen by anyone and needs no lookup; one at or below it is a *suspect*, and is looked up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from alloy_scripting.messaging.codec import RecordLike
from alloy_scripting.storage.protocols import ProcessedEvents

TopicPartition = tuple[str, int]


@dataclass
class _Mark:
    handled: int
    """Highest offset this process has started to handle (or loaded from the store)."""
    stored: int
    """The watermark in the store: never below `handled`."""


class RedeliveryTracker:
    def __init__(self, store: ProcessedEvents, group: str, *, headroom: int = 1000) -> None:
        self.store = store
        self.group = group
        self.headroom = headroom
        self._marks: dict[TopicPartition, _Mark] = {}

    def _key(self, tp: TopicPartition) -> str:
        return f"{self.group}:{tp[0]}:{tp[1]}"

    async def _load(self, tp: TopicPartition) -> _Mark:
        stored = await self.store.watermark(self._key(tp))
        mark = _Mark(handled=-1 if stored is None else stored, stored=stored or -1)
        self._marks[tp] = mark
        return mark

    async def begin(self, records: Sequence[RecordLike]) -> dict[TopicPartition, int]:
        """Call before handling `records`: returns, per partition, the offset at or below
        which a record is a suspect, after making the new watermarks durable."""
        lowest: dict[TopicPartition, int] = {}
        highest: dict[TopicPartition, int] = {}
        for record in records:
            tp = (record.topic, record.partition)
            lowest[tp] = min(record.offset, lowest.get(tp, record.offset))
            highest[tp] = max(record.offset, highest.get(tp, record.offset))
        suspects: dict[TopicPartition, int] = {}
        writes = []
        for tp, top in highest.items():
            mark = self._marks.get(tp)
            if mark is None or lowest[tp] > mark.handled + 1:
                # First sight of the partition, or a jump forward: another consumer owned it
                # in between, so what it may have handled is only known to the store.
                previous = mark
                mark = await self._load(tp)
                if previous is not None:
                    mark.handled = max(mark.handled, previous.handled)
                    mark.stored = max(mark.stored, previous.stored)
            suspects[tp] = mark.handled
            mark.handled = max(mark.handled, top)
            if top > mark.stored:
                mark.stored = top + self.headroom
                writes.append(self.store.set_watermark(self._key(tp), mark.stored))
        await asyncio.gather(*writes)
        return suspects
