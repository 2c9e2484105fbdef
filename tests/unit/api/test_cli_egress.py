"""`alloy-scripting egress get|set` against a live uvicorn server (real HTTP, in-process)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from alloy_scripting.api.app import create_api
from alloy_scripting.cli import app as main_app
from alloy_scripting.storage import InMemoryStores
from tests.unit.api.fixtures import cli_runner, make_runtime
from tests.uvicorn_servers import in_thread


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    app = create_api(make_runtime(InMemoryStores()))
    with in_thread(app) as url:
        yield url


@pytest.fixture
def cli(server_url: str, unique_name: str) -> CliRunner:
    return cli_runner(server_url, f"cli-{unique_name}")


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(main_app, ["egress", *args])
    assert result.exit_code == code, (args, result.stdout, result.stderr, result.exception)
    return result.stdout if code == 0 else result.stderr


def test_set_then_get(cli: CliRunner) -> None:
    assert "every HTTP call" in run(cli, "get")
    out = run(cli, "set", "API.example.com", "*.hooks.example.com", "2130706433:8081")
    assert out.splitlines() == ["api.example.com", "*.hooks.example.com", "127.0.0.1:8081"]
    assert run(cli, "get").splitlines() == out.splitlines()
    as_json = json.loads(run(cli, "get", "--json"))
    assert as_json["allow"] == out.splitlines()
    assert as_json["tenant_id"].startswith("cli-")
    assert "every HTTP call" in run(cli, "set")  # no entries clears the list


def test_bad_entries_exit_1_naming_them(cli: CliRunner) -> None:
    err = run(cli, "set", "ok.example.com", "http://evil.example", code=1)
    assert "422" in err and "body.allow.1" in err
    assert "every HTTP call" in run(cli, "get")


def test_unreachable_api_exits_2() -> None:
    result = CliRunner().invoke(main_app, ["egress", "get", "--url", "http://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "cannot reach" in result.stderr


def test_help_names_the_connection_options() -> None:
    for command in ("get", "set"):
        result = CliRunner().invoke(main_app, ["egress", command, "--help"])
        assert result.exit_code == 0
        assert "--url" in result.stdout and "--tenant" in result.stdout
