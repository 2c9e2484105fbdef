"""POST/GET /scripts, POST /scripts/validate, GET/PUT/DELETE /scripts/{id}."""

from __future__ import annotations

import httpx

from alloy_scripting.api.auth import key_label
from tests.unit.api.fixtures import (
    INVALID_SOURCE,
    KEY,
    MANUAL_SOURCE,
    SEED_SOURCE,
    assert_problem,
    create,
    manual_body,
    script_body,
)


async def test_create_returns_the_stored_script(
    client: httpx.AsyncClient, changes: list[str | None]
) -> None:
    response = await client.post("/scripts", json=script_body(description="seed", priority=5))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "validate_deal"
    assert body["status"] == "draft"
    assert body["version"] == 1 and body["revision"] == 1
    assert body["priority"] == 5 and body["description"] == "seed"
    assert body["trigger"] == {"type": "event", "entity_type": "deal", "event": "before_create"}
    assert body["tenant_id"] is None
    assert body["created_by"] == key_label(KEY) == body["updated_by"]
    assert KEY not in response.text
    assert response.headers["location"] == f"/scripts/{body['id']}"
    assert response.headers["etag"] == f'"{body["id"]}-1"'
    assert body["next_run_at"] is None
    assert changes == [None]


async def test_create_active_cron_script_shows_next_run(client: httpx.AsyncClient) -> None:
    body = await create(
        client,
        manual_body(
            "every_5m",
            trigger={"type": "cron", "expression": "*/5 * * * *", "timezone": "Europe/Paris"},
            status="active",
            on_error="continue",
        ),
    )
    assert body["status"] == "active"
    assert body["on_error"] == "continue"
    assert body["next_run_at"] is not None


async def test_create_records_the_user_header(client: httpx.AsyncClient) -> None:
    body = await create(client, manual_body(), **{"X-User-Id": "alice"})
    assert body["created_by"] == "alice" == body["updated_by"]


async def test_create_refuses_a_script_with_errors(
    client: httpx.AsyncClient, changes: list[str | None]
) -> None:
    response = await client.post("/scripts", json=manual_body(source=INVALID_SOURCE))
    problem = assert_problem(response, 422, "script-invalid")
    assert problem["diagnostics"]
    first = problem["diagnostics"][0]
    assert first["severity"] == "error"
    assert "undefined_thing" in first["message"]
    assert first["line"] == 1
    assert changes == []
    listed = await client.get("/scripts")
    assert listed.json()["total"] == 0


async def test_create_validates_for_the_trigger_phase(client: httpx.AsyncClient) -> None:
    # emit is fine in a manual script, not in a before-hook
    await create(client, manual_body("ok_manual"))
    response = await client.post("/scripts", json=script_body("bad_before", source=MANUAL_SOURCE))
    problem = assert_problem(response, 422, "script-invalid")
    assert any("emit" in d["message"] for d in problem["diagnostics"])


async def test_create_duplicate_name_is_a_conflict(client: httpx.AsyncClient) -> None:
    await create(client, script_body())
    response = await client.post("/scripts", json=script_body())
    assert_problem(response, 409, "conflict")


async def test_create_field_errors_name_the_field(client: httpx.AsyncClient) -> None:
    bad_cron = manual_body(trigger={"type": "cron", "expression": "not a cron"})
    problem = assert_problem(await client.post("/scripts", json=bad_cron), 422, "validation")
    assert any("expression" in e["loc"] for e in problem["errors"])

    bad_name = script_body(name="has space")
    problem = assert_problem(await client.post("/scripts", json=bad_name), 422, "validation")
    assert any(e["loc"][:2] == ["body", "name"] for e in problem["errors"])

    unknown = {**script_body(), "colour": "red"}
    problem = assert_problem(await client.post("/scripts", json=unknown), 422, "validation")
    assert any("colour" in e["loc"] for e in problem["errors"])

    bad_trigger = script_body(trigger={"type": "webhook"})
    assert_problem(await client.post("/scripts", json=bad_trigger), 422, "validation")

    missing = {"name": "x"}
    problem = assert_problem(await client.post("/scripts", json=missing), 422, "validation")
    assert {"source", "trigger"} <= {e["loc"][-1] for e in problem["errors"]}


async def test_validate_returns_diagnostics_without_saving(client: httpx.AsyncClient) -> None:
    ok = await client.post("/scripts/validate", json={"source": SEED_SOURCE, "phase": "before"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["ok"] is True
    assert all(d["severity"] != "error" for d in ok.json()["diagnostics"])

    bad = await client.post("/scripts/validate", json={"source": INVALID_SOURCE})
    assert bad.status_code == 200
    assert bad.json()["ok"] is False
    diagnostic = bad.json()["diagnostics"][0]
    assert set(diagnostic) >= {"severity", "line", "col", "message"}

    wrong_phase = await client.post(
        "/scripts/validate", json={"source": MANUAL_SOURCE, "phase": "before"}
    )
    assert wrong_phase.json()["ok"] is False
    assert (await client.get("/scripts")).json()["total"] == 0

    assert_problem(
        await client.post("/scripts/validate", json={"source": "x", "phase": "sometime"}),
        422,
        "validation",
    )


async def test_list_filters_and_paginates(client: httpx.AsyncClient) -> None:
    await create(client, script_body("a_before"))
    await create(
        client,
        script_body(
            "b_after",
            trigger={"type": "event", "entity_type": "deal", "event": "after_create"},
            source=MANUAL_SOURCE,
        ),
    )
    await create(
        client,
        script_body(
            "c_contact",
            trigger={"type": "event", "entity_type": "contact", "event": "before_create"},
        ),
    )
    await create(client, manual_body("d_manual", status="active"))
    await create(client, manual_body("e_api", trigger={"type": "api", "name": "recalc"}))
    await create(client, manual_body("f_cron", trigger={"type": "cron", "expression": "0 * * * *"}))

    async def names(**params: object) -> list[str]:
        response = await client.get("/scripts", params=params)
        assert response.status_code == 200, response.text
        return [s["name"] for s in response.json()["items"]]

    assert await names() == ["a_before", "b_after", "c_contact", "d_manual", "e_api", "f_cron"]
    assert await names(status="active") == ["d_manual"]
    assert await names(trigger_type="event") == ["a_before", "b_after", "c_contact"]
    assert await names(trigger_type="cron") == ["f_cron"]
    assert await names(entity_type="deal") == ["a_before", "b_after"]
    assert await names(event="before_create") == ["a_before", "c_contact"]
    assert await names(entity_type="deal", event="after_create") == ["b_after"]
    assert await names(name_prefix="e_") == ["e_api"]
    assert await names(name_prefix="zzz") == []

    page = (await client.get("/scripts", params={"offset": 2, "limit": 2})).json()
    assert [s["name"] for s in page["items"]] == ["c_contact", "d_manual"]
    assert (page["total"], page["offset"], page["limit"]) == (6, 2, 2)
    beyond = (await client.get("/scripts", params={"offset": 100})).json()
    assert beyond["items"] == [] and beyond["total"] == 6
    assert (await client.get("/scripts", params={"limit": 200})).status_code == 200
    assert (await client.get("/scripts", params={"limit": 0})).json()["total"] == 6


async def test_list_bounds_are_validation_problems(client: httpx.AsyncClient) -> None:
    for params in (
        {"limit": 201},
        {"limit": -1},
        {"offset": -1},
        {"limit": "many"},
        {"status": "sleeping"},
        {"trigger_type": "webhook"},
        {"event": "before_lunch"},
        {"name_prefix": "a b"},
    ):
        problem = assert_problem(await client.get("/scripts", params=params), 422, "validation")
        assert problem["errors"][0]["loc"][0] == "query"


async def test_get_by_id_and_by_name_with_etag(client: httpx.AsyncClient) -> None:
    created = await create(client, script_body())
    by_id = await client.get(f"/scripts/{created['id']}")
    assert by_id.status_code == 200
    assert by_id.json()["source"] == SEED_SOURCE
    assert by_id.headers["etag"] == f'"{created["id"]}-1"'
    by_name = await client.get("/scripts/name/validate_deal")
    assert by_name.json()["id"] == created["id"]
    assert_problem(await client.get("/scripts/nope"), 404, "not-found")
    assert_problem(await client.get("/scripts/name/nope"), 404, "not-found")
    assert_problem(await client.get("/scripts/name/not%20a%20name"), 404, "not-found")


async def test_update_bumps_revision_and_version(
    client: httpx.AsyncClient, changes: list[str | None]
) -> None:
    created = await create(client, script_body())
    sid = created["id"]

    response = await client.put(f"/scripts/{sid}", json={"description": "only text"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["revision"], body["version"]) == (2, 1)
    assert body["description"] == "only text"
    assert response.headers["etag"] == f'"{sid}-2"'

    new_source = SEED_SOURCE.replace("100000", "50000")
    body = (
        await client.put(
            f"/scripts/{sid}", json={"source": new_source}, headers={"X-User-Id": "bob"}
        )
    ).json()
    assert (body["revision"], body["version"]) == (3, 2)
    assert body["source"] == new_source
    assert body["updated_by"] == "bob"
    assert body["created_by"] == key_label(KEY)

    body = (
        await client.put(
            f"/scripts/{sid}",
            json={"trigger": {"type": "manual"}, "priority": -3, "name": "renamed"},
        )
    ).json()
    assert (body["revision"], body["version"]) == (4, 3)
    assert body["priority"] == -3 and body["name"] == "renamed"
    assert changes == [None] * 4


async def test_update_with_if_match(client: httpx.AsyncClient) -> None:
    created = await create(client, script_body())
    sid = created["id"]
    etag = (await client.get(f"/scripts/{sid}")).headers["etag"]

    ok = await client.put(f"/scripts/{sid}", json={"description": "v2"}, headers={"If-Match": etag})
    assert ok.status_code == 200
    stale = await client.put(
        f"/scripts/{sid}", json={"description": "v3"}, headers={"If-Match": etag}
    )
    problem = assert_problem(stale, 412, "precondition-failed")
    assert problem["etag"] == ok.headers["etag"]
    assert (await client.get(f"/scripts/{sid}")).json()["description"] == "v2"

    assert (
        await client.put(f"/scripts/{sid}", json={"description": "v3"}, headers={"If-Match": "*"})
    ).status_code == 200
    assert (
        await client.put(
            f"/scripts/{sid}", json={"description": "v4"}, headers={"If-Match": '"x", "3"'}
        )
    ).status_code == 200
    weak = await client.put(
        f"/scripts/{sid}", json={"description": "v5"}, headers={"If-Match": f'W/"{sid}-4"'}
    )
    assert_problem(weak, 412, "precondition-failed")


async def test_update_with_revision_field(client: httpx.AsyncClient) -> None:
    created = await create(client, script_body())
    sid = created["id"]
    ok = await client.put(f"/scripts/{sid}", json={"description": "a", "revision": 1})
    assert ok.status_code == 200
    stale = await client.put(f"/scripts/{sid}", json={"description": "b", "revision": 1})
    problem = assert_problem(stale, 409, "conflict")
    assert problem["revision"] == 2


async def test_update_refuses_invalid_source_and_duplicate_name(client: httpx.AsyncClient) -> None:
    created = await create(client, script_body())
    await create(client, manual_body("other"))
    sid = created["id"]
    assert_problem(
        await client.put(f"/scripts/{sid}", json={"source": INVALID_SOURCE}), 422, "script-invalid"
    )
    assert_problem(
        await client.put(f"/scripts/{sid}", json={"source": MANUAL_SOURCE}), 422, "script-invalid"
    )
    assert_problem(await client.put(f"/scripts/{sid}", json={"name": "other"}), 409, "conflict")
    assert_problem(await client.put(f"/scripts/{sid}", json={"priority": 10**9}), 422, "validation")
    assert_problem(await client.put(f"/scripts/{sid}", json={"id": "other"}), 422, "validation")
    assert_problem(await client.put("/scripts/missing", json={"priority": 1}), 404, "not-found")
    unchanged = (await client.get(f"/scripts/{sid}")).json()
    assert unchanged["revision"] == 1 and unchanged["source"] == SEED_SOURCE


async def test_update_status_through_put(client: httpx.AsyncClient) -> None:
    created = await create(client, script_body())
    body = (await client.put(f"/scripts/{created['id']}", json={"status": "active"})).json()
    assert body["status"] == "active"
    body = (await client.put(f"/scripts/{created['id']}", json={"status": "disabled"})).json()
    assert body["status"] == "disabled" and body["disabled_reason"]


async def test_delete(client: httpx.AsyncClient, changes: list[str | None]) -> None:
    created = await create(client, script_body())
    sid = created["id"]
    response = await client.delete(f"/scripts/{sid}")
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(f"/scripts/{sid}"), 404, "not-found")
    assert_problem(await client.delete(f"/scripts/{sid}"), 404, "not-found")
    assert changes == [None, None]


async def test_delete_preconditions(client: httpx.AsyncClient) -> None:
    sid = (await create(client, script_body()))["id"]
    await client.put(f"/scripts/{sid}", json={"description": "changed"})
    assert_problem(
        await client.delete(f"/scripts/{sid}", headers={"If-Match": f'"{sid}-1"'}),
        412,
        "precondition-failed",
    )
    assert_problem(await client.delete(f"/scripts/{sid}", params={"revision": 1}), 409, "conflict")
    assert (await client.delete(f"/scripts/{sid}", params={"revision": 2})).status_code == 204

    sid = (await create(client, script_body()))["id"]
    assert (
        await client.delete(f"/scripts/{sid}", headers={"If-Match": f'"{sid}-1"'})
    ).status_code == 204
