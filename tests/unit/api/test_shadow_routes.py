"""POST/GET/DELETE /scripts/{id}/shadow over in-memory stores (inline runs)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from alloy_scripting.model.script import utc_now
from alloy_scripting.runner.service import Runtime
from alloy_scripting.runner.shadow import ShadowRunner
from tests.unit.api.fixtures import (
    ACME_KEY,
    INVALID_SOURCE,
    SEED_SOURCE,
    assert_problem,
    auth,
    client_for,
    create,
    manual_body,
    script_body,
)

CANDIDATE = SEED_SOURCE.replace('"needs_approval"', '"review"')


@pytest.fixture(autouse=True)
def shadows(runtime: Runtime) -> ShadowRunner:
    runner = ShadowRunner(
        runtime.stores.shadows, runtime.engine, instance_id="i1", flush_linger=0.0
    )
    runtime.orchestrator.shadows = runner
    return runner


def until(**delta: float) -> str:
    return (utc_now() + timedelta(**delta)).isoformat()


async def active(client: httpx.AsyncClient, **fields: object) -> str:
    sid: str = (await create(client, script_body(status="active", **fields)))["id"]
    return sid


async def test_start_read_and_stop_a_shadow(
    client: httpx.AsyncClient, runtime: Runtime, shadows: ShadowRunner, changes: list[str | None]
) -> None:
    sid = await active(client)
    started = await client.post(
        f"/scripts/{sid}/shadow", json={"source": CANDIDATE, "sample": 1, "until": until(hours=1)}
    )
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["script_id"] == sid and body["sample"] == 1 and body["running"] is True
    assert body["summary"]["runs"] == 0 and body["script_version"] == 1
    assert changes[-1] is None  # every instance hears of it

    outcome = await runtime.orchestrator.run_before("deal", "before_create", {"amount": 500000})
    assert outcome.model_dump()["changes"] == {"status": "needs_approval"}
    await shadows.wait_idle()
    read = await client.get(f"/scripts/{sid}/shadow")
    assert read.status_code == 200, read.text
    summary = read.json()["summary"]
    assert (summary["runs"], summary["different"], summary["same"]) == (1, 1, 0)
    assert summary["examples"][0]["candidate"] == {"changes": {"status": "review"}}

    stopped = await client.delete(f"/scripts/{sid}/shadow")
    assert stopped.status_code == 200 and stopped.json()["summary"]["different"] == 1
    assert_problem(await client.get(f"/scripts/{sid}/shadow"), 404, "not-found")
    await runtime.orchestrator.run_before("deal", "before_create", {"amount": 500000})
    await shadows.wait_idle()
    assert shadows.tally(body["id"]).runs == 0  # stopped: no more shadow runs


async def test_bad_shadows_are_refused_with_typed_problems(client: httpx.AsyncClient) -> None:
    sid = await active(client)
    ok = {"source": CANDIDATE, "sample": 0.5, "until": until(hours=1)}
    invalid = await client.post(f"/scripts/{sid}/shadow", json={**ok, "source": INVALID_SOURCE})
    assert_problem(invalid, 422, "script-invalid")
    emitting = {**ok, "source": 'emit("x", {})'}  # emit is not a before-phase helper
    assert_problem(
        await client.post(f"/scripts/{sid}/shadow", json=emitting), 422, "script-invalid"
    )
    for bad in (
        {"sample": 1.5},
        {"sample": -0.1},
        {"until": until(days=31)},
        {"until": until(seconds=-5)},
    ):
        assert_problem(
            await client.post(f"/scripts/{sid}/shadow", json={**ok, **bad}), 422, "validation"
        )
    missing = {k: v for k, v in ok.items() if k != "until"}
    assert_problem(await client.post(f"/scripts/{sid}/shadow", json=missing), 422, "validation")
    naive = {**ok, "until": "2030-01-01T00:00:00"}
    assert_problem(await client.post(f"/scripts/{sid}/shadow", json=naive), 422, "validation")

    draft = (await create(client, script_body("draft_one")))["id"]
    assert_problem(await client.post(f"/scripts/{draft}/shadow", json=ok), 409, "conflict")
    manual = (await create(client, manual_body(status="active")))["id"]
    assert_problem(await client.post(f"/scripts/{manual}/shadow", json=ok), 409, "conflict")
    assert_problem(await client.post("/scripts/missing/shadow", json=ok), 404, "not-found")
    assert_problem(await client.get(f"/scripts/{sid}/shadow"), 404, "not-found")
    assert_problem(await client.delete(f"/scripts/{sid}/shadow"), 404, "not-found")


async def test_another_tenants_shadow_is_not_found(client: httpx.AsyncClient, app: object) -> None:
    sid = await active(client)
    ok = {"source": CANDIDATE, "sample": 1, "until": until(hours=1)}
    assert (await client.post(f"/scripts/{sid}/shadow", json=ok)).status_code == 201
    async with client_for(app, auth(ACME_KEY, **{"X-Tenant-Id": "acme"})) as acme:  # type: ignore[arg-type]
        assert_problem(await acme.get(f"/scripts/{sid}/shadow"), 404, "not-found")
        assert_problem(await acme.delete(f"/scripts/{sid}/shadow"), 404, "not-found")
        assert_problem(await acme.post(f"/scripts/{sid}/shadow", json=ok), 404, "not-found")
    assert (await client.get(f"/scripts/{sid}/shadow")).status_code == 200
