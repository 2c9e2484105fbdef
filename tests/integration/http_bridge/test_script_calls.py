"""`http_get` / `http_post` / `http_request` from real script runs in worker processes.

The worker makes the host call; the service makes the HTTP call under the tenant's
allow-list and the run's caps, and the script gets plain data back, or an error it can
catch by name (`HttpError`, `EgressDenied`); limits end the run whatever the script does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from alloy_scripting.bridge.http import HttpBridge, HttpCaps
from alloy_scripting.bridge.http.helpers import HttpRuns
from alloy_scripting.engine import create_default_engine
from alloy_scripting.model.enums import EventType, ExecutionPhase, ExecutionStatus
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.result import ExecutionResult
from alloy_scripting.runner.workers import PoolConfig, RunRequest, WorkerPool
from alloy_scripting.storage import InMemoryStores
from tests.http_servers import HttpTestServer
from tests.integration.http_bridge.conftest import LOOPBACK

TENANT = "acme"


@pytest.fixture
async def pool(server: HttpTestServer) -> AsyncIterator[WorkerPool]:
    egress = InMemoryStores().egress
    await egress.put(TENANT, [f"127.0.0.1:{server.port}"])
    runs = HttpRuns(HttpBridge(HttpCaps(private_networks=LOOPBACK, calls_per_run=5)), egress)
    config = PoolConfig(size=1, host_call_budget=30.0)
    async with WorkerPool(config=config, http=runs) as started:
        yield started
    await runs.aclose()


async def run(
    pool: WorkerPool,
    source: str,
    *,
    phase: ExecutionPhase = ExecutionPhase.MANUAL,
    tenant: str | None = TENANT,
    entity: dict[str, object] | None = None,
) -> ExecutionResult:
    event = EventType.AFTER_CREATE if phase is ExecutionPhase.AFTER else None
    return await pool.run(
        RunRequest(
            source,
            phase,
            event=event,
            entity=entity if entity is not None else {"n": 7},
            ctx={"entity_id": "e-1", "entity_type": "deal", "tenant_id": tenant},
            tenant_id=tenant,
        )
    )


async def test_get_returns_plain_data_to_the_script(
    pool: WorkerPool, server: HttpTestServer
) -> None:
    source = (
        f"r = http_get('{server.url('/json')}', params={{'q': entity['n']}})\n"
        "entity['hello'] = r['json']['hello']\n"
        "entity['status'] = r['status']\n"
        "entity['type'] = r['headers']['content-type']\n"
        "entity['q'] = r['json']['query']['q'][0]\n"
    )
    result = await run(pool, source)
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert result.changes == {
        "hello": "world",
        "status": 200,
        "type": "application/json",
        "q": "7",
    }
    [call] = result.http_calls
    assert call["method"] == "GET" and call["path"] == "/json" and call["outcome"] == "ok"
    assert call["host"] == "127.0.0.1" and call["port"] == server.port and call["status"] == 200


async def test_post_and_request_in_an_after_hook(pool: WorkerPool, server: HttpTestServer) -> None:
    source = (
        f"r = http_post('{server.url('/echo')}', json={{'deal': entity['n']}}, "
        "headers={'X-Source': 'alloy'})\n"
        "entity['sent'] = r['json']['body']\n"
        f"r2 = http_request('PUT', '{server.url('/echo')}', data='plain')\n"
        "entity['method'] = r2['json']['method']\n"
    )
    result = await run(pool, source, phase=ExecutionPhase.AFTER)
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert result.changes == {"sent": '{"deal":7}', "method": "PUT"}
    assert server.hits[-2].headers["x-source"] == "alloy"
    assert [c["method"] for c in result.http_calls] == ["POST", "PUT"]


async def test_http_error_is_catchable_with_its_status(
    pool: WorkerPool, server: HttpTestServer
) -> None:
    source = (
        "try:\n"
        f"    http_get('{server.url('/status/404')}')\n"
        "except HttpError as e:\n"
        "    entity['status'] = e.args[1]\n"
        "    entity['message'] = e.message\n"
        "    entity['type'] = e.type\n"
    )
    result = await run(pool, source)
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert result.changes["status"] == 404
    assert result.changes["type"] == "HttpError"
    assert "404" in result.changes["message"]
    assert result.http_calls[0]["outcome"] == "http_error"


async def test_egress_denied_is_catchable_naming_the_rule(
    pool: WorkerPool, trap: HttpTestServer
) -> None:
    source = (
        "try:\n"
        f"    http_get('{trap.url('/')}')\n"
        "except EgressDenied as e:\n"
        "    entity['rule'] = e.args[1]\n"
        "try:\n"
        f"    http_get('http://2130706433:{trap.port}/')\n"
        "except HttpError:\n"
        "    entity['wrong'] = True\n"
        "except RuntimeError as e:\n"
        "    entity['other'] = e.type\n"
    )
    result = await run(pool, source)
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert result.changes == {"rule": "not_in_allow_list", "other": "EgressDenied"}
    assert trap.connections == 0
    assert [c["outcome"] for c in result.http_calls] == ["denied", "denied"]


async def test_another_tenant_has_its_own_allow_list(
    pool: WorkerPool, server: HttpTestServer
) -> None:
    result = await run(pool, f"http_get('{server.url('/json')}')", tenant="globex")
    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None and result.error.type == "EgressDenied"
    assert "not in the tenant's allow-list" in result.error.message


async def test_limits_are_not_catchable(pool: WorkerPool, server: HttpTestServer) -> None:
    source = (
        "for i in range(10):\n"
        "    try:\n"
        f"        http_get('{server.url('/json')}')\n"
        "    except Exception:\n"
        "        entity['caught'] = i\n"
    )
    result = await run(pool, source)
    assert result.status is ExecutionStatus.LIMIT_EXCEEDED
    assert result.limit == "http_calls"
    assert result.changes == {}
    assert [c["outcome"] for c in result.http_calls] == ["ok"] * 5 + ["limit_exceeded"]
    big = await run(pool, f"http_get('{server.url(f'/big?n={2 * 1024 * 1024}')}')")
    assert (big.status, big.limit) == (ExecutionStatus.LIMIT_EXCEEDED, "http_response_bytes")


async def test_bad_arguments_are_clear_errors(pool: WorkerPool, server: HttpTestServer) -> None:
    url = server.url("/json")
    for source, kind, text in [
        ("http_get()", "TypeError", "missing a required argument"),
        (f"http_get('{url}', bogus=1)", "TypeError", "unexpected keyword"),
        (f"http_request('{url}')", "TypeError", "missing a required argument"),
        (f"http_get('{url}', headers={{'X-A': 'v\\r\\nX-B: w'}})", "InvalidHttpRequest", "CR"),
        ("http_get('ftp://127.0.0.1/')", "EgressDenied", "only http and https"),
        ("http_get('http://[::1')", "InvalidHttpRequest", "malformed url"),
        (f"http_get('{url}', headers={{'X-A': log}})", "TypeError", ""),
    ]:
        result = await run(pool, source)
        assert result.status is ExecutionStatus.ERROR, source
        assert result.error is not None and result.error.type == kind, (source, result.error)
        assert text in result.error.message, (source, result.error.message)
    ok = await run(pool, f"entity['s'] = http_get('{url}')['status']")
    assert ok.changes == {"s": 200}  # the worker and the service go on


async def test_before_hooks_refuse_http_helpers(pool: WorkerPool, server: HttpTestServer) -> None:
    engine = create_default_engine()
    for name in ("http_get", "http_post", "http_request"):
        diagnostics = engine.validate(f"{name}('{server.url('/json')}')\n", "before")
        assert any(
            d.severity == "error" and "not available in the 'before' phase" in d.message
            for d in diagnostics
        ), name
        assert not [
            d for d in engine.validate(f"{name}('x', 'y')\n", "after") if d.severity == "error"
        ]
    before = len(server.hits)
    result = await pool.run(
        RunRequest(
            f"http_get('{server.url('/json')}')",
            ExecutionPhase.BEFORE,
            event=EventType.BEFORE_CREATE,
            entity={},
            tenant_id=TENANT,
        )
    )
    assert result.status is ExecutionStatus.ERROR
    assert (
        result.error is not None and "not available in the 'before' phase" in result.error.message
    )
    assert len(server.hits) == before


async def test_the_call_list_lands_in_the_execution_record(
    pool: WorkerPool, server: HttpTestServer
) -> None:
    result = await run(pool, f"http_get('{server.url('/json?token=secret')}')")
    record = ExecutionRecord.of_run(
        script_id="s",
        script_version=1,
        script_name="n",
        phase=result.phase,
        status=result.status,
        http_calls=result.http_calls,
    )
    [call] = record.model_dump(mode="json")["http_calls"]
    assert call["path"] == "/json" and "secret" not in str(call)
    assert set(call) >= {"method", "host", "port", "path", "status", "duration_ms", "bytes"}
    assert result.to_dict()["http_calls"] == result.http_calls
