"""ScriptOrchestrator over in-memory storage and the real engine."""

from __future__ import annotations

import pytest

from alloy_scripting.engine import create_default_engine
from alloy_scripting.engine.entity import EntityProxy
from alloy_scripting.model import EventType, ExecutionStatus, ScriptStatus
from alloy_scripting.model.events import SideEffect
from alloy_scripting.model.outcomes import Continue, Error, Rejected
from alloy_scripting.model.script import Event, Manual, Script
from alloy_scripting.runner.orchestrator import ScriptOrchestrator, create_orchestrator
from alloy_scripting.storage.memory import InMemoryExecutionLog, InMemoryStorage


@pytest.fixture
def storage() -> InMemoryStorage:
    return InMemoryStorage()


@pytest.fixture
def log() -> InMemoryExecutionLog:
    return InMemoryExecutionLog()


@pytest.fixture
def orchestrator(storage: InMemoryStorage, log: InMemoryExecutionLog) -> ScriptOrchestrator:
    return ScriptOrchestrator(storage, create_default_engine(), log)


async def add(storage: InMemoryStorage, name: str, source: str, event: str, **kw: object) -> Script:
    script = Script.new(name, source, Event("deal", EventType(event)), **kw).activate()  # type: ignore[arg-type]
    return await storage.for_tenant(script.tenant_id).save(script)


async def test_scripts_run_in_priority_order_and_see_earlier_changes(
    storage: InMemoryStorage, orchestrator: ScriptOrchestrator
) -> None:
    await add(storage, "b", 'entity["total"] = entity["net"] * 2', "before_update", priority=5)
    await add(storage, "a", 'entity["net"] = 21', "before_update", priority=1)
    outcome = await orchestrator.run_before("deal", "before_update", {"net": 1, "old": True})
    assert isinstance(outcome, Continue)
    assert outcome.changes == {"net": 21, "total": 42}
    assert [e.name for e in outcome.executed] == ["a", "b"]


async def test_removed_fields_are_reported_apart_from_changes(
    storage: InMemoryStorage, orchestrator: ScriptOrchestrator
) -> None:
    await add(storage, "strip", 'del entity["secret"]', "before_create")
    outcome = await orchestrator.run_before("deal", "before_create", {"secret": 1, "x": 2})
    assert isinstance(outcome, Continue)
    assert outcome.changes == {}
    assert outcome.removed == ["secret"]


async def test_first_abort_rejects_and_stops_the_chain(
    storage: InMemoryStorage, orchestrator: ScriptOrchestrator
) -> None:
    await add(storage, "no", 'abort("nope")', "before_create", priority=1)
    await add(storage, "later", 'entity["x"] = 1', "before_create", priority=2)
    outcome = await orchestrator.run_before("deal", "before_create", {})
    assert isinstance(outcome, Rejected)
    assert (outcome.reason, outcome.script) == ("nope", "no")
    assert [e.name for e in outcome.executed] == ["no"]


async def test_error_fails_closed_unless_on_error_continue(
    storage: InMemoryStorage, orchestrator: ScriptOrchestrator
) -> None:
    await add(storage, "boom", "x = {}['missing']", "before_create", priority=1)
    await add(storage, "after", 'entity["ok"] = True', "before_create", priority=2)
    outcome = await orchestrator.run_before("deal", "before_create", {})
    assert isinstance(outcome, Error)
    assert outcome.script == "boom"
    assert "KeyError" in outcome.error

    tolerant = await add(
        storage, "tolerant", "while True:\n    pass", "before_update", on_error="continue"
    )
    await add(storage, "next", 'entity["ok"] = True', "before_update", priority=9)
    outcome = await orchestrator.run_before("deal", "before_update", {})
    assert isinstance(outcome, Continue)
    assert outcome.changes == {"ok": True}
    assert outcome.executed[0].name == tolerant.name
    assert outcome.executed[0].status in (ExecutionStatus.TIMEOUT, ExecutionStatus.LIMIT_EXCEEDED)


async def test_three_failures_disable_and_the_hook_stops_running_it(
    storage: InMemoryStorage, orchestrator: ScriptOrchestrator, log: InMemoryExecutionLog
) -> None:
    script = await add(storage, "broken", "1 / 0", "before_create")
    for _ in range(3):
        assert isinstance(await orchestrator.run_before("deal", "before_create", {}), Error)
    stored = await storage.get(script.id)
    assert stored.status is ScriptStatus.DISABLED
    assert stored.last_error is not None and "ZeroDivisionError" in stored.last_error.message
    outcome = await orchestrator.run_before("deal", "before_create", {})
    assert isinstance(outcome, Continue) and outcome.executed == []
    page = await log.find_by_script(script.id, 0, 10)
    assert page.total == 3
    assert {r.status for r in page.items} == {ExecutionStatus.ERROR}

    await storage.reset(script.id)
    await orchestrator.scripts_changed(None)
    assert isinstance(await orchestrator.run_before("deal", "before_create", {}), Error)


async def test_a_success_resets_the_failure_count(
    storage: InMemoryStorage, orchestrator: ScriptOrchestrator
) -> None:
    script = await add(storage, "flaky", 'if entity["fail"]:\n    1 / 0', "before_create")
    await orchestrator.run_before("deal", "before_create", {"fail": True})
    await orchestrator.run_before("deal", "before_create", {"fail": True})
    assert (await storage.get(script.id)).error_count == 2
    await orchestrator.scripts_changed(None)  # the cached copy still says 0 failures
    await orchestrator.run_before("deal", "before_create", {"fail": False})
    assert (await storage.get(script.id)).error_count == 0


async def test_after_hooks_run_all_and_collect_effects_of_successful_scripts(
    storage: InMemoryStorage, orchestrator: ScriptOrchestrator
) -> None:
    ok = await add(
        storage,
        "ok",
        'emit("deal.changed", {"from": entity_before["a"], "to": entity["a"]})',
        "after_update",
    )
    await add(storage, "bad", 'emit("never", {})\n1 / 0', "after_update", priority=-1)
    outcome = await orchestrator.run_after(
        "deal", "after_update", {"a": 2}, {"a": 1}, event_id="e1"
    )
    assert [e.name for e in outcome.executed] == ["bad", "ok"]
    assert [e.name for e in outcome.failed] == ["bad"]
    [effect] = outcome.effects
    assert effect.event_type == "deal.changed"
    assert effect.payload == {"from": 1, "to": 2}
    assert effect.event_id == SideEffect.derive_id("e1", ok.id, 0)
    again = await orchestrator.run_after("deal", "after_update", {"a": 2}, {"a": 1}, event_id="e1")
    assert again.effects[0].event_id == effect.event_id


async def test_run_manual_by_id_and_by_name_with_params(
    storage: InMemoryStorage, orchestrator: ScriptOrchestrator
) -> None:
    script = Script.new(
        "report",
        'log("hello " + params["who"])\nemit("report.done", {"who": params["who"]})',
        Manual(),
    )
    script = await storage.save(script)
    sent: list[SideEffect] = []

    async def sink(effects: list[SideEffect]) -> None:
        sent.extend(effects)

    orchestrator.effects_sink = sink
    _, result, effects = await orchestrator.run_manual(script.id, params={"who": "ops"})
    assert result.status is ExecutionStatus.SUCCESS
    assert [entry.message for entry in result.logs] == ["hello ops"]
    assert sent == effects and effects[0].payload == {"who": "ops"}
    _, result, _ = await orchestrator.run_manual(name="report", params={"who": "dev"}, dry_run=True)
    assert result.status is ExecutionStatus.SUCCESS
    assert len(sent) == 1  # dry runs publish nothing


async def test_trigger_lookups_are_cached_until_invalidated(
    storage: InMemoryStorage, orchestrator: ScriptOrchestrator
) -> None:
    script = await add(storage, "v", 'entity["v"] = 1', "before_create")
    assert (await orchestrator.run_before("deal", "before_create", {})).changes == {"v": 1}  # type: ignore[union-attr]
    script.source = 'entity["v"] = 2'
    await storage.save(script)
    assert (await orchestrator.run_before("deal", "before_create", {})).changes == {"v": 1}  # type: ignore[union-attr]
    await orchestrator.scripts_changed(None)
    assert (await orchestrator.run_before("deal", "before_create", {})).changes == {"v": 2}  # type: ignore[union-attr]


async def test_tenants_are_isolated(
    storage: InMemoryStorage, orchestrator: ScriptOrchestrator
) -> None:
    await add(storage, "acme", 'abort("acme only")', "before_create", tenant_id="acme")
    assert isinstance(
        await orchestrator.run_before("deal", "before_create", {}, tenant_id="acme"), Rejected
    )
    assert isinstance(
        await orchestrator.run_before("deal", "before_create", {}, tenant_id="other"), Continue
    )
    assert isinstance(await orchestrator.run_before("deal", "before_create", {}), Continue)


async def test_wrong_phase_is_refused(orchestrator: ScriptOrchestrator) -> None:
    with pytest.raises(ValueError, match="before_"):
        await orchestrator.run_before("deal", "after_create", {})


async def test_create_orchestrator_seed_signature() -> None:
    storage = InMemoryStorage()
    orchestrator = create_orchestrator(storage)
    await add(
        storage, "validate", 'if entity["amount"] < 100:\n    abort("too small")', "before_create"
    )
    outcome = await orchestrator.run_before(
        "deal", EventType.BEFORE_CREATE, EntityProxy("1", "deal", {"amount": 5}), None
    )
    assert isinstance(outcome, Rejected)
