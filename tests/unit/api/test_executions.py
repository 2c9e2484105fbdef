"""GET /executions (filters, pagination, tenancy), GET /executions/{id}, GET
/scripts/{id}/stats. Collected again against FerretDB by tests/integration/api."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from alloy_scripting.model.enums import EventType, ExecutionPhase, ExecutionStatus
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.runner.service import Runtime
from tests.unit.api.fixtures import (
    FAILING_SOURCE,
    assert_problem,
    create,
    manual_body,
)

A = {"X-Tenant-Id": "tenant-a"}
B = {"X-Tenant-Id": "tenant-b"}
NOW = datetime.now(UTC).replace(microsecond=0)


def record(script_id: str, minutes_ago: float, **fields: Any) -> ExecutionRecord:
    values: dict[str, Any] = {
        "script_id": script_id,
        "script_version": 1,
        "script_name": f"script-{script_id}",
        "tenant_id": "tenant-a",
        "phase": ExecutionPhase.BEFORE,
        "event": EventType.BEFORE_CREATE,
        "entity_type": "deal",
        "entity_id": "d-1",
        "status": ExecutionStatus.SUCCESS,
        "duration_ms": 1.0,
        "started_at": NOW - timedelta(minutes=minutes_ago),
    }
    values.update(fields)
    return ExecutionRecord(**values)


async def seed(runtime: Runtime, records: list[ExecutionRecord]) -> None:
    await runtime.stores.executions.append_many(records)


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_filters_each_narrow_newest_first(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    rows = [
        record("s1", 50),
        record("s1", 40, status=ExecutionStatus.ERROR, error="boom"),
        record("s2", 30, entity_id="d-2"),
        record("s2", 20, phase=ExecutionPhase.AFTER, event=EventType.AFTER_CREATE),
        record("s3", 10, entity_type="lead", entity_id="l-1", phase=ExecutionPhase.MANUAL),
    ]
    await seed(runtime, rows)
    by = {i: r.id for i, r in enumerate(rows)}

    everything = await client.get("/executions", headers=A)
    assert ids(everything) == [by[4], by[3], by[2], by[1], by[0]]
    assert everything.json()["total"] == 5

    cases: list[tuple[dict[str, str], list[int]]] = [
        ({"script_id": "s1"}, [1, 0]),
        ({"status": "error"}, [1]),
        ({"phase": "after"}, [3]),
        ({"entity_type": "deal"}, [3, 2, 1, 0]),
        ({"entity_type": "deal", "entity_id": "d-2"}, [2]),
        ({"entity_id": "l-1"}, [4]),
        ({"since": (NOW - timedelta(minutes=35)).isoformat()}, [4, 3, 2]),
        ({"until": (NOW - timedelta(minutes=30)).isoformat()}, [1, 0]),
        ({"script_id": "s2", "phase": "before", "entity_id": "d-2"}, [2]),
        ({"script_id": "s1", "status": "success"}, [0]),
        ({"script_id": "nope"}, []),
    ]
    for params, expected in cases:
        found = await client.get("/executions", params=params, headers=A)
        assert ids(found) == [by[i] for i in expected], params
        assert found.json()["total"] == len(expected), params


async def test_pagination_and_bad_filters(client: httpx.AsyncClient, runtime: Runtime) -> None:
    rows = [record("s1", minutes) for minutes in range(7)]
    await seed(runtime, rows)
    newest_first = [r.id for r in rows]  # minutes ago 0, 1, ... 6
    pages = [
        ids(await client.get("/executions", params={"offset": o, "limit": 3}, headers=A))
        for o in (0, 3, 6)
    ]
    assert pages == [newest_first[0:3], newest_first[3:6], newest_first[6:]]
    page = (await client.get("/executions", params={"offset": 3, "limit": 3}, headers=A)).json()
    assert page["total"] == 7 and page["offset"] == 3 and page["limit"] == 3

    for params in (
        {"status": "bogus"},
        {"phase": "later"},
        {"since": "2026-01-01T00:00:00"},  # naive: ambiguous
        {"limit": "201"},
        {"entity_type": "x" * 500},
    ):
        assert_problem(await client.get("/executions", params=params, headers=A), 422, "validation")


async def test_tenancy_and_reading_one(client: httpx.AsyncClient, runtime: Runtime) -> None:
    mine, theirs = record("s1", 5), record("s1", 4, tenant_id="tenant-b")
    await seed(runtime, [mine, theirs])
    assert ids(await client.get("/executions", headers=A)) == [mine.id]
    assert ids(await client.get("/executions", headers=B)) == [theirs.id]
    assert ids(await client.get("/executions")) == []  # the default tenant has none

    one = await client.get(f"/executions/{mine.id}", headers=A)
    assert one.status_code == 200, one.text
    assert one.json()["id"] == mine.id and one.json()["entity_id"] == "d-1"
    for path, headers in ((f"/executions/{mine.id}", B), ("/executions/missing", A)):
        assert_problem(await client.get(path, headers=headers), 404, "not-found")


async def test_a_run_is_readable_by_its_execution_id(client: httpx.AsyncClient) -> None:
    sid = (await create(client, manual_body(status="active"), **A))["id"]
    ran = await client.post(f"/scripts/{sid}/run", json={}, headers=A)
    execution_id = ran.json()["execution_id"]
    one = await client.get(f"/executions/{execution_id}", headers=A)
    assert one.status_code == 200, one.text
    assert one.json()["script_id"] == sid and one.json()["phase"] == "manual"
    listed = await client.get("/executions", params={"script_id": sid}, headers=A)
    assert ids(listed) == [execution_id]


async def test_stats_over_a_window(client: httpx.AsyncClient, runtime: Runtime) -> None:
    sid = (await create(client, manual_body(source=FAILING_SOURCE), **A))["id"]
    rows = [record(sid, 300 + i, duration_ms=float(i)) for i in range(1, 101)]  # 5 h ago
    rows += [
        record(sid, 30, duration_ms=2.0),
        record(sid, 20, status=ExecutionStatus.ABORTED, duration_ms=4.0),
        record(sid, 12, status=ExecutionStatus.TIMEOUT, duration_ms=100.0, error="slow"),
        record(sid, 10, status=ExecutionStatus.ERROR, duration_ms=8.0, error="boom"),
        record("other", 5, status=ExecutionStatus.ERROR),
        record(sid, 5, tenant_id="tenant-b", status=ExecutionStatus.ERROR),
    ]
    await seed(runtime, rows)

    hour = await client.get(f"/scripts/{sid}/stats", params={"window": "1h"}, headers=A)
    assert hour.status_code == 200, hour.text
    stats = hour.json()
    assert stats["window"] == "1h" and stats["runs"] == 4
    assert stats["by_status"] == {
        "success": 1,
        "aborted": 1,
        "error": 1,
        "limit_exceeded": 0,
        "timeout": 1,
    }
    assert stats["error_rate"] == 0.5
    assert stats["duration_ms"] == {"p50": 4.0, "p95": 100.0, "p99": 100.0}
    assert stats["last_error"]["execution_id"] == rows[103].id
    assert stats["last_error"]["error"] == "boom"
    assert stats["consecutive_failures"] == 2  # since the abort, which is not a failure

    day = (await client.get(f"/scripts/{sid}/stats", params={"window": "24h"}, headers=A)).json()
    assert day["runs"] == 104 and day["by_status"]["success"] == 101
    # 1..100 and 2, 4, 8, 100: the 52nd of 104 is 49, the 103rd is 100 (nearest rank)
    assert day["duration_ms"]["p50"] == 49.0 and day["duration_ms"]["p99"] == 100.0

    default = (await client.get(f"/scripts/{sid}/stats", headers=A)).json()
    assert default["window"] == "24h" and default["runs"] == 104
    assert_problem(
        await client.get(f"/scripts/{sid}/stats", params={"window": "2d"}, headers=A),
        422,
        "validation",
    )
    assert_problem(await client.get(f"/scripts/{sid}/stats", headers=B), 404, "not-found")


async def test_stats_of_a_script_without_runs(client: httpx.AsyncClient) -> None:
    sid = (await create(client, manual_body(), **A))["id"]
    stats = (await client.get(f"/scripts/{sid}/stats", headers=A)).json()
    assert stats["runs"] == 0 and stats["error_rate"] == 0.0
    assert stats["duration_ms"] == {"p50": None, "p95": None, "p99": None}
    assert stats["last_error"] is None and stats["consecutive_failures"] == 0
