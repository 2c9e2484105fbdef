"""Replay through the running service: an after-hook event over real Kafka runs a script in
the worker pool that calls a real HTTP server and emits; its record (FerretDB) is replayed
over REST, which performs nothing: the server sees no second request, `alloy.effects` and
`alloy.executions` get no second record, and the diff shows what the debug run did instead."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from alloy_scripting.api.app import create_api
from alloy_scripting.model.execution import ExecutionRecord
from tests.http_servers import HttpTestServer
from tests.integration.hooks.conftest import (
    Service,
    json_value,
    make_settings,
    read_until_quiet,
    start_service,
)
from tests.unit.api.fixtures import API_KEYS, auth

pytestmark = pytest.mark.integration

TENANT = "acme"
HEADERS = {**auth(), "X-Tenant-Id": TENANT}


@pytest.fixture
def server() -> Iterator[HttpTestServer]:
    running = HttpTestServer()
    yield running
    running.close()


@pytest.fixture
async def service(
    kafka_bootstrap: str, mongodb_url: str, mongo_db: Any, unique_name: str
) -> AsyncIterator[Service]:
    settings = make_settings(kafka_bootstrap, mongodb_url, unique_name).model_copy(
        update={
            "execution_mode": "pool",
            "worker_pool_size": 1,
            "egress_private_networks": "127.0.0.0/8",
            "api_keys": API_KEYS,
        }
    )
    svc = await start_service(settings, mongo_db)
    try:
        yield svc
    finally:
        await svc.edge.stop()


@pytest.fixture
async def api(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_api(service.runtime))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api.test", headers=HEADERS
    ) as client:
        yield client


def webhook(server: HttpTestServer) -> str:
    return (
        "try:\n"
        f"    r = http_post('{server.url('/echo')}', json={{'id': ctx.entity_id}})\n"
        "    entity['hook_status'] = r['status']\n"
        "except Exception as e:\n"
        "    entity['hook_status'] = 'not sent'\n"
        "emit('deal.seen', {'id': ctx.entity_id, 'amount': entity['amount']})\n"
    )


async def record_of(service: Service, script_id: str, entity_id: str) -> ExecutionRecord:
    log = service.stores.executions.for_tenant(TENANT)
    async with asyncio.timeout(30):
        while True:
            page = await log.find_by_script(script_id, 0, 50)
            found = [r for r in page.items if r.entity_id == entity_id]
            if found:
                return found[0]
            await asyncio.sleep(0.1)


async def test_a_replay_of_a_hook_run_performs_nothing(
    service: Service, api: httpx.AsyncClient, server: HttpTestServer, kafka_bootstrap: str
) -> None:
    assert service.runtime.pool is not None  # the service's path: the worker pool
    allowed = await api.put("/egress", json={"allow": [f"127.0.0.1:{server.port}"]})
    assert allowed.status_code == 200, allowed.text
    script = await service.add_script(
        "webhook", webhook(server), "deal", "after_create", tenant_id=TENANT
    )
    async with service.client() as hooks:
        await hooks.after("deal", "after_create", "d-1", {"amount": 70}, tenant_id=TENANT)
    record = await record_of(service, script.id, "d-1")
    assert record.status.value == "success", record
    assert record.changes == {"hook_status": 200}
    assert record.replayable and record.input is not None
    assert record.input["entity"] == {"amount": 70}
    assert record.emitted == [{"event_type": "deal.seen", "payload": {"id": "d-1", "amount": 70}}]
    assert len(server.hits) == 1

    replayed = await api.post(f"/executions/{record.id}/replay", json={})
    assert replayed.status_code == 200, replayed.text
    body = replayed.json()
    assert body["result"]["status"] == "success"
    # The debug run made no HTTP call: the script saw it refused, and the diff says so.
    assert body["diff"]["changes"] == {
        "hook_status": {"kind": "changed", "before": 200, "after": "not sent"}
    }
    assert body["diff"]["emitted"] == {"added": [], "removed": []}
    kinds = [(i["kind"], i.get("method"), i.get("url")) for i in body["intents"]]
    assert kinds == [("http", "POST", server.url("/echo")), ("emit", None, None)]

    changed = webhook(server).replace("'amount': entity['amount']", "'amount': 2")
    body = (await api.post(f"/executions/{record.id}/replay", json={"source": changed})).json()
    assert body["diff"]["emitted"]["added"] == [
        {"event_type": "deal.seen", "payload": {"id": "d-1", "amount": 2}}
    ]

    # A marker run after the replays: everything they could have sent precedes it.
    async with service.client() as hooks:
        await hooks.after("deal", "after_create", "marker", {"amount": 1}, tenant_id=TENANT)
    prefix = service.settings.topic_prefix
    effects = await read_until_quiet(
        kafka_bootstrap,
        f"{prefix}alloy.effects",
        until=lambda r: json_value(r).get("entity_id") == "marker",
    )
    ids = [json_value(r).get("entity_id") for r in effects]
    assert ids.count("d-1") == 1, ids  # the original run's effect only
    records = await read_until_quiet(
        kafka_bootstrap,
        f"{prefix}alloy.executions",
        until=lambda r: json.loads(r.value).get("entity_id") == "marker",
    )
    assert [json.loads(r.value)["entity_id"] for r in records].count("d-1") == 1
    assert len(server.hits) == 2  # the original run's call and the marker's: none replayed


async def test_a_replay_in_the_pool_keeps_the_script_limits(
    service: Service, api: httpx.AsyncClient
) -> None:
    loop = "total = 0\nfor i in range(params['n']):\n    total += i\nentity['total'] = total\n"
    body = {"name": "looper", "source": loop, "trigger": {"type": "manual"}, "status": "active",
            "limits": {"max_operations": 500}}  # fmt: skip
    created = await api.post("/scripts", json=body)
    assert created.status_code == 201, created.text
    ran = await api.post(f"/scripts/{created.json()['id']}/run", json={"params": {"n": 100}})
    record_id = ran.json()["execution_id"]
    assert ran.json()["result"]["status"] == "success"
    same = (await api.post(f"/executions/{record_id}/replay", json={})).json()
    assert same["diff"]["same"] is True, same
    longer = loop.replace("params['n']", "params['n'] * 10")
    over = (await api.post(f"/executions/{record_id}/replay", json={"source": longer})).json()
    assert over["result"]["status"] == "limit_exceeded", over["result"]
    assert over["result"]["limit"] == "operations"
    assert over["diff"]["status"] == {"before": "success", "after": "limit_exceeded"}
