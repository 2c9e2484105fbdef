"""POST /scripts/{id}/activate|disable|reset, GET versions, POST rollback."""

from __future__ import annotations

import httpx

from tests.unit.api.fixtures import SEED_SOURCE, assert_problem, create, script_body


async def test_activate_and_disable(client: httpx.AsyncClient, changes: list[str | None]) -> None:
    sid = (await create(client, script_body()))["id"]
    response = await client.post(f"/scripts/{sid}/activate")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "active"
    assert response.json()["revision"] == 2
    assert response.headers["etag"] == f'"{sid}-2"'

    disabled = await client.post(f"/scripts/{sid}/disable", json={"reason": "maintenance"})
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["status"] == "disabled"
    assert disabled.json()["disabled_reason"] == "maintenance"
    assert disabled.json()["disabled_at"] is not None

    no_body = await client.post(f"/scripts/{sid}/activate")
    assert no_body.json()["status"] == "active" and no_body.json()["disabled_reason"] is None
    again = await client.post(f"/scripts/{sid}/disable")
    assert again.status_code == 200 and again.json()["disabled_reason"]
    assert changes == [None] * 5


async def test_reset_reenables(client: httpx.AsyncClient, changes: list[str | None]) -> None:
    sid = (await create(client, script_body()))["id"]
    await client.post(f"/scripts/{sid}/disable", json={"reason": "x"})
    response = await client.post(f"/scripts/{sid}/reset")
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    assert response.json()["error_count"] == 0
    assert response.json()["disabled_reason"] is None
    assert len(changes) == 3


async def test_lifecycle_preconditions(client: httpx.AsyncClient) -> None:
    sid = (await create(client, script_body()))["id"]
    stale = {"If-Match": f'"{sid}-0"'}
    for action in ("activate", "disable", "reset"):
        assert_problem(
            await client.post(f"/scripts/{sid}/{action}", headers=stale), 412, "precondition-failed"
        )
    ok = await client.post(f"/scripts/{sid}/activate", headers={"If-Match": f'"{sid}-1"'})
    assert ok.status_code == 200
    for action in ("activate", "disable", "reset"):
        assert_problem(await client.post(f"/scripts/missing/{action}"), 404, "not-found")
    assert_problem(
        await client.post(f"/scripts/{sid}/disable", json={"why": "x"}), 422, "validation"
    )


async def test_versions_and_rollback(client: httpx.AsyncClient, changes: list[str | None]) -> None:
    sid = (await create(client, script_body()))["id"]
    v2 = SEED_SOURCE.replace("100000", "20000")
    v3 = SEED_SOURCE.replace("100000", "30000")
    await client.put(f"/scripts/{sid}", json={"source": v2})
    await client.put(f"/scripts/{sid}", json={"source": v3})
    await client.put(f"/scripts/{sid}", json={"description": "not a new version"})

    versions = (await client.get(f"/scripts/{sid}/versions")).json()
    assert versions["total"] == 3
    assert [v["version"] for v in versions["items"]] == [1, 2, 3]
    assert [v["source"] for v in versions["items"]] == [SEED_SOURCE, v2, v3]

    one = await client.get(f"/scripts/{sid}/versions/1")
    assert one.status_code == 200 and one.json()["source"] == SEED_SOURCE
    assert_problem(await client.get(f"/scripts/{sid}/versions/9"), 404, "not-found")
    assert_problem(await client.get(f"/scripts/{sid}/versions/0"), 422, "validation")
    assert_problem(await client.get(f"/scripts/{sid}/versions/x"), 422, "validation")

    changes.clear()
    rolled = await client.post(f"/scripts/{sid}/rollback", json={"version": 1})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["version"] == 4 and rolled.json()["source"] == SEED_SOURCE
    assert changes == [None]
    four = (await client.get(f"/scripts/{sid}/versions/4")).json()
    assert four["rolled_back_from"] == 1 and four["source"] == SEED_SOURCE

    assert_problem(
        await client.post(f"/scripts/{sid}/rollback", json={"version": 99}), 404, "not-found"
    )
    assert_problem(await client.post(f"/scripts/{sid}/rollback", json={}), 422, "validation")
    assert_problem(
        await client.post(f"/scripts/{sid}/rollback", json={"version": 0}), 422, "validation"
    )


async def test_rollback_preconditions(client: httpx.AsyncClient) -> None:
    sid = (await create(client, script_body()))["id"]
    await client.put(f"/scripts/{sid}", json={"source": SEED_SOURCE + "\n# v2\n"})
    assert_problem(
        await client.post(f"/scripts/{sid}/rollback", json={"version": 1, "revision": 1}),
        409,
        "conflict",
    )
    assert_problem(
        await client.post(
            f"/scripts/{sid}/rollback", json={"version": 1}, headers={"If-Match": f'"{sid}-1"'}
        ),
        412,
        "precondition-failed",
    )
    ok = await client.post(
        f"/scripts/{sid}/rollback",
        json={"version": 1, "revision": 2},
        headers={"If-Match": f'"{sid}-2"'},
    )
    assert ok.status_code == 200, ok.text
    assert_problem(await client.get("/scripts/missing/versions"), 404, "not-found")
    assert_problem(
        await client.post("/scripts/missing/rollback", json={"version": 1}), 404, "not-found"
    )
