"""`alloy-scripting executions replay` against a live uvicorn server (real HTTP)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alloy_scripting.cli import app as cli_app
from alloy_scripting.model.script import ManualTrigger, Script
from alloy_scripting.runner.service import Runtime
from alloy_scripting.storage import InMemoryStores
from tests.unit.api.fixtures import cli_runner, make_api, make_runtime
from tests.uvicorn_servers import in_thread

TENANT = "cli-replay"
V1 = 'entity["total"] = entity["amount"] * 2\nemit("totalled", {"n": entity["total"]})\n'
V2 = 'entity["total"] = entity["amount"] * 3\nemit("totalled", {"n": entity["total"]})\n'


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Runtime, str]]:
    runtime = make_runtime(InMemoryStores())

    async def seed() -> str:
        registry = runtime.stores.scripts.for_tenant(TENANT)
        script = await registry.save(Script.new("totals", V1, ManualTrigger(), tenant_id=TENANT))
        await registry.save(script.model_copy(update={"source": V2}))
        _, result, _ = await runtime.orchestrator.run_manual(
            script.id, entity={"amount": 5}, tenant_id=TENANT
        )
        assert result.execution_id is not None
        return result.execution_id

    record_id = asyncio.run(seed())
    with in_thread(make_api(runtime), lifespan="auto") as url:
        yield url, runtime, record_id


@pytest.fixture
def cli(served: tuple[str, Runtime, str]) -> CliRunner:
    url, _, _ = served
    return cli_runner(url, TENANT)


def test_replay_current_stored_and_unsaved(
    cli: CliRunner, served: tuple[str, Runtime, str], tmp_path: Path
) -> None:
    _, _, record_id = served
    current = cli.invoke(cli_app, ["executions", "replay", record_id, "--json"])
    assert current.exit_code == 0, current.output
    body = json.loads(current.stdout)
    assert body["version"] == 2 and body["recorded_version"] == 2
    assert body["diff"]["same"] is True

    old = cli.invoke(cli_app, ["executions", "replay", record_id, "--version", "1"])
    assert old.exit_code == 0, old.output
    assert "with version 1: success" in old.stdout
    assert "changes.total: 15 -> 10" in old.stdout
    assert 'emitted +totalled {"n": 10}' in old.stdout
    assert 'emitted -totalled {"n": 15}' in old.stdout

    source = tmp_path / "candidate.py"
    source.write_text('abort("closed")\n', encoding="utf-8")
    unsaved = cli.invoke(cli_app, ["executions", "replay", record_id, "--file", str(source)])
    assert unsaved.exit_code == 0, unsaved.output
    assert "with an unsaved source: aborted" in unsaved.stdout
    assert 'outcome: "continue" -> "rejected"' in unsaved.stdout


def test_replay_refusals(cli: CliRunner, served: tuple[str, Runtime, str], tmp_path: Path) -> None:
    _, _, record_id = served
    missing = cli.invoke(cli_app, ["executions", "replay", "nope"])
    assert missing.exit_code == 1 and "404" in missing.stderr
    unknown = cli.invoke(cli_app, ["executions", "replay", record_id, "--version", "7"])
    assert unknown.exit_code == 1 and "404" in unknown.stderr
    source = tmp_path / "bad.py"
    source.write_text("x = undefined_thing\n", encoding="utf-8")
    invalid = cli.invoke(cli_app, ["executions", "replay", record_id, "--file", str(source)])
    assert invalid.exit_code == 1 and "422" in invalid.stderr
    both = cli.invoke(
        cli_app, ["executions", "replay", record_id, "--version", "1", "--file", str(source)]
    )
    assert both.exit_code == 2
    other = cli.invoke(cli_app, ["executions", "replay", record_id], env={"ALLOY_TENANT": "x"})
    assert other.exit_code == 1 and "404" in other.stderr
