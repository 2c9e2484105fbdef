"""Shadow runs over the real Kafka and FerretDB, with the worker pool: a candidate version
runs beside the active one on live events, its divergences are recorded, and the replies,
effects and HTTP calls stay exactly those of the active version."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from alloy_scripting.api.app import create_api
from alloy_scripting.model.script import utc_now
from tests.http_servers import HttpTestServer

from .conftest import Service, make_settings, read_topic, read_until_quiet, start_service

pytestmark = pytest.mark.integration

TENANT = "acme"
ACTIVE = 'entity["tier"] = "gold" if entity["amount"] > 1000 else "basic"'
CANDIDATE = 'entity["tier"] = "gold" if entity["amount"] > 100 else "basic"'
AMOUNTS = [5, 500, 5000, 700]  # the candidate differs on 500 and 700


@pytest.fixture
async def service(
    kafka_bootstrap: str, mongodb_url: str, mongo_db: Any, unique_name: str
) -> AsyncIterator[Service]:
    settings = make_settings(kafka_bootstrap, mongodb_url, unique_name).model_copy(
        update={"auth_disabled": True, "egress_private_networks": "127.0.0.0/8"}
    )
    svc = await start_service(settings, mongo_db)
    try:
        yield svc
    finally:
        await svc.edge.stop()


@pytest.fixture
async def api(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_api(service.runtime))
    headers = {"X-Tenant-Id": TENANT}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api.test", headers=headers
    ) as client:
        yield client


async def start_shadow(api: httpx.AsyncClient, script_id: str, source: str) -> dict[str, Any]:
    until = (utc_now() + timedelta(hours=1)).isoformat()
    response = await api.post(
        f"/scripts/{script_id}/shadow", json={"source": source, "sample": 1, "until": until}
    )
    assert response.status_code == 201, response.text
    started: dict[str, Any] = response.json()
    return started


async def summary_when(
    api: httpx.AsyncClient, script_id: str, settled: int, timeout: float = 20.0
) -> dict[str, Any]:
    """The shadow's summary once `settled` comparisons (runs + skipped) are tallied."""
    async with asyncio.timeout(timeout):
        while True:
            response = await api.get(f"/scripts/{script_id}/shadow")
            assert response.status_code == 200, response.text
            summary: dict[str, Any] = response.json()["summary"]
            if summary["runs"] + summary["skipped"] >= settled:
                return summary
            await asyncio.sleep(0.05)


def normalised(value: bytes) -> bytes:
    """A reply with its per-run fields (event id, durations) blanked, re-encoded."""
    reply = json.loads(value)
    reply["event_id"] = "-"
    for ran in reply.get("executed", []):
        ran["duration_ms"] = 0
    return json.dumps(reply, sort_keys=True).encode()


async def send_before(
    service: Service, api: httpx.AsyncClient | None, script_id: str, prefix: str, settled: int = 0
) -> list[bytes]:
    """Every amount as a before_create event, one after the other (each shadow run tallied
    before the next event when `api` is given); the raw replies, in order."""
    async with service.client(delete_reply_topic=False) as hooks:
        for index, amount in enumerate(AMOUNTS):
            await hooks.before(
                "deal", "before_create", f"d{index}", {"amount": amount},
                tenant_id=TENANT, event_id=f"{prefix}-{index}",
            )  # fmt: skip
            if api is not None:
                await summary_when(api, script_id, settled + index + 1)
        reply_topic = hooks.reply_topic
    replies = await read_topic(service.settings.kafka_bootstrap, reply_topic, count=len(AMOUNTS))
    by_event = {json.loads(r.value)["event_id"]: r.value for r in replies}
    return [by_event[f"{prefix}-{i}"] for i in range(len(AMOUNTS))]


async def test_a_shadow_records_divergences_while_replies_stay_the_active_ones(
    service: Service, api: httpx.AsyncClient
) -> None:
    script = await service.add_script("tiering", ACTIVE, "deal", "before_create", tenant_id=TENANT)
    baseline = await send_before(service, None, script.id, "plain")
    assert [json.loads(r)["changes"]["tier"] for r in baseline] == [
        "basic", "basic", "gold", "basic",
    ]  # fmt: skip

    started = await start_shadow(api, script.id, CANDIDATE)
    shadowed = await send_before(service, api, script.id, "shadowed")
    assert [normalised(r) for r in shadowed] == [normalised(r) for r in baseline]

    summary = await summary_when(api, script.id, len(AMOUNTS))
    assert {k: summary[k] for k in ("runs", "same", "different", "errors", "skipped")} == {
        "runs": 4, "same": 2, "different": 2, "errors": 0, "skipped": 0,
    }  # fmt: skip
    examples = summary["examples"]
    assert [e["entity_id"] for e in examples] == ["d1", "d3"]
    assert examples[0]["event_id"] == "shadowed-1" and examples[0]["kind"] == "different"
    assert examples[0]["active"] == {"changes": {"tier": "basic"}}
    assert examples[0]["candidate"] == {"changes": {"tier": "gold"}}
    # the example points at the active run's own execution record
    record = await service.stores.executions.for_tenant(TENANT).get(examples[0]["execution_id"])
    assert record is not None and record.script_id == script.id and record.entity_id == "d1"
    # the candidate wrote no execution record: one per live event (a batch writes its
    # records once its replies are acknowledged, so the last may land after its reply;
    # the shadow runs were all tallied above, after any record of theirs would have been)
    executions = service.stores.executions.for_tenant(TENANT)
    page = await executions.find_by_script(script.id, 0, 50)
    for _ in range(200):
        if page.total >= 2 * len(AMOUNTS):
            break
        await asyncio.sleep(0.05)
        page = await executions.find_by_script(script.id, 0, 50)
    assert page.total == 2 * len(AMOUNTS)
    assert all(r.script_version == 1 for r in page.items)

    # A candidate that raises: errors, replies unchanged, the script never disabled.
    await start_shadow(api, script.id, 'raise ValueError("candidate broke")')
    failing = await send_before(service, api, script.id, "failing")
    assert [normalised(r) for r in failing] == [normalised(r) for r in baseline]
    summary = await summary_when(api, script.id, len(AMOUNTS))
    assert (summary["runs"], summary["errors"], summary["different"]) == (4, 4, 0)
    assert "candidate broke" in summary["examples"][-1]["candidate"]["error"]
    stored = await service.stores.scripts.for_tenant(TENANT).get(script.id)
    assert stored.is_active and stored.error_count == 0

    stopped = await api.delete(f"/scripts/{script.id}/shadow")
    assert stopped.status_code == 200 and stopped.json()["summary"]["errors"] == 4
    assert stopped.json()["id"] != started["id"]  # the second start replaced the first
    assert (await api.get(f"/scripts/{script.id}/shadow")).status_code == 404


async def test_a_shadow_candidate_performs_no_emit_and_no_http_call(
    service: Service, api: httpx.AsyncClient
) -> None:
    server = HttpTestServer()
    try:
        await service.stores.egress.put(TENANT, [f"127.0.0.1:{server.port}"])
        active = (
            'emit("deal.created", {"id": ctx.entity_id})\n'
            f'http_post("{server.url("/echo?from=live")}", json={{"id": ctx.entity_id}})\n'
        )
        candidate = (
            'emit("deal.shadowed", {"id": ctx.entity_id})\n'
            f'http_post("{server.url("/echo?from=shadow")}", json={{"id": ctx.entity_id}})\n'
        )
        script = await service.add_script(
            "announce", active, "deal", "after_create", tenant_id=TENANT
        )
        await start_shadow(api, script.id, candidate)
        async with service.client() as hooks:
            for index in range(3):
                await hooks.after(
                    "deal", "after_create", f"a{index}", {"n": index}, tenant_id=TENANT
                )
                await summary_when(api, script.id, index + 1)
            await hooks.after("deal", "after_create", "marker", {"n": 99}, tenant_id=TENANT)
        effects = await read_until_quiet(
            service.settings.kafka_bootstrap,
            service.edge.topics.effects,
            until=lambda r: json.loads(r.value)["entity_id"] == "marker",
        )
        kinds = [json.loads(r.value)["event_type"] for r in effects]
        assert kinds == ["deal.created"] * 4
        assert sorted(hit.path for hit in server.hits) == ["/echo?from=live"] * 4
        summary = await summary_when(api, script.id, 4)
        assert summary["errors"] == summary["runs"] >= 3 and summary["skipped"] == 0
        assert "a shadow run performs no HTTP call" in summary["examples"][0]["candidate"]["error"]
    finally:
        server.close()
