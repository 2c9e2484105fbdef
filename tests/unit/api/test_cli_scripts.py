"""`alloy-scripting scripts ...` against a live uvicorn server (real HTTP, in-process)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alloy_scripting.api.auth import key_label
from alloy_scripting.cli.remote import scripts_app
from alloy_scripting.storage import InMemoryStores
from tests.unit.api.fixtures import (
    FAILING_SOURCE,
    INVALID_SOURCE,
    KEY,
    MANUAL_SOURCE,
    SEED_SOURCE,
    cli_runner,
    make_api,
    make_runtime,
)
from tests.uvicorn_servers import in_thread

COMMANDS = [
    "list", "get", "create", "update", "delete", "run", "executions",
    "reset", "activate", "disable", "versions", "rollback", "test",
]  # fmt: skip


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    app = make_api(make_runtime(InMemoryStores()))
    with in_thread(app) as url:
        yield url


@pytest.fixture
def cli(server_url: str, unique_name: str) -> Iterator[CliRunner]:
    """A runner whose environment points at the server, in a fresh tenant per test."""
    yield cli_runner(server_url, f"cli-{unique_name}")


def run(cli: CliRunner, *args: str, code: int = 0, stdin: str | None = None) -> str:
    result = cli.invoke(scripts_app, list(args), input=stdin)
    assert result.exit_code == code, (args, result.stdout, result.stderr, result.exception)
    return result.stdout if code == 0 else result.stderr


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    paths = {}
    for name, text in {
        "seed": SEED_SOURCE,
        "seed2": SEED_SOURCE.replace("100000", "90000"),
        "manual": MANUAL_SOURCE,
        "failing": FAILING_SOURCE,
        "invalid": INVALID_SOURCE,
    }.items():
        path = tmp_path / f"{name}.py"
        path.write_text(text)
        paths[name] = str(path)
    return paths


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(scripts_app, [command, "--help"])
    assert result.exit_code == 0
    assert "--url" in result.stdout and "--api-key" in result.stdout and "--tenant" in result.stdout


def test_create_list_get(cli: CliRunner, files: dict[str, str]) -> None:
    out = run(cli, "create", "validate_deal", "--file", files["seed"], "--event", "deal:before_create",
              "--priority", "3", "--activate", "--description", "seed")  # fmt: skip
    assert out.startswith("created validate_deal (id ")
    assert "active" in out

    created = json.loads(run(cli, "create", "every_5m", "-f", files["manual"], "--cron", "*/5 * * * *",
                             "--timezone", "Europe/Paris", "--on-error", "continue", "--json"))  # fmt: skip
    assert created["trigger"] == {
        "type": "cron",
        "expression": "*/5 * * * *",
        "timezone": "Europe/Paris",
    }
    assert created["on_error"] == "continue" and created["status"] == "draft"
    run(cli, "create", "api_one", "-f", "-", "--api", "recalc", stdin=MANUAL_SOURCE)

    table = run(cli, "list")
    assert (
        "validate_deal" in table and "event deal:before_create" in table and "(1-3 of 3)" in table
    )
    listed = json.loads(run(cli, "list", "--status", "active", "--json"))
    assert [s["name"] for s in listed["items"]] == ["validate_deal"]
    assert json.loads(run(cli, "list", "--trigger", "cron", "--json"))["total"] == 1
    assert (
        json.loads(run(cli, "list", "--prefix", "api", "--json"))["items"][0]["trigger"]["name"]
        == "recalc"
    )

    shown = run(cli, "get", "validate_deal")
    assert "priority:        3" in shown and SEED_SOURCE.splitlines()[1].strip() in shown
    by_id = json.loads(run(cli, "get", created["id"], "--json"))
    assert by_id["name"] == "every_5m"


def test_run_and_executions(cli: CliRunner, files: dict[str, str]) -> None:
    run(
        cli,
        "create",
        "validate_deal",
        "--file",
        files["seed"],
        "--event",
        "deal:before_create",
        "--activate",
    )
    out = run(cli, "run", "validate_deal", "--entity", '{"amount": 50}', "--entity-type", "deal")
    assert "status: aborted" in out and "Minimum deal amount is 100" in out
    big = json.loads(run(cli, "run", "validate_deal", "--entity", '{"amount": 500000}', "--json"))
    assert big["result"]["changes"] == {"status": "needs_approval"}

    created = json.loads(
        run(cli, "create", "greeter", "-f", files["manual"], "--activate", "--json")
    )
    out = run(cli, "run", created["id"], "-p", "who=ada", "--dry-run")
    assert "status: success" in out and 'effect: greeted {"who": "ada"}' in out

    log = run(cli, "executions", "validate_deal")
    assert "aborted" in log and "(2 of 2)" in log
    assert json.loads(run(cli, "executions", "greeter", "--json"))["total"] == 0


def test_update_versions_rollback(cli: CliRunner, files: dict[str, str]) -> None:
    run(cli, "create", "validate_deal", "--file", files["seed"], "--event", "deal:before_create")
    out = run(
        cli,
        "update",
        "validate_deal",
        "--file",
        files["seed2"],
        "--description",
        "v2",
        "--user",
        "dora",
    )
    assert "version 2" in out
    renamed = json.loads(
        run(cli, "update", "validate_deal", "--name", "deal_rules", "--priority", "7", "--json")
    )
    assert renamed["name"] == "deal_rules" and renamed["priority"] == 7
    assert renamed["version"] == 2 and renamed["updated_by"] == key_label(KEY)
    assert json.loads(run(cli, "versions", "deal_rules", "2", "--json"))["created_by"] == "dora"

    table = run(cli, "versions", "deal_rules")
    assert table.count("event deal:before_create") == 2 and "current" in table
    # Version 2's threshold line (a bare "90000" can be part of a printed timestamp).
    v2_line = 'entity["amount"] > 90000:'
    assert v2_line not in run(cli, "versions", "deal_rules", "1")
    out = run(cli, "rollback", "deal_rules", "1")
    assert "rolled back to version 1" in out and "version 3" in out
    assert "rollback to 1" in run(cli, "versions", "deal_rules")
    assert v2_line not in run(cli, "get", "deal_rules")


def test_lifecycle_commands(cli: CliRunner, files: dict[str, str]) -> None:
    run(cli, "create", "flaky", "--file", files["failing"], "--manual", "--activate")
    for _ in range(3):
        assert "status: error" in run(cli, "run", "flaky")
    assert json.loads(run(cli, "get", "flaky", "--json"))["status"] == "disabled"
    assert "is disabled" in run(cli, "run", "flaky", code=1)
    assert "reset flaky" in run(cli, "reset", "flaky") and "active" in run(cli, "get", "flaky")
    disabled = json.loads(run(cli, "disable", "flaky", "--reason", "maintenance", "--json"))
    assert disabled["disabled_reason"] == "maintenance"
    assert "activated flaky" in run(cli, "activate", "flaky")


def test_delete(cli: CliRunner, files: dict[str, str]) -> None:
    run(cli, "create", "doomed", "--file", files["manual"])
    run(cli, "delete", "doomed", stdin="n\n", code=1)
    assert "doomed" in run(cli, "get", "doomed")
    assert "deleted doomed" in run(cli, "delete", "doomed", stdin="y\n")
    run(cli, "create", "doomed", "--file", files["manual"])
    assert "deleted doomed" in run(cli, "delete", "doomed", "--yes")
    assert "404" in run(cli, "get", "doomed", code=1)


def test_errors_and_exit_codes(cli: CliRunner, files: dict[str, str], server_url: str) -> None:
    err = run(cli, "create", "bad", "--file", files["invalid"], code=1)
    assert "422" in err and "undefined_thing" in err and "1:" in err
    err = run(cli, "create", "bad", "--file", files["manual"], "--cron", "nope", code=1)
    assert "trigger" in err
    assert "choose one trigger" in run(
        cli, "create", "x", "-f", files["manual"], "--manual", "--api", "a", code=2
    )
    assert "--event takes" in run(
        cli, "create", "x", "-f", files["manual"], "--event", "deal", code=2
    )
    assert "--file is required" in run(cli, "create", "x", code=2)
    assert "cannot read" in run(cli, "create", "x", "-f", "/nonexistent/file.py", code=2)
    assert "not valid JSON" in run(cli, "run", "x", "--entity", "{", code=2)
    assert "401" in run(cli, "list", "--api-key", "wrong", code=1)
    assert "cannot reach" in run(cli, "list", "--url", f"http://127.0.0.1:{_free_port()}", code=2)


def test_tenants_are_separate(cli: CliRunner, files: dict[str, str]) -> None:
    run(cli, "create", "mine", "--file", files["manual"])
    assert "404" in run(cli, "get", "mine", "--tenant", "someone-else", code=1)
    assert json.loads(run(cli, "list", "--tenant", "someone-else", "--json"))["total"] == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
