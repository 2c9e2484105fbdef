"""`alloy-scripting scripts test|create|update|activate` for API endpoints and fixtures,
against a real uvicorn server on MongoDB (FerretDB); the endpoint is then called over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import Result

from alloy_scripting.cli.remote import scripts_app
from alloy_scripting.storage import MongoStores
from tests.unit.api.fixtures import KEY, auth, cli_runner, make_api, make_runtime
from tests.uvicorn_servers import in_loop

pytestmark = pytest.mark.integration

SCORE = """\
amount = params["body"]["amount"]
if amount < 0:
    abort("negative")
respond({"score": amount * 2}, 201)
"""
GOOD = [
    {"name": "doubles", "params": {"body": {"amount": 2}, "query": {}},
     "expect": {"outcome": "continue"}},
    {"name": "refuses negatives", "params": {"body": {"amount": -1}, "query": {}},
     "expect": {"outcome": "rejected", "reason_contains": "negative"}},
]  # fmt: skip
WRONG = [*GOOD, {"name": "wrong", "params": {"body": {"amount": -5}, "query": {}},
                 "expect": {"outcome": "continue"}}]  # fmt: skip


@pytest.fixture
async def server_url(mongo_db: Any) -> AsyncIterator[str]:
    stores = MongoStores(mongo_db)
    await stores.ensure_indexes()
    async with in_loop(make_api(make_runtime(stores))) as url:
        yield url


async def invoke(url: str, *args: str) -> Result:
    runner = cli_runner(url, "cli")
    return await asyncio.to_thread(runner.invoke, scripts_app, list(args))


async def test_fixtures_gate_and_the_endpoint_answers(server_url: str, tmp_path: Path) -> None:
    source = tmp_path / "score.py"
    source.write_text(SCORE)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(WRONG))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))

    refused = await invoke(server_url, "create", "score", "-f", str(source), "--api",
                           "POST deals/score", "--fixtures", f"@{wrong}", "--activate")  # fmt: skip
    assert refused.exit_code == 1, refused.stdout
    assert "409 The script's fixtures fail" in refused.stderr
    assert "  FAIL wrong: outcome: expected continue, got rejected (negative)" in refused.stderr

    created = await invoke(server_url, "create", "score", "-f", str(source), "--api",
                           "POST deals/score", "--fixtures", f"@{wrong}")  # fmt: skip
    assert created.exit_code == 0, created.stderr
    assert "draft" in created.stdout

    tested = await invoke(server_url, "test", "score")
    assert tested.exit_code == 1
    assert "PASS doubles (continue)" in tested.stdout
    assert "FAIL wrong (rejected)" in tested.stdout
    assert "outcome: expected continue, got rejected (negative)" in tested.stdout
    assert "2 passed, 1 failed" in tested.stdout
    assert (await invoke(server_url, "activate", "score")).exit_code == 1

    updated = await invoke(server_url, "update", "score", "--fixtures", f"@{good}")
    assert updated.exit_code == 0, updated.stderr
    report = await invoke(server_url, "test", "score", "--json")
    assert report.exit_code == 0
    assert [case["passed"] for case in json.loads(report.stdout)["cases"]] == [True, True]
    activated = await invoke(server_url, "activate", "score")
    assert activated.exit_code == 0, activated.stderr
    listed = await invoke(server_url, "list")
    assert "api POST /api/deals/score" in listed.stdout

    async with httpx.AsyncClient(
        base_url=server_url, headers=auth(KEY, **{"X-Tenant-Id": "cli"})
    ) as http:
        answer = await http.post("/api/deals/score", json={"amount": 4})
        assert answer.status_code == 201 and answer.json() == {"score": 8}
        refused_call = await http.post("/api/deals/score", json={"amount": -4})
        assert refused_call.status_code == 422
        assert refused_call.json()["detail"] == "negative"
        endpoints = (await http.get("/api-endpoints")).json()
        assert [(e["method"], e["path"], e["status"]) for e in endpoints["items"]] == [
            ("POST", "deals/score", "active")
        ]
