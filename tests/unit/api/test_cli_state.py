"""`alloy-scripting state list|get|delete` against a live uvicorn server (real HTTP)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from alloy_scripting.cli import app as cli_app
from alloy_scripting.runner.service import Runtime
from alloy_scripting.storage import InMemoryStores
from tests.unit.api.fixtures import cli_runner, make_api, make_runtime
from tests.uvicorn_servers import in_thread

TENANT = "cli-state"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Runtime]]:
    runtime = make_runtime(InMemoryStores())

    async def seed() -> None:
        await runtime.state.put(TENANT, "customers", "c1", {"name": "Ann"})
        await runtime.state.put(TENANT, "customers", "a/b", {"name": "Slash"})
        await runtime.state.put("other", "customers", "c9", {"name": "Not yours"})

    asyncio.run(seed())
    with in_thread(make_api(runtime), lifespan="auto") as url:
        yield url, runtime


@pytest.fixture
def cli(served: tuple[str, Runtime]) -> CliRunner:
    url, _ = served
    return cli_runner(url, TENANT)


def test_list_get_delete(cli: CliRunner, served: tuple[str, Runtime]) -> None:
    listed = cli.invoke(cli_app, ["state", "list", "customers", "--json"])
    assert listed.exit_code == 0, listed.output
    page = json.loads(listed.stdout)
    assert [item["key"] for item in page["items"]] == ["a/b", "c1"] and page["total"] == 2
    text = cli.invoke(cli_app, ["state", "list", "customers"])
    assert 'c1\t{"name": "Ann"}' in text.stdout
    got = cli.invoke(cli_app, ["state", "get", "customers", "a/b"])
    assert got.exit_code == 0 and json.loads(got.stdout) == {"name": "Slash"}
    assert cli.invoke(cli_app, ["state", "get", "customers", "c9"]).exit_code == 1
    deleted = cli.invoke(cli_app, ["state", "delete", "customers", "c1"])
    assert deleted.exit_code == 0 and "deleted customers/c1" in deleted.stdout
    missing = cli.invoke(cli_app, ["state", "delete", "customers", "c1"])
    assert missing.exit_code == 1 and "404" in missing.stderr
    bad = cli.invoke(cli_app, ["state", "list", "Bad.Name"])
    assert bad.exit_code == 1 and "422" in bad.stderr
    _, runtime = served
    assert asyncio.run(runtime.state.get(TENANT, "customers", "c1")) is None
    assert asyncio.run(runtime.state.get("other", "customers", "c9")) is not None
