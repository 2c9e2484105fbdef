"""Shadow runs over in-memory stores: sampling, diffing, bounded examples, no side effects,
no records, no failure counting, and skipping (never queueing) when the pool is busy."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from alloy_scripting.engine import create_default_engine
from alloy_scripting.engine.config import EngineConfig
from alloy_scripting.model import EventType, ExecutionPhase, ExecutionStatus
from alloy_scripting.model.outcomes import Continue
from alloy_scripting.model.result import EmittedEvent, ExecutionResult
from alloy_scripting.model.script import Event, Script, utc_now
from alloy_scripting.model.shadow import (
    MAX_EXAMPLES,
    MAX_SIDE_CHARS,
    Shadow,
    ShadowSummary,
    ShadowTally,
    compare,
)
from alloy_scripting.runner.orchestrator import ScriptOrchestrator
from alloy_scripting.runner.records import Recording
from alloy_scripting.runner.shadow import ShadowJob, ShadowRunner
from alloy_scripting.runner.workers import PoolConfig, RunRequest, WorkerPool
from alloy_scripting.storage.memory import InMemoryStores
from alloy_scripting.storage.state_memory import InMemoryStateStore

ACTIVE = 'entity["status"] = "ok"'
CANDIDATE = 'entity["status"] = "checked"'
BUSY = "total = 0\nfor i in range(20000):\n    total += i * i % 7\nentity['t'] = total"


def result(status: ExecutionStatus = ExecutionStatus.SUCCESS, **fields: Any) -> ExecutionResult:
    return ExecutionResult(
        status,
        fields.pop("changes", {}),
        fields.pop("removed", []),
        {},
        ExecutionPhase.BEFORE,
        **fields,
    )


def shadow_of(script: Script, source: str = CANDIDATE, **fields: Any) -> Shadow:
    return Shadow(
        script_id=script.id,
        tenant_id=script.tenant_id,
        source=source,
        sample=fields.pop("sample", 1.0),
        until=fields.pop("until", utc_now() + timedelta(hours=1)),
        **fields,
    )


# -- model ----------------------------------------------------------------------------------


def test_compare_names_only_the_differing_parts() -> None:
    same, diff = compare(result(changes={"a": 1}), result(changes={"a": 1}))
    assert (same, diff) == ("same", {})
    verdict, diff = compare(
        result(changes={"a": 1}), result(changes={"a": 2}, emitted=[EmittedEvent("x", {})])
    )
    assert verdict == "different"
    assert diff["fields"] == ["changes", "emitted"]
    assert diff["active"] == {"changes": {"a": 1}, "emitted": []}
    assert diff["candidate"]["changes"] == {"a": 2}
    failed = result(ExecutionStatus.ERROR)
    assert compare(result(), failed)[0] == "error"
    assert compare(result(ExecutionStatus.ABORTED, reason="no"), result())[0] == "different"


def test_examples_are_bounded_newest_kept_and_trimmed() -> None:
    tally = ShadowTally()
    for i in range(MAX_EXAMPLES + 5):
        tally.add("different", {"at": f"{i:03d}", "n": i})
    tally.add("same")
    tally.skip()
    assert (tally.runs, tally.same, tally.different, tally.skipped) == (26, 1, 25, 1)
    assert len(tally.examples) == MAX_EXAMPLES
    assert tally.examples[0]["n"] == 5 and tally.examples[-1]["n"] == MAX_EXAMPLES + 4
    _, diff = compare(result(changes={"big": "x" * 10_000}), result())
    assert isinstance(diff["active"], str) and len(diff["active"]) == MAX_SIDE_CHARS
    merged = ShadowSummary.merge([tally, ShadowTally.from_dict(tally.to_dict())])
    assert merged.runs == 52 and merged.different == 50 and len(merged.examples) == MAX_EXAMPLES


# -- runner over the orchestrator (inline) --------------------------------------------------


@pytest.fixture
def stores() -> InMemoryStores:
    return InMemoryStores()


def orchestrator_for(stores: InMemoryStores, sampler: Any = None) -> ScriptOrchestrator:
    engine = create_default_engine()
    orchestrator = ScriptOrchestrator(stores.scripts, engine, stores.executions)
    options = {} if sampler is None else {"sampler": sampler}
    orchestrator.shadows = ShadowRunner(
        stores.shadows, engine, instance_id="i1", flush_linger=0.0, **options
    )
    return orchestrator


async def add(stores: InMemoryStores, source: str, event: str = "before_create") -> Script:
    script = Script.new("s", source, Event("deal", EventType(event))).activate()
    return await stores.scripts.save(script)


async def test_the_answer_is_the_active_ones_and_the_difference_is_tallied(
    stores: InMemoryStores,
) -> None:
    script = await add(stores, ACTIVE)
    plain = await orchestrator_for(stores).run_before("deal", "before_create", {"n": 1})
    orchestrator = orchestrator_for(stores)
    shadow = shadow_of(script)
    await stores.shadows.put(shadow)
    outcome = await orchestrator.run_before("deal", "before_create", {"n": 1})
    assert isinstance(outcome, Continue) and outcome.changes == {"status": "ok"}
    assert outcome.model_dump(exclude={"executed"}) == plain.model_dump(exclude={"executed"})
    runner = orchestrator.shadows
    assert runner is not None
    await runner.wait_idle()
    summary = await runner.summary(shadow)
    assert (summary.runs, summary.different, summary.same, summary.errors) == (1, 1, 0, 0)
    example = summary.examples[0]
    assert example["kind"] == "different" and example["fields"] == ["changes"]
    assert example["active"] == {"changes": {"status": "ok"}}
    assert example["candidate"] == {"changes": {"status": "checked"}}
    assert example["execution_id"]  # the active run's record
    # only the active runs wrote execution records (one per hook call)
    page = await stores.executions.find_by_script(script.id, 0, 50)
    assert page.total == 2
    await runner.flush()
    assert (await stores.shadows.tallies(shadow.id))["i1"].different == 1


async def test_a_failing_candidate_is_an_error_never_a_failure_of_the_script(
    stores: InMemoryStores,
) -> None:
    script = await add(stores, ACTIVE)
    orchestrator = orchestrator_for(stores)
    shadow = shadow_of(script, 'raise ValueError("candidate broke")')
    await stores.shadows.put(shadow)
    assert orchestrator.shadows is not None
    for _ in range(4):
        outcome = await orchestrator.run_before("deal", "before_create", {"n": 1})
        assert isinstance(outcome, Continue) and outcome.changes == {"status": "ok"}
        await orchestrator.shadows.wait_idle()  # inline: one shadow run at a time
    summary = await orchestrator.shadows.summary(shadow)
    assert summary.errors == 4 and summary.runs == 4
    assert "candidate broke" in summary.examples[0]["candidate"]["error"]
    stored = await stores.scripts.get(script.id)
    assert stored.error_count == 0 and stored.is_active


async def test_sampling_and_expiry_decide_which_events_run_the_candidate(
    stores: InMemoryStores,
) -> None:
    script = await add(stores, ACTIVE)
    draws = iter([0.2, 0.7, 0.49, 0.5])
    orchestrator = orchestrator_for(stores, sampler=lambda: next(draws))
    runner = orchestrator.shadows
    assert runner is not None
    await stores.shadows.put(shadow_of(script, sample=0.5))
    picked = [await runner.pick(script) is not None for _ in range(4)]
    assert picked == [True, False, True, False]
    expired = shadow_of(script, until=utc_now() - timedelta(seconds=1))
    await stores.shadows.put(expired)
    runner.invalidate(script.tenant_id)
    assert await runner.pick(script) is None
    await stores.shadows.put(shadow_of(script))
    assert await runner.pick(script) is None  # cached until a change is announced
    await orchestrator.scripts_changed(script.tenant_id)
    assert await runner.pick(script) is not None


async def test_a_recording_keeps_the_jobs_for_the_caller_to_launch(stores: InMemoryStores) -> None:
    script = await add(stores, ACTIVE)
    orchestrator = orchestrator_for(stores)
    shadow = shadow_of(script)
    await stores.shadows.put(shadow)
    recording = Recording("k1")
    event = _event()
    await orchestrator.before(event, recording=recording)
    assert [job.shadow.id for job in recording.shadow_jobs] == [shadow.id]
    assert recording.shadow_jobs[0].entity == {"n": 1}  # the input, not the changed entity
    assert orchestrator.shadows is not None
    assert (await orchestrator.shadows.summary(shadow)).runs == 0  # not launched yet
    orchestrator.shadows.launch(recording.shadow_jobs)
    await orchestrator.shadows.wait_idle()
    assert (await orchestrator.shadows.summary(shadow)).different == 1


def _with(job: ShadowJob, shadow: Shadow) -> ShadowJob:
    from dataclasses import replace

    return replace(job, shadow=shadow)


def _event() -> Any:
    from alloy_scripting.model.events import EntityEvent

    return EntityEvent(
        event_id="e1", entity_type="deal", entity_id="d1", event="before_create", data={"n": 1}
    )


# -- through the worker pool ----------------------------------------------------------------


async def test_on_the_pool_a_candidate_performs_no_effect_and_skips_when_busy(
    stores: InMemoryStores,
) -> None:
    state = InMemoryStateStore()
    effects = (
        'emit("deal.seen", {"id": ctx.entity_id})\n'
        'store.put("seen", "k", {"v": 1})\n'
        'http_post("https://hooks.example.com/x", json={})\n'
    )
    script = await add(stores, 'emit("deal.seen", {"id": ctx.entity_id})', "after_create")
    shadow = shadow_of(script, effects)
    config = PoolConfig(size=1)
    async with WorkerPool(EngineConfig(timeout=2), config) as pool:
        runner = ShadowRunner(
            stores.shadows, create_default_engine(), instance_id="i1", pool=pool, state=state
        )
        job = ShadowJob(
            shadow, script, ExecutionPhase.AFTER, EventType.AFTER_CREATE, "deal", "d1",
            {"n": 1}, None, None, None, "e1",
            active=result(emitted=[EmittedEvent("deal.seen", {"id": "d1"})]),
        )  # fmt: skip
        await runner.run(job)
        summary = await runner.summary(shadow)
        assert summary.errors == 1
        assert "writes nothing" in summary.examples[-1]["candidate"]["error"]
        http = shadow_of(script, 'http_post("https://hooks.example.com/x", json={})')
        await runner.run(_with(job, http))
        refused = (await runner.summary(http)).examples[-1]["candidate"]["error"]
        assert "a shadow run performs no HTTP call" in refused
        same = shadow_of(script, 'emit("deal.seen", {"id": ctx.entity_id})')
        await runner.run(_with(job, same))
        assert (await runner.summary(same)).same == 1  # the emit is compared, not published
        assert await state.get(None, "seen", "k") is None
        # The one worker busy with a live run: the shadow run is skipped at once.
        live = asyncio.ensure_future(
            pool.run(RunRequest(BUSY, ExecutionPhase.MANUAL, entity={}, tenant_id=None))
        )
        await asyncio.sleep(0.01)
        await runner.run(job)
        assert (await runner.summary(shadow)).skipped == 1
        assert not live.done()
        assert (await live).status is ExecutionStatus.SUCCESS
        assert pool.queue.busy == {}


async def test_in_a_chain_the_candidate_sees_the_entity_as_its_script_did(
    stores: InMemoryStores,
) -> None:
    first = Script.new("first", 'entity["net"] = entity["n"] * 10', Event("deal", EventType.BEFORE_CREATE), priority=1)  # fmt: skip
    await stores.scripts.save(first.activate())
    second = Script.new("second", 'entity["total"] = entity["net"] + 1', Event("deal", EventType.BEFORE_CREATE), priority=2)  # fmt: skip
    second = await stores.scripts.save(second.activate())
    orchestrator = orchestrator_for(stores)
    shadow = shadow_of(second, 'entity["total"] = entity["net"] + 2')
    await stores.shadows.put(shadow)
    recording = Recording("k2")
    outcome = await orchestrator.before(_event(), recording=recording)
    assert isinstance(outcome, Continue) and outcome.changes == {"net": 10, "total": 11}
    [job] = recording.shadow_jobs
    assert job.entity == {"n": 1, "net": 10}  # after the first script's changes
    assert orchestrator.shadows is not None
    await orchestrator.shadows.run(job)
    [example] = orchestrator.shadows.tally(shadow.id).examples
    assert (example["active"], example["candidate"]) == (
        {"changes": {"total": 11}},
        {"changes": {"total": 12}},
    )


@pytest.mark.parametrize("on_pool", [False, True])
async def test_a_templated_scripts_candidate_sees_its_config(
    stores: InMemoryStores, on_pool: bool
) -> None:
    from alloy_scripting.model.template_ref import TemplateRef

    source = 'entity["limit"] = config["limit"]'
    script = Script.new("s", source, Event("deal", EventType.BEFORE_CREATE)).activate()
    script = script.model_copy(
        update={"template": TemplateRef(id="t", version=1, params={"limit": 7})}
    )
    await stores.scripts.save(script)
    shadow = shadow_of(script, 'entity["limit"] = config["limit"] + 1')
    job = ShadowJob(
        shadow, script, ExecutionPhase.BEFORE, EventType.BEFORE_CREATE, "deal", "d1",
        {"n": 1}, None, None, None, "e1", active=result(changes={"limit": 7}),
    )  # fmt: skip
    if on_pool:
        async with WorkerPool(EngineConfig(timeout=2), PoolConfig(size=1)) as pool:
            runner = ShadowRunner(
                stores.shadows, create_default_engine(), instance_id="i", pool=pool
            )
            await runner.run(job)
            summary = await runner.summary(shadow)
    else:
        runner = ShadowRunner(stores.shadows, create_default_engine(), instance_id="i")
        await runner.run(job)
        summary = await runner.summary(shadow)
    assert (summary.different, summary.errors) == (1, 0), summary.examples
    assert summary.examples[-1]["candidate"]["changes"] == {"limit": 8}
