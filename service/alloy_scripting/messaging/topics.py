"""Topics of the Kafka surface: their names (all share one configurable prefix), the
consumer groups of the hook topics, and their creation."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from alloy_scripting.model import EventType, ExecutionPhase
from alloy_scripting.settings import Settings


@dataclass(frozen=True)
class Topics:
    prefix: str = ""

    def entity(self, event: EventType | str) -> str:
        """`entity.before_create` … `entity.on_commit_delete`."""
        return f"{self.prefix}entity.{EventType(event).value}"

    def by_phase(self, phase: ExecutionPhase) -> list[str]:
        return [self.entity(e) for e in EventType if e.phase is phase]

    @property
    def before(self) -> list[str]:
        return self.by_phase(ExecutionPhase.BEFORE)

    @property
    def after_and_on_commit(self) -> list[str]:
        return self.by_phase(ExecutionPhase.AFTER) + self.by_phase(ExecutionPhase.ON_COMMIT)

    @property
    def effects(self) -> str:
        return f"{self.prefix}alloy.effects"

    @property
    def executions(self) -> str:
        return f"{self.prefix}alloy.executions"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}alloy.dlq"

    @property
    def scripts_changed(self) -> str:
        return f"{self.prefix}alloy.scripts.changed"

    @property
    def all(self) -> list[str]:
        return [
            *self.before,
            *self.after_and_on_commit,
            self.effects,
            self.executions,
            self.dlq,
            self.scripts_changed,
        ]


def hook_groups(topics: Topics, consumer_group: str) -> list[tuple[list[str], str]]:
    """The hook topics and their consumer groups: before-hooks, then after/on-commit (a
    group of their own, so that slow side effects never delay a before-hook answer)."""
    return [
        (topics.before, consumer_group),
        (topics.after_and_on_commit, f"{consumer_group}.effects"),
    ]


async def ensure_topics(settings: Settings, topics: Topics) -> None:
    """Create the service's topics when missing (works with auto-create off too)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics.all if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(t, num_partitions=settings.topic_partitions, replication_factor=1)
                        for t in missing
                    ]
                )
    finally:
        await admin.close()
