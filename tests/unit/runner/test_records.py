"""Manual, API and scheduled runs write their execution record (store and listeners, the
Kafka copy in the service) before the run returns; a failed write fails the run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alloy_scripting.engine import create_default_engine
from alloy_scripting.model.enums import ExecutionPhase
from alloy_scripting.model.events import SideEffect
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.script import Cron, Manual, Script
from alloy_scripting.runner.orchestrator import ScriptOrchestrator
from alloy_scripting.storage.memory import InMemoryStores

EMITS = 'emit("report.ready", {"n": params.get("n", 0)})'


class Harness:
    def __init__(self) -> None:
        self.stores = InMemoryStores()
        self.published: list[ExecutionRecord] = []
        self.effects: list[SideEffect] = []
        self.failing = False

        async def publish(records: list[ExecutionRecord]) -> None:
            if self.failing:
                raise ConnectionError("Kafka went away")
            self.published.extend(records)

        async def sink(effects: list[SideEffect]) -> None:
            self.effects.extend(effects)

        self.orchestrator = ScriptOrchestrator(
            self.stores.scripts,
            create_default_engine(),
            self.stores.executions,
            effects_sink=sink,
            record_listeners=[publish],
        )

    async def stored(self, script: Script) -> list[ExecutionRecord]:
        return (await self.stores.executions.find_by_script(script.id)).items


@pytest.fixture
def harness() -> Harness:
    return Harness()


async def test_a_manual_run_returns_with_its_record_stored_and_published(
    harness: Harness,
) -> None:
    script = await harness.stores.scripts.save(Script.new("report", EMITS, Manual()).activate())
    _, result, effects = await harness.orchestrator.run_manual(script.id, params={"n": 3})
    [record] = await harness.stored(script)
    assert record.phase is ExecutionPhase.MANUAL and record.status is result.status
    assert [r.id for r in harness.published] == [record.id]
    assert harness.effects == effects and len(effects) == 1


async def test_a_scheduled_run_returns_with_its_record_stored_and_published(
    harness: Harness,
) -> None:
    script = await harness.stores.scripts.save(
        Script.new("nightly", EMITS, Cron("0 2 * * *")).activate()
    )
    await harness.orchestrator.run_scheduled(script, datetime(2026, 1, 1, 2, tzinfo=UTC))
    [record] = await harness.stored(script)
    assert record.phase is ExecutionPhase.SCHEDULED
    assert [r.id for r in harness.published] == [record.id]


async def test_a_run_whose_record_cannot_be_written_fails_and_emits_nothing(
    harness: Harness,
) -> None:
    script = await harness.stores.scripts.save(Script.new("report", EMITS, Manual()).activate())
    harness.failing = True
    with pytest.raises(ConnectionError):
        await harness.orchestrator.run_manual(script.id)
    assert harness.effects == [] and harness.published == []


async def test_a_dry_run_writes_no_record(harness: Harness) -> None:
    script = await harness.stores.scripts.save(Script.new("report", EMITS, Manual()).activate())
    await harness.orchestrator.run_manual(script.id, dry_run=True)
    assert await harness.stored(script) == [] and harness.published == []
