"""BatchConsumer on the real Kafka: commits trail the finish steps, failures rewind, stop drains."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from alloy_scripting.messaging.consumer import BatchConsumer

pytestmark = pytest.mark.integration

Finish = Callable[[], Awaitable[None]]


class Recorder:
    """A handler that notes what it is given, what is finished and what gets committed."""

    def __init__(self, *, finish_delay: float = 0.0) -> None:
        self.seen: list[tuple[int, int]] = []
        self.finished: set[tuple[int, int]] = set()
        self.commits: list[dict[int, int]] = []
        self.violations: list[str] = []
        self.finish_delay = finish_delay
        self.fail_handling: set[tuple[int, int]] = set()
        self.fail_finishing: set[tuple[int, int]] = set()

    async def handle(self, records: list[Any]) -> Finish:
        batch = [(r.partition, r.offset) for r in records]
        for item in batch:
            if item in self.fail_handling:
                self.fail_handling.discard(item)
                raise RuntimeError(f"cannot handle {item}")
        self.seen.extend(batch)
        failing = [item for item in batch if item in self.fail_finishing]

        async def finish() -> None:
            await asyncio.sleep(self.finish_delay)
            if failing:
                self.fail_finishing.difference_update(failing)
                raise RuntimeError(f"cannot finish {failing}")
            self.finished.update(batch)

        return finish

    def watch(self, consumer: BatchConsumer) -> None:
        commit = consumer.consumer.commit

        async def checked(offsets: dict[TopicPartition, int]) -> None:
            for tp, offset in offsets.items():
                missing = [o for o in range(offset) if (tp.partition, o) not in self.finished]
                if missing:
                    self.violations.append(f"committed {tp.partition}@{offset} before {missing}")
            self.commits.append({tp.partition: o for tp, o in offsets.items()})
            await commit(offsets)

        consumer.consumer.commit = checked  # type: ignore[method-assign]


async def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, count: int, partitions: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        sends = [
            await producer.send(topic, f"v{i}".encode(), partition=i % partitions)
            for i in range(count)
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        return {
            p: (await consumer.committed(TopicPartition(topic, p))) or 0 for p in range(partitions)
        }
    finally:
        await consumer.stop()


async def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def topic_with_records(bootstrap: str, name: str, partitions: int, count: int) -> str:
    topic = f"bc-{name}"
    await create_topic(bootstrap, topic, partitions)
    await produce(bootstrap, topic, count, partitions)
    return topic


async def run_until(consumer: BatchConsumer, condition: Callable[[], bool]) -> None:
    await consumer.start()
    try:
        await wait_until(condition)
    finally:
        await consumer.stop()


def start(bootstrap: str, topic: str, group: str, recorder: Recorder) -> BatchConsumer:
    consumer = BatchConsumer(
        [topic], recorder.handle, bootstrap=bootstrap, group_id=group, max_records=4
    )
    recorder.watch(consumer)
    return consumer


async def test_offsets_are_committed_only_after_the_finish_steps(
    kafka_bootstrap: str, unique_name: str
) -> None:
    group = f"g-{unique_name}"
    topic = await topic_with_records(kafka_bootstrap, unique_name, 2, 40)
    recorder = Recorder(finish_delay=0.05)
    consumer = start(kafka_bootstrap, topic, group, recorder)
    await run_until(consumer, lambda: len(recorder.finished) == 40)

    assert sorted(recorder.seen) == sorted((i % 2, i // 2) for i in range(40))
    for partition in (0, 1):  # in order within a partition
        offsets = [o for p, o in recorder.seen if p == partition]
        assert offsets == sorted(offsets)
    assert recorder.violations == []
    assert len(recorder.commits) < 10, "commits close together should be grouped"
    assert await committed(kafka_bootstrap, group, topic, 2) == {0: 20, 1: 20}


async def test_a_batch_that_fails_is_delivered_again_and_not_committed_past(
    kafka_bootstrap: str, unique_name: str
) -> None:
    group = f"g-{unique_name}"
    topic = await topic_with_records(kafka_bootstrap, unique_name, 1, 30)
    recorder = Recorder()
    recorder.fail_handling.add((0, 10))
    consumer = start(kafka_bootstrap, topic, group, recorder)
    await run_until(consumer, lambda: len(recorder.finished) == 30)

    offsets = [o for _, o in recorder.seen]
    assert offsets.count(10) == 1  # the failed attempt never reached `seen`
    assert set(offsets) == set(range(30))
    assert recorder.violations == []
    assert await committed(kafka_bootstrap, group, topic, 1) == {0: 30}


async def test_a_finish_step_that_fails_rewinds_to_the_first_uncommitted_offset(
    kafka_bootstrap: str, unique_name: str
) -> None:
    group = f"g-{unique_name}"
    topic = await topic_with_records(kafka_bootstrap, unique_name, 1, 30)
    recorder = Recorder(finish_delay=0.02)
    recorder.fail_finishing.add((0, 9))
    consumer = start(kafka_bootstrap, topic, group, recorder)
    await run_until(consumer, lambda: len(recorder.finished) == 30)

    offsets = [o for _, o in recorder.seen]
    assert offsets.count(9) == 2, "the batch whose finish failed comes again"
    assert offsets.count(29) >= 1 and set(offsets) == set(range(30))
    assert recorder.violations == []
    assert await committed(kafka_bootstrap, group, topic, 1) == {0: 30}


async def test_stop_commits_the_handled_batches_and_the_next_member_goes_on_from_there(
    kafka_bootstrap: str, unique_name: str
) -> None:
    group = f"g-{unique_name}"
    topic = await topic_with_records(kafka_bootstrap, unique_name, 1, 20)
    first = Recorder(finish_delay=0.3)  # finish steps still running when stop is called
    consumer = start(kafka_bootstrap, topic, group, first)
    await consumer.start()
    await wait_until(lambda: len(first.seen) == 20)
    await consumer.stop()
    assert len(first.finished) == 20 and first.violations == []
    assert await committed(kafka_bootstrap, group, topic, 1) == {0: 20}

    await produce(kafka_bootstrap, topic, 5, 1)
    second = Recorder()
    consumer = start(kafka_bootstrap, topic, group, second)
    await consumer.start()
    try:
        await wait_until(lambda: len(second.finished) == 5)
        await produce(kafka_bootstrap, topic, 1, 1)  # the marker, offset 25
        await wait_until(lambda: any(o == 25 for _, o in second.seen))
    finally:
        await consumer.stop()
    assert sorted(o for _, o in second.seen) == list(range(20, 26))


async def test_a_rebalance_waits_for_the_pending_commits(
    kafka_bootstrap: str, unique_name: str
) -> None:
    """A second member joins while the first has finish steps in flight: the first commits
    before it gives partitions up, so no record is handled by both."""
    group = f"g-{unique_name}"
    topic = await topic_with_records(kafka_bootstrap, unique_name, 4, 40)
    first, second = Recorder(finish_delay=4.0), Recorder()
    second.finished = first.finished  # one record set: commits are checked against both
    one = start(kafka_bootstrap, topic, group, first)
    await one.start()
    await wait_until(lambda: len(first.seen) == 40)
    assert not first.finished  # all 40 wait for their finish steps
    two = start(kafka_bootstrap, topic, group, second)
    await two.start()
    try:
        await wait_until(lambda: bool(two.consumer.assignment()), timeout=60)
        assert len(first.finished) == 40, "partitions moved before their commits"
        await produce(kafka_bootstrap, topic, 40, 4)
        await wait_until(lambda: len(first.finished) == 80, timeout=60)
    finally:
        await asyncio.gather(one.stop(), two.stop())

    assert second.seen, "the second member got no partition"
    handled: dict[tuple[int, int], int] = defaultdict(int)
    for item in first.seen + second.seen:
        handled[item] += 1
    assert set(handled) == {(p, o) for p in range(4) for o in range(20)}
    assert [item for item, n in handled.items() if n > 1] == []
    assert first.violations == [] and second.violations == []
