"""Topic names of the Kafka surface (all share one configurable prefix)."""

from __future__ import annotations

from dataclasses import dataclass

from alloy_scripting.model import EventType, ExecutionPhase


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
