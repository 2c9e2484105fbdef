"""Debug runs over REST (no side effects, a trace per executed line) and fixtures that gate
activation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from alloy_scripting.runner.service import Runtime
from alloy_scripting.runner.workers import PoolConfig, WorkerPool
from alloy_scripting.storage import Stores
from tests.unit.api.fixtures import (
    SEED_SOURCE,
    assert_problem,
    create,
    make_runtime,
    manual_body,
    script_body,
)


@pytest.fixture(scope="module")
async def debug_pool() -> AsyncIterator[WorkerPool]:
    async with WorkerPool(config=PoolConfig(size=1)) as pool:
        yield pool


@pytest.fixture(params=["inline", "pool"])
def runtime(request: pytest.FixtureRequest, stores: Stores) -> Runtime:
    """Every test here twice: debug runs and fixtures in this process (no pool: the library
    and `inline` mode) and in a worker (the service's default)."""
    runtime = make_runtime(stores)
    if request.param == "pool":
        runtime.pool = request.getfixturevalue("debug_pool")
    return runtime


LOOP = """\
total = 0
for i in range(3):
    if i % 2 == 0:
        total += i
    else:
        log("odd", i)
entity["total"] = total
"""

EFFECTS = """\
emit("deal.scored", {"id": entity["id"]})
answer = http_get("https://rates.example/eur")
entity["rate"] = answer["json"]["rate"]
"""

SMALL = {
    "name": "small deal",
    "entity": {"amount": 5},
    "expect": {"outcome": "rejected", "reason_contains": "Minimum"},
}
BIG = {
    "name": "big deal",
    "entity": {"amount": 500000},
    "expect": {"outcome": "continue", "changes": {"status": "needs_approval"}},
}
WRONG = {"name": "wrong", "entity": {"amount": 500}, "expect": {"outcome": "rejected"}}


def steps_of(answer: dict[str, Any]) -> list[tuple[int, dict[str, str]]]:
    return [(step["line"], step["names"]) for step in answer["trace"]["steps"]]


async def test_debug_unsaved_traces_loops_and_branches(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/scripts/debug", json={"source": LOOP, "entity": {"id": "d1"}, "phase": "manual"}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["result"]["status"] == "success"
    assert answer["result"]["changes"] == {"total": 2}
    assert steps_of(answer) == [
        (1, {"total": "0"}),
        (2, {"i": "0"}),
        (3, {}),
        (4, {}),
        (2, {"i": "1"}),
        (3, {}),
        (6, {}),
        (2, {"i": "2"}),
        (3, {}),
        (4, {"total": "2"}),
        (2, {}),
        (7, {}),
    ]
    steps = answer["trace"]["steps"]
    assert steps[6]["logs"] == ["info: odd 1"]
    assert steps[-1]["changes"] == {"total": "2"}
    assert [s["operations"] for s in steps] == sorted(s["operations"] for s in steps)
    assert answer["trace"]["truncated"] is None and answer["trace"]["executed"] == 12


async def test_debug_trace_is_bounded(client: httpx.AsyncClient) -> None:
    source = "x = 0\nwhile True:\n    x += 1\n"
    answer = (await client.post("/scripts/debug", json={"source": source})).json()
    assert answer["result"]["status"] in ("limit_exceeded", "timeout")
    assert len(answer["trace"]["steps"]) == 1000
    assert answer["trace"]["truncated"] == "steps"
    assert answer["trace"]["executed"] > 1000


async def test_debug_has_no_side_effects(client: httpx.AsyncClient, runtime: Runtime) -> None:
    published: list[Any] = []

    async def sink(effects: list[Any]) -> None:
        published.extend(effects)

    runtime.orchestrator.effects_sink = sink
    created = await create(
        client,
        script_body(
            "scorer",
            source=EFFECTS,
            trigger={"type": "event", "entity_type": "deal", "event": "after_create"},
            status="active",
        ),
    )
    fixture = {"url": "https://rates.example/eur", "body": {"rate": 1.1}}
    response = await client.post(
        f"/scripts/{created['id']}/debug",
        json={"entity": {"id": "d1"}, "http_fixtures": [fixture]},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["result"]["status"] == "success", answer["result"]
    assert answer["result"]["phase"] == "after"
    assert answer["result"]["changes"] == {"rate": 1.1}
    assert answer["intents"] == [
        {"kind": "emit", "event_type": "deal.scored", "payload": {"id": "d1"}},
        {"kind": "http", "method": "GET", "url": "https://rates.example/eur", "body": None},
    ]
    # nothing published, nothing logged, no failure counted
    assert published == []
    log = (await client.get(f"/scripts/{created['id']}/executions")).json()
    assert log["total"] == 0

    # without a fixture, HTTP is refused (and still not performed)
    answer = (
        await client.post(f"/scripts/{created['id']}/debug", json={"entity": {"id": "d1"}})
    ).json()
    assert answer["result"]["status"] == "error"
    assert (
        "no http_fixture for GET https://rates.example/eur" in answer["result"]["error"]["message"]
    )
    stored = (await client.get(f"/scripts/{created['id']}")).json()
    assert stored["error_count"] == 0 and stored["status"] == "active"


async def test_debug_stored_before_hook_in_its_phase(client: httpx.AsyncClient) -> None:
    created = await create(client, script_body("validate_deal"))
    answer = (
        await client.post(f"/scripts/{created['id']}/debug", json={"entity": {"amount": 5}})
    ).json()
    assert answer["result"]["status"] == "aborted"
    assert answer["result"]["phase"] == "before"
    assert answer["result"]["reason"] == "Minimum deal amount is 100"
    assert [step["line"] for step in answer["trace"]["steps"]] == [1, 2]
    assert_problem(await client.post("/scripts/nope/debug", json={}), 404, "not-found")


async def test_debug_refuses_bad_samples(client: httpx.AsyncClient) -> None:
    bad = [
        {"source": "x = 1\n", "entity": {"n": 2**70}},
        {"source": "x = 1\n", "surprise": True},
        {"source": "x = 1\n", "http_fixtures": [{"url": ""}]},
    ]
    for body in bad:
        assert_problem(await client.post("/scripts/debug", json=body), 422, "validation")


async def test_fixtures_gate_activation(client: httpx.AsyncClient) -> None:
    created = await create(client, script_body("validate_deal", fixtures=[SMALL, WRONG]))
    sid = created["id"]
    report = (await client.post(f"/scripts/{sid}/test")).json()
    assert report["passed"] is False
    assert [(c["name"], c["passed"]) for c in report["cases"]] == [
        ("small deal", True),
        ("wrong", False),
    ]
    assert report["cases"][1]["differences"] == ["outcome: expected rejected, got continue"]

    problem = assert_problem(await client.post(f"/scripts/{sid}/activate"), 409, "fixtures-failing")
    assert [case["name"] for case in problem["failing"]] == ["wrong"]
    assert (await client.get(f"/scripts/{sid}")).json()["status"] == "draft"

    fixed = await client.put(f"/scripts/{sid}", json={"fixtures": [SMALL, BIG]})
    assert fixed.status_code == 200, fixed.text
    activated = await client.post(f"/scripts/{sid}/activate")
    assert activated.status_code == 200, activated.text
    assert activated.json()["status"] == "active"


async def test_fixtures_gate_updates_of_an_active_script(client: httpx.AsyncClient) -> None:
    created = await create(
        client, script_body("validate_deal", fixtures=[SMALL, BIG], status="active")
    )
    sid = created["id"]
    broken = SEED_SOURCE.replace("100:", "1:")  # no longer rejects small deals
    problem = assert_problem(
        await client.put(f"/scripts/{sid}", json={"source": broken}), 409, "fixtures-failing"
    )
    assert problem["failing"][0]["name"] == "small deal"
    stored = (await client.get(f"/scripts/{sid}")).json()
    assert stored["source"] == SEED_SOURCE and stored["version"] == 1

    # a draft may be broken; activating it is not
    assert (await client.post(f"/scripts/{sid}/disable")).status_code == 200
    assert (await client.put(f"/scripts/{sid}", json={"source": broken})).status_code == 200
    assert_problem(
        await client.put(f"/scripts/{sid}", json={"status": "active"}), 409, "fixtures-failing"
    )
    assert_problem(await client.post(f"/scripts/{sid}/reset"), 409, "fixtures-failing")
    assert_problem(
        await client.post(
            "/scripts", json=script_body("again", source=broken, fixtures=[SMALL], status="active")
        ),
        409,
        "fixtures-failing",
    )


async def test_fixture_expectations_on_emits_and_removals(client: httpx.AsyncClient) -> None:
    source = 'emit("greeted", {"who": params["who"]})\n'
    fixtures = [
        {
            "name": "emits",
            "params": {"who": "ann"},
            "entity": {},
            "expect": {
                "outcome": "continue",
                "emitted": [{"event_type": "greeted", "payload": {"who": "ann"}}],
            },
        },
        {
            "name": "wrong payload",
            "params": {"who": "bob"},
            "entity": {},
            "expect": {
                "outcome": "continue",
                "emitted": [{"event_type": "greeted", "payload": {"who": "ann"}}],
            },
        },
        {"name": "error", "params": {}, "entity": {}, "expect": {"outcome": "error"}},
    ]
    created = await create(client, manual_body("greeter", source=source, fixtures=fixtures))
    report = (await client.post(f"/scripts/{created['id']}/test")).json()
    assert [(c["name"], c["passed"]) for c in report["cases"]] == [
        ("emits", True),
        ("wrong payload", False),
        ("error", True),
    ]
    assert report["cases"][1]["differences"][0].startswith("emitted: expected")


async def test_a_debug_run_of_a_stored_script_keeps_its_own_limits(
    client: httpx.AsyncClient,
) -> None:
    loop = "total = 0\nfor i in range(5000):\n    total += i\nentity['total'] = total\n"
    body = script_body("counted", source=loop, limits={"max_operations": 1000})
    body["trigger"] = {"type": "manual"}
    created = await create(client, body)
    answer = (
        await client.post(f"/scripts/{created['id']}/debug", json={"entity": {"id": "d1"}})
    ).json()
    assert (answer["result"]["status"], answer["result"]["limit"]) == (
        "limit_exceeded",
        "operations",
    )
    unsaved = (await client.post("/scripts/debug", json={"source": loop, "phase": "manual"})).json()
    assert unsaved["result"]["status"] == "success"  # the engine's limits, not the script's
