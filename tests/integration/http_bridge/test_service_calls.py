"""The HTTP bridge as the service wires it: `build_runtime` in pool mode, the operator's
settings, the tenant's allow-list over REST, a script run over REST, the execution log."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from alloy_scripting.api.app import create_api
from alloy_scripting.runner.service import Runtime, build_runtime
from alloy_scripting.storage import InMemoryStores
from tests.http_servers import HttpTestServer
from tests.unit.api.fixtures import auth, make_settings

TENANT = {"X-Tenant-Id": "acme"}


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    settings = make_settings(
        execution_mode="pool",
        worker_pool_size=1,
        egress_private_networks="127.0.0.0/8",
        http_max_calls_per_run=3,
    )
    built = build_runtime(settings, InMemoryStores())
    await built.start_workers()
    yield built
    await built.stop_workers()


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_api(runtime))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api.test", headers={**auth(), **TENANT}
    ) as client:
        yield client


async def _manual(
    api: httpx.AsyncClient, name: str, source: str, headers: dict[str, str] | None = None
) -> str:
    body = {"name": name, "source": source, "trigger": {"type": "manual"}, "status": "active"}
    created = await api.post("/scripts", json=body, headers=headers)
    assert created.status_code == 201, created.text
    script_id: str = created.json()["id"]
    return script_id


async def test_a_script_calls_an_allowed_host_through_the_service(
    api: httpx.AsyncClient, runtime: Runtime, server: HttpTestServer, trap: HttpTestServer
) -> None:
    source = (
        f"r = http_get('{server.url('/json')}')\n"
        "entity['hello'] = r['json']['hello']\n"
        "try:\n"
        f"    http_get('{trap.url('/')}')\n"
        "except EgressDenied as e:\n"
        "    entity['denied'] = e.args[1]\n"
    )
    globex = {"X-Tenant-Id": "globex"}  # no allow-list: deny by default
    other_id = await _manual(api, "caller", source, globex)
    refused = (await api.post(f"/scripts/{other_id}/run", json={}, headers=globex)).json()
    assert refused["result"]["status"] == "error"
    assert refused["result"]["error"]["type"] == "EgressDenied"

    stored = await api.put("/egress", json={"allow": [f"127.0.0.1:{server.port}"]})
    assert stored.status_code == 200
    script_id = await _manual(api, "caller", source)
    ran = (await api.post(f"/scripts/{script_id}/run", json={"entity": {}})).json()
    assert ran["result"]["status"] == "success", ran
    assert ran["result"]["changes"] == {"hello": "world", "denied": "not_in_allow_list"}
    assert [c["outcome"] for c in ran["result"]["http_calls"]] == ["ok", "denied"]
    assert trap.connections == 0

    records = (await api.get(f"/scripts/{script_id}/executions")).json()["items"]
    latest = max(records, key=lambda r: r["started_at"])
    assert [c["path"] for c in latest["http_calls"]] == ["/json", "/"]
    assert latest["http_calls"][0]["status"] == 200


async def test_the_operator_caps_apply(
    api: httpx.AsyncClient, runtime: Runtime, server: HttpTestServer
) -> None:
    await api.put("/egress", json={"allow": [f"127.0.0.1:{server.port}"]})
    source = f"for i in range(5):\n    http_get('{server.url('/json')}')\n"
    script_id = await _manual(api, "looper", source)
    ran = (await api.post(f"/scripts/{script_id}/run", json={"entity": {}})).json()
    assert ran["result"]["status"] == "limit_exceeded"
    assert ran["result"]["limit"] == "http_calls"
    assert len(ran["result"]["http_calls"]) == 4  # three made, the fourth refused
