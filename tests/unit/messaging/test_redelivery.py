"""Which records may be redeliveries: partition watermarks in the processed store."""

from __future__ import annotations

from dataclasses import dataclass

from alloy_scripting.messaging.redelivery import RedeliveryTracker
from alloy_scripting.storage.memory import InMemoryProcessedEvents


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    value: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


def batch(*offsets: int, partition: int = 0) -> list[Record]:
    return [Record("entity.before_create", partition, o) for o in offsets]


async def test_fresh_partition_has_no_suspects_and_raises_the_watermark_ahead() -> None:
    store = InMemoryProcessedEvents()
    tracker = RedeliveryTracker(store, "g", headroom=100)
    assert await tracker.begin(batch(0, 1, 2)) == {("entity.before_create", 0): -1}
    assert await store.watermark("g:entity.before_create:0") == 102
    # the next batch continues: nothing suspect, no new write needed below the headroom
    assert await tracker.begin(batch(3, 4)) == {("entity.before_create", 0): 2}
    assert await store.watermark("g:entity.before_create:0") == 102


async def test_a_rewound_batch_is_suspect() -> None:
    tracker = RedeliveryTracker(InMemoryProcessedEvents(), "g", headroom=10)
    await tracker.begin(batch(5, 6, 7))
    suspects = await tracker.begin(batch(5, 6, 7))  # nack: the same records again
    assert suspects[("entity.before_create", 0)] == 7


async def test_a_new_owner_suspects_everything_up_to_the_stored_watermark() -> None:
    store = InMemoryProcessedEvents()
    first = RedeliveryTracker(store, "g", headroom=50)
    await first.begin(batch(10, 11, 12))  # handled, but the commit was lost (crash)
    second = RedeliveryTracker(store, "g", headroom=50)  # another instance / a restart
    suspects = await second.begin(batch(10, 11, 12, 13))
    assert suspects[("entity.before_create", 0)] == 62  # 12 + headroom: all of them suspect


async def test_a_jump_forward_reloads_what_another_owner_did() -> None:
    store = InMemoryProcessedEvents()
    mine = RedeliveryTracker(store, "g", headroom=5)
    await mine.begin(batch(0, 1))
    other = RedeliveryTracker(store, "g", headroom=5)
    await other.begin(batch(2, 3, 4, 5, 6, 7, 8, 9))  # the partition moved, then came back
    suspects = await mine.begin(batch(9, 10))
    assert suspects[("entity.before_create", 0)] >= 9


async def test_partitions_are_tracked_apart() -> None:
    tracker = RedeliveryTracker(InMemoryProcessedEvents(), "g", headroom=10)
    await tracker.begin(batch(0, 1, partition=0))
    suspects = await tracker.begin(batch(0, partition=1) + batch(2, partition=0))
    assert suspects == {("entity.before_create", 1): -1, ("entity.before_create", 0): 1}
