"""POST /scripts/{id}/run, POST /scripts/name/{name}/run, GET /scripts/{id}/executions."""

from __future__ import annotations

import httpx

from alloy_scripting.api.auth import key_label
from tests.unit.api.fixtures import (
    FAILING_SOURCE,
    KEY,
    assert_problem,
    create,
    manual_body,
    script_body,
)


async def test_run_by_id_logs_an_execution(client: httpx.AsyncClient) -> None:
    created = await create(client, manual_body(status="active"))
    sid = created["id"]
    response = await client.post(f"/scripts/{sid}/run", json={"params": {"who": "ada"}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["script_id"] == sid and body["version"] == 1
    assert body["result"]["status"] == "success"
    assert [e["event_type"] for e in body["effects"]] == ["greeted"]
    assert body["effects"][0]["payload"] == {"who": "ada"}

    log = (await client.get(f"/scripts/{sid}/executions")).json()
    assert log["total"] == 1
    record = log["items"][0]
    assert record["script_id"] == sid and record["status"] == "success"
    assert record["phase"] == "manual"
    assert record["user_id"] == key_label(KEY)
    assert body["execution_id"] == record["id"]


async def test_run_by_name_with_a_sample_entity(client: httpx.AsyncClient) -> None:
    await create(client, script_body(status="active"))
    small = await client.post(
        "/scripts/name/validate_deal/run",
        json={"entity": {"amount": 50}, "entity_type": "deal"},
        headers={"X-User-Id": "carol"},
    )
    assert small.status_code == 200, small.text
    assert small.json()["result"]["status"] == "aborted"
    assert small.json()["result"]["reason"] == "Minimum deal amount is 100"

    big = await client.post("/scripts/name/validate_deal/run", json={"entity": {"amount": 500000}})
    assert big.json()["result"]["status"] == "success"
    assert big.json()["result"]["changes"] == {"status": "needs_approval"}
    assert_problem(await client.post("/scripts/name/missing/run", json={}), 404, "not-found")


async def test_dry_run_keeps_no_books(client: httpx.AsyncClient) -> None:
    sid = (await create(client, manual_body(source=FAILING_SOURCE, status="active")))["id"]
    for _ in range(5):
        response = await client.post(f"/scripts/{sid}/run", json={"dry_run": True})
        assert response.json()["result"]["status"] == "error"
        assert response.json()["effects"] == []
        assert response.json()["execution_id"] is None
    assert (await client.get(f"/scripts/{sid}/executions")).json()["total"] == 0
    script = (await client.get(f"/scripts/{sid}")).json()
    assert script["status"] == "active" and script["error_count"] == 0


async def test_failures_disable_then_reset_reenables(client: httpx.AsyncClient) -> None:
    sid = (await create(client, manual_body(source=FAILING_SOURCE, status="active")))["id"]
    for _ in range(3):
        response = await client.post(f"/scripts/{sid}/run", json={})
        assert response.status_code == 200
        assert response.json()["result"]["status"] == "error"
    script = (await client.get(f"/scripts/{sid}")).json()
    assert script["status"] == "disabled" and script["error_count"] == 3
    assert script["disabled_reason"]

    refused = await client.post(f"/scripts/{sid}/run", json={})
    assert_problem(refused, 409, "conflict")
    assert (await client.post(f"/scripts/{sid}/run", json={"dry_run": True})).status_code == 200

    reset = await client.post(f"/scripts/{sid}/reset")
    assert reset.status_code == 200, reset.text
    assert reset.json()["status"] == "active" and reset.json()["error_count"] == 0
    assert reset.json()["disabled_reason"] is None
    log = (await client.get(f"/scripts/{sid}/executions")).json()
    assert log["total"] == 3 and {r["status"] for r in log["items"]} == {"error"}


async def test_executions_paginate_newest_first(client: httpx.AsyncClient) -> None:
    sid = (await create(client, manual_body(status="active")))["id"]
    for who in ("a", "b", "c"):
        await client.post(f"/scripts/{sid}/run", json={"params": {"who": who}})
    page = (await client.get(f"/scripts/{sid}/executions", params={"limit": 2})).json()
    assert (page["total"], page["offset"], page["limit"], len(page["items"])) == (3, 0, 2, 2)
    assert page["items"][0]["started_at"] >= page["items"][1]["started_at"]
    rest = (await client.get(f"/scripts/{sid}/executions", params={"offset": 2, "limit": 2})).json()
    assert len(rest["items"]) == 1
    assert_problem(
        await client.get(f"/scripts/{sid}/executions", params={"limit": 201}), 422, "validation"
    )
    assert_problem(await client.get("/scripts/missing/executions"), 404, "not-found")


async def test_run_body_is_validated(client: httpx.AsyncClient) -> None:
    sid = (await create(client, manual_body(status="active")))["id"]
    url = f"/scripts/{sid}/run"
    assert_problem(await client.post(url, json={"params": []}), 422, "validation")
    assert_problem(await client.post(url, json={"entity": "deal"}), 422, "validation")
    assert_problem(await client.post(url, json={"dry_run": "perhaps"}), 422, "validation")
    assert_problem(await client.post(url, json={"params": {}, "extra": 1}), 422, "validation")
    deep: object = 1
    for _ in range(40):
        deep = {"x": deep}
    assert_problem(await client.post(url, json={"params": deep}), 422, "validation")
    assert_problem(await client.post(url, json={"params": {"n": 2**70}}), 422, "validation")
    nan = b'{"params": {"x": NaN}}'
    assert_problem(
        await client.post(url, content=nan, headers={"content-type": "application/json"}),
        422,
        "validation",
    )
    nul = await client.post(url, json={"params": {"x": "a\x00b"}})
    assert_problem(nul, 422, "validation")
    surrogate = b'{"params": {"x": "\\ud800"}}'
    assert_problem(
        await client.post(url, content=surrogate, headers={"content-type": "application/json"}),
        422,
        "validation",
    )
    assert (await client.get(f"/scripts/{sid}/executions")).json()["total"] == 0


async def test_a_run_needs_no_body(client: httpx.AsyncClient) -> None:
    """Every field of a run request has a default: no body is an empty request."""
    created = await create(client, script_body(status="active"))
    for url in (f"/scripts/{created['id']}/run", "/scripts/name/validate_deal/run"):
        response = await client.post(url)
        assert response.status_code == 200, response.text
        assert response.json()["result"]["status"] in ("success", "error")
    bad = await client.post(f"/scripts/{created['id']}/run", json={"dry_run": {"no": 1}})
    assert_problem(bad, 422, "validation")
