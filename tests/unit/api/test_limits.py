"""Engine limits from `ALLOY_LIMIT_*`, per-script `limits` bounded by the deployment's maxima.
Collected again against FerretDB by tests/integration/api (limits stored and read back)."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from alloy_scripting.engine import ScriptEngine
from alloy_scripting.runner.orchestrator import ScriptOrchestrator
from alloy_scripting.runner.service import Runtime, engine_config
from alloy_scripting.settings import Settings
from alloy_scripting.storage.protocols import Stores
from tests.unit.api.fixtures import assert_problem, create, make_settings, manual_body

LOOP = "total = 0\nfor i in range(2000):\n    total += i\nlog(str(total))\n"
DEEP = "def down(n):\n    return 0 if n == 0 else down(n - 1)\nlog(str(down(30)))\n"


@pytest.fixture
def runtime(stores: Stores) -> Runtime:
    """A deployment allowing 1,000 operations by default and at most 5,000 per script."""
    settings = make_settings(limit_operations=1000, limit_max_operations=5000)
    engine = ScriptEngine(engine_config(settings))
    orchestrator = ScriptOrchestrator(stores.scripts, engine, stores.executions)
    return Runtime(settings=settings, stores=stores, engine=engine, orchestrator=orchestrator)


def test_engine_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOY_LIMIT_OPERATIONS", "100")
    monkeypatch.setenv("ALLOY_LIMIT_TIMEOUT_MS", "250")
    monkeypatch.setenv("ALLOY_LIMIT_CALL_DEPTH", "4")
    monkeypatch.setenv("ALLOY_LIMIT_ARRAY_SIZE", "50")
    config = engine_config(Settings(_env_file=None))  # type: ignore[call-arg]
    assert (config.max_operations, config.timeout, config.max_call_depth) == (100, 0.25, 4)
    engine = ScriptEngine(config)
    ops = engine.execute(LOOP)
    assert ops.status.value == "limit_exceeded" and ops.limit == "operations"
    deep = engine.execute(DEEP)
    assert deep.status.value == "limit_exceeded" and "call depth above 4" in str(deep.error)
    big = engine.execute("xs = [0] * 60\n")
    assert big.status.value == "limit_exceeded"

    monkeypatch.setenv("ALLOY_LIMIT_MAX_OPERATIONS", "50")  # below the default of 100
    with pytest.raises(ValidationError, match="ALLOY_LIMIT_MAX_OPERATIONS=50"):
        Settings(_env_file=None)  # type: ignore[call-arg]


async def test_a_script_may_ask_for_more_up_to_the_maximum(client: httpx.AsyncClient) -> None:
    plain = await create(client, manual_body("plain", source=LOOP, status="active"))
    assert plain["limits"] is None
    ran = (await client.post(f"/scripts/{plain['id']}/run", json={})).json()
    assert ran["result"]["status"] == "limit_exceeded"
    assert "more than 1000 operations" in str(ran["result"]["error"])

    roomy = await create(
        client,
        manual_body("roomy", source=LOOP, status="active", limits={"max_operations": 5000}),
    )
    assert roomy["limits"] == {"timeout_ms": None, "max_operations": 5000, "max_call_depth": None}
    stored = (await client.get(f"/scripts/{roomy['id']}")).json()
    assert stored["limits"]["max_operations"] == 5000
    ran = (await client.post(f"/scripts/{roomy['id']}/run", json={})).json()
    assert ran["result"]["status"] == "success", ran
    assert ran["result"]["logs"][0]["message"] == str(sum(range(2000)))

    tight = await client.put(f"/scripts/{roomy['id']}", json={"limits": {"max_operations": 10}})
    assert tight.status_code == 200, tight.text
    assert tight.json()["limits"]["max_operations"] == 10
    ran = (await client.post(f"/scripts/{roomy['id']}/run", json={})).json()
    assert "more than 10 operations" in str(ran["result"]["error"])

    cleared = await client.put(f"/scripts/{roomy['id']}", json={"limits": {}})
    assert cleared.json()["limits"] is None
    kept = await client.put(f"/scripts/{roomy['id']}", json={"description": "x"})
    assert kept.json()["limits"] is None


async def test_a_request_above_a_maximum_names_it(client: httpx.AsyncClient) -> None:
    above = await client.post(
        "/scripts",
        json=manual_body("greedy", source=LOOP, limits={"max_operations": 5001}),
    )
    problem = assert_problem(above, 422, "validation")
    assert "ALLOY_LIMIT_MAX_OPERATIONS=5000" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "limits", "max_operations"]
    assert (await client.get("/scripts")).json()["total"] == 0

    sid = (await create(client, manual_body("modest", source=LOOP)))["id"]
    problem = assert_problem(
        await client.put(
            f"/scripts/{sid}", json={"limits": {"timeout_ms": 5000, "max_call_depth": 65}}
        ),
        422,
        "validation",
    )
    assert "ALLOY_LIMIT_MAX_TIMEOUT_MS=1000" in problem["detail"]
    assert "ALLOY_LIMIT_MAX_CALL_DEPTH=64" in problem["detail"]
    for bad in ({"max_operations": 0}, {"timeout_ms": "soon"}, {"memory": 5}):
        response = await client.post("/scripts", json=manual_body("bad", limits=bad))
        assert_problem(response, 422, "validation")
