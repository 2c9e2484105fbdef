"""POST /executions/{id}/replay: a recorded run's kept input run again as a debug run, with
the current, a stored or an unsaved version, and its diff against the recorded run.
Collected again against FerretDB by tests/integration/api."""

from __future__ import annotations

from typing import Any

import httpx

from alloy_scripting.model.enums import EventType, ExecutionPhase, ExecutionStatus
from alloy_scripting.model.events import EntityEvent, SideEffect
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.runner.service import Runtime
from tests.unit.api.fixtures import assert_problem, create

A = {"X-Tenant-Id": "tenant-a"}
B = {"X-Tenant-Id": "tenant-b"}

DELTA = """\
delta = entity["amount"] - entity_before["amount"]
entity["delta"] = delta
log("delta", delta, ctx.entity_id)
emit("deal.changed", {"id": ctx.entity_id, "delta": delta})
"""
DELTA_V2 = """\
delta = entity["amount"] - entity_before["amount"]
entity["delta"] = delta * 2
entity["checked"] = True
emit("deal.changed", {"id": ctx.entity_id, "delta": delta * 2})
"""


def event_body(name: str, source: str, event: str = "after_update") -> dict[str, Any]:
    return {
        "name": name,
        "source": source,
        "trigger": {"type": "event", "entity_type": "deal", "event": event},
        "status": "active",
    }


def deal_event(amount: int, before: int, event: EventType = EventType.AFTER_UPDATE) -> EntityEvent:
    return EntityEvent(
        tenant_id="tenant-a",
        user_id="ulla",
        entity_type="deal",
        entity_id="d-7",
        event=event,
        data={"amount": amount, "owner": {"name": "ada"}},
        before={"amount": before},
    )


async def latest_record(client: httpx.AsyncClient, script_id: str) -> dict[str, Any]:
    page = await client.get("/executions", params={"script_id": script_id}, headers=A)
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    assert items, "no execution record"
    return items[0]


async def replay(
    client: httpx.AsyncClient, record_id: str, headers: dict[str, str] = A, **body: Any
) -> httpx.Response:
    return await client.post(f"/executions/{record_id}/replay", json=body, headers=headers)


async def test_a_hook_run_keeps_its_input_and_replays_the_same(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    script = await create(client, event_body("delta", DELTA), **A)
    outcome = await runtime.orchestrator.effects(deal_event(150, 100))
    assert [e.event_type for e in outcome.effects] == ["deal.changed"]

    record = await latest_record(client, script["id"])
    assert record["replayable"] is True and record["not_replayable"] is None
    assert record["input"]["event"] == "after_update"
    assert record["input"]["entity"] == {"amount": 150, "owner": {"name": "ada"}}
    assert record["input"]["entity_before"] == {"amount": 100}
    assert record["input"]["ctx"]["entity_id"] == "d-7"
    assert record["input"]["ctx"]["user_id"] == "ulla"
    assert record["emitted"] == [
        {"event_type": "deal.changed", "payload": {"id": "d-7", "delta": 50}}
    ]

    replayed = await replay(client, record["id"])
    assert replayed.status_code == 200, replayed.text
    body = replayed.json()
    assert body["version"] == 1 and body["recorded_version"] == 1
    assert body["result"]["status"] == "success"
    assert body["result"]["changes"] == {"delta": 50}
    assert body["diff"]["same"] is True, body["diff"]
    assert body["diff"]["changes"] == {} and body["diff"]["status"] is None
    assert body["intents"] == [
        {"kind": "emit", "event_type": "deal.changed", "payload": {"id": "d-7", "delta": 50}}
    ]


async def test_a_changed_source_shows_the_changed_keys_and_events(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    script = await create(client, event_body("delta", DELTA), **A)
    await runtime.orchestrator.effects(deal_event(150, 100))
    record = await latest_record(client, script["id"])

    body = (await replay(client, record["id"], source=DELTA_V2)).json()
    assert body["version"] is None
    diff = body["diff"]
    assert diff["same"] is False
    assert diff["outcome"] is None and diff["status"] is None
    assert diff["changes"] == {
        "delta": {"kind": "changed", "before": 50, "after": 100},
        "checked": {"kind": "added", "before": None, "after": True},
    }
    assert diff["emitted"] == {
        "added": [{"event_type": "deal.changed", "payload": {"id": "d-7", "delta": 100}}],
        "removed": [{"event_type": "deal.changed", "payload": {"id": "d-7", "delta": 50}}],
    }

    aborting = 'abort("no more deltas")\n'
    body = (await replay(client, record["id"], source=aborting)).json()
    assert body["diff"]["outcome"] == {"before": "continue", "after": "rejected"}
    assert body["diff"]["status"] == {"before": "success", "after": "aborted"}
    assert body["diff"]["reason"] == {"before": None, "after": "no more deltas"}
    assert body["diff"]["changes"] == {"delta": {"kind": "removed", "before": 50, "after": None}}
    assert body["diff"]["emitted"]["removed"] == record["emitted"]


async def test_replays_with_a_stored_or_the_current_version(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    script = await create(client, event_body("delta", DELTA), **A)
    await runtime.orchestrator.effects(deal_event(150, 100))
    first = await latest_record(client, script["id"])
    updated = await client.put(
        f"/scripts/{script['id']}", json={"source": DELTA_V2, "revision": script["revision"]},
        headers=A,
    )  # fmt: skip
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    await runtime.orchestrator.effects(deal_event(130, 100))
    second = await latest_record(client, script["id"])
    assert second["script_version"] == 2 and second["changes"] == {"delta": 60, "checked": True}

    current = (await replay(client, first["id"])).json()  # v2 on v1's input
    assert current["version"] == 2 and current["recorded_version"] == 1
    assert current["diff"]["changes"]["delta"] == {"kind": "changed", "before": 50, "after": 100}

    old = (await replay(client, second["id"], version=1)).json()  # v1 on v2's input
    assert old["version"] == 1 and old["recorded_version"] == 2
    assert old["result"]["changes"] == {"delta": 30}
    assert old["diff"]["changes"] == {
        "delta": {"kind": "changed", "before": 60, "after": 30},
        "checked": {"kind": "removed", "before": True, "after": None},
    }
    same = (await replay(client, second["id"], version=2)).json()
    assert same["diff"]["same"] is True, same["diff"]

    assert_problem(await replay(client, first["id"], version=9), 404, "not-found")


async def test_a_before_hook_record_keeps_what_its_script_saw(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    first = await create(
        client,
        {**event_body("first", 'entity["status"] = "seen"\n', "before_create"), "priority": 1},
        **A,
    )
    second = await create(
        client,
        {
            **event_body("second", 'if entity["amount"] < 100:\n    abort("too small")\n',
                         "before_create"),
            "priority": 2,
        },
        **A,
    )  # fmt: skip
    event = EntityEvent(
        tenant_id="tenant-a", entity_type="deal", entity_id="d-1",
        event=EventType.BEFORE_CREATE, data={"amount": 50},
    )  # fmt: skip
    await runtime.orchestrator.before(event)
    one = await latest_record(client, first["id"])
    two = await latest_record(client, second["id"])
    assert one["input"]["entity"] == {"amount": 50}  # as before the run, not after
    assert one["changes"] == {"status": "seen"}
    assert two["input"]["entity"] == {"amount": 50, "status": "seen"}  # the chain's
    assert two["status"] == "aborted"

    body = (await replay(client, two["id"])).json()
    assert body["result"]["status"] == "aborted" and body["diff"]["same"] is True
    lenient = 'if entity["amount"] < 10:\n    abort("too small")\n'
    body = (await replay(client, two["id"], source=lenient)).json()
    assert body["diff"]["outcome"] == {"before": "rejected", "after": "continue"}


async def test_a_replay_has_no_side_effect_and_keeps_no_books(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    published: list[SideEffect] = []

    async def sink(effects: list[SideEffect]) -> None:
        published.extend(effects)

    runtime.orchestrator.effects_sink = sink
    body = {"name": "greeter", "source": 'emit("hi", {"n": params["n"]})\n',
            "trigger": {"type": "manual"}, "status": "active"}  # fmt: skip
    script = await create(client, body, **A)
    ran = await client.post(f"/scripts/{script['id']}/run", json={"params": {"n": 1}}, headers=A)
    assert ran.status_code == 200 and len(published) == 1
    record = await latest_record(client, script["id"])
    assert record["input"]["params"] == {"n": 1}

    failing = 'emit("hi", {"n": 2})\nraise ValueError("boom")\n'
    for source in (None, failing, failing, failing):
        answer = await replay(client, record["id"], **({"source": source} if source else {}))
        assert answer.status_code == 200, answer.text
    assert answer.json()["diff"]["status"] == {"before": "success", "after": "error"}
    assert answer.json()["diff"]["emitted"]["removed"] == [
        {"event_type": "hi", "payload": {"n": 1}}
    ]
    assert len(published) == 1  # nothing more was published
    page = (await client.get("/executions", params={"script_id": script["id"]}, headers=A)).json()
    assert page["total"] == 1  # replays are not logged
    stored = (await client.get(f"/scripts/{script['id']}", headers=A)).json()
    assert stored["status"] == "active" and stored["error_count"] == 0  # nor counted


async def test_a_record_without_its_input_is_not_replayable(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    script = await create(client, event_body("delta", DELTA), **A)
    runtime.orchestrator.executor.input_limit = 200
    event = deal_event(150, 100)
    big = event.model_copy(update={"data": {"amount": 150, "notes": "x" * 300}})
    await runtime.orchestrator.effects(big)
    record = await latest_record(client, script["id"])
    assert record["replayable"] is False and record["input"] is None
    assert "above the limit of 200" in record["not_replayable"]
    problem = assert_problem(await replay(client, record["id"]), 409, "not-replayable")
    assert "above the limit of 200" in problem["detail"]

    old = ExecutionRecord(
        script_id=script["id"], script_version=1, script_name="delta", tenant_id="tenant-a",
        phase=ExecutionPhase.AFTER, status=ExecutionStatus.SUCCESS,
    )  # fmt: skip
    await runtime.stores.executions.append(old)
    problem = assert_problem(await replay(client, old.id), 409, "not-replayable")
    assert "keeps no input" in problem["detail"]


async def test_replay_is_tenant_scoped_and_checks_its_input(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    script = await create(client, event_body("delta", DELTA), **A)
    await runtime.orchestrator.effects(deal_event(150, 100))
    record = await latest_record(client, script["id"])

    assert_problem(await replay(client, record["id"], B), 404, "not-found")
    assert_problem(await replay(client, "no-such-record"), 404, "not-found")
    invalid = assert_problem(
        await replay(client, record["id"], source="x = undefined_name + 1\n"), 422,
        "script-invalid",
    )  # fmt: skip
    assert any("undefined_name" in d["message"] for d in invalid["diagnostics"])
    assert_problem(await replay(client, record["id"], source="abort(\n"), 422, "script-invalid")
    wrong_phase = assert_problem(  # validated for the record's phase (after)
        await replay(client, record["id"], source='validate_email("a@b.c")\n'), 422,
        "script-invalid",
    )  # fmt: skip
    assert "'after' phase" in wrong_phase["detail"]
    assert_problem(await replay(client, record["id"], version=1, source=DELTA), 422, "validation")


async def test_any_field_name_is_kept_and_replayed(client: httpx.AsyncClient) -> None:
    """Field names a MongoDB document refuses (dots, a leading `$`) are kept as well."""
    body = {"name": "copier", "source": 'entity["n"] = len(entity)\n',
            "trigger": {"type": "manual"}, "status": "active"}  # fmt: skip
    script = await create(client, body, **A)
    entity = {"a.b": 1, "$c": {"d.e": [2, {"$f": None}]}}
    ran = await client.post(
        f"/scripts/{script['id']}/run", json={"entity": entity, "params": {"x.y": 1}}, headers=A
    )
    assert ran.status_code == 200, ran.text
    record = await latest_record(client, script["id"])
    assert record["input"]["entity"] == entity and record["input"]["params"] == {"x.y": 1}
    assert record["changes"] == {"n": 2}
    answer = (await replay(client, record["id"])).json()
    assert answer["result"]["changes"] == {"n": 2} and answer["diff"]["same"] is True


async def test_a_templated_script_replays_with_its_config(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    made = await client.post(
        "/templates/deal-amount-approval/instantiate",
        json={"name": "deal_rules", "params": {"min_amount": 250, "approval_status": "review"}},
        headers=A,
    )
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    assert (await client.post(f"/scripts/{sid}/activate", headers=A)).status_code == 200
    event = EntityEvent(
        tenant_id="tenant-a", entity_type="deal", entity_id="d-9",
        event=EventType.BEFORE_CREATE, data={"amount": 10**6},
    )  # fmt: skip
    await runtime.orchestrator.before(event)
    record = await latest_record(client, sid)
    assert record["changes"] == {"status": "review"}  # the instance's parameters
    body = (await replay(client, record["id"])).json()
    assert body["result"]["changes"] == {"status": "review"}, body["result"]
    assert body["diff"]["same"] is True
    unsaved = 'entity[config["status_field"]] = config["approval_status"] + "!"\n'
    body = (await replay(client, record["id"], source=unsaved)).json()
    assert body["diff"]["changes"] == {
        "status": {"kind": "changed", "before": "review", "after": "review!"}
    }
