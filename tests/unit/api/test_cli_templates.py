"""`alloy-scripting templates ...` against a live uvicorn server (real HTTP, in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from alloy_scripting.cli import app as main_app
from alloy_scripting.model.template_catalogue import builtin_templates
from tests.unit.api.test_cli_egress import cli, server_url
from tests.unit.api.test_templates import HOSTILE, discount_template

__all__ = ["cli", "server_url"]


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(main_app, ["templates", *args])
    assert result.exit_code == code, (args, result.stdout, result.stderr, result.exception)
    return result.stdout if code == 0 else result.stderr


def test_list_and_show(cli: CliRunner) -> None:
    lines = run(cli, "list").splitlines()
    assert lines[0].split() == ["ID", "OWNER", "VERSION", "TRIGGER", "NAME"]
    assert [line.split()[0] for line in lines[1:]] == sorted(builtin_templates())
    assert "event deal:before_create" in run(cli, "list", "--tag", "approval")
    shown = run(cli, "show", "webhook-on-create")
    assert "url (string, required)" in shown
    assert "timeout_seconds (number) - default 5" in shown
    assert 'http_post(config["url"]' in shown
    as_json = json.loads(run(cli, "show", "deal-amount-approval", "--json"))
    assert as_json["params_schema"]["properties"]["min_amount"]["default"] == 100
    assert "404" in run(cli, "show", "nope", code=1)


def test_instantiate_with_params_and_trigger(cli: CliRunner, tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"min_amount": 10, "approval_status": HOSTILE}))
    out = run(
        cli,
        "instantiate",
        "deal-amount-approval",
        "quote_rules",
        "--params",
        f"@{params}",
        "--event",
        "quote:before_create",
    )
    assert out.startswith("created quote_rules (id ") and "draft" in out
    script = json.loads(cli.invoke(main_app, ["scripts", "get", "quote_rules", "--json"]).stdout)
    assert script["trigger"]["entity_type"] == "quote"
    assert script["template"]["params"]["approval_status"] == HOSTILE
    tested = cli.invoke(main_app, ["scripts", "test", "quote_rules"])
    assert tested.exit_code == 0, tested.stdout

    refused = run(
        cli, "instantiate", "deal-amount-approval", "x", "--params", '{"min_amount": -1}', code=1
    )
    assert "422" in refused and "params.min_amount" in refused
    assert "JSON object" in run(
        cli, "instantiate", "required-fields", "x", "--params", "[]", code=2
    )


def test_publish_show_delete(cli: CliRunner, tmp_path: Path) -> None:
    file = tmp_path / "discount.yaml"
    file.write_text(yaml.safe_dump(discount_template("cli-discount")))
    assert run(cli, "publish", str(file)).startswith("published cli-discount version 1 for tenant")
    assert "version 2" in run(cli, "publish", str(file))
    assert "cli-discount" in run(cli, "list")
    made = json.loads(run(cli, "instantiate", "cli-discount", "disc", "--json"))
    assert made["template"]["params"] == {"from_amount": 1000, "percent": 5}
    assert run(cli, "delete", "cli-discount") == "deleted template cli-discount\n"
    assert "404" in run(cli, "show", "cli-discount", code=1)
    assert "409" in run(cli, "delete", "required-fields", code=1)
    failing = tmp_path / "failing.yaml"
    body = discount_template("cli-bad")
    body["fixtures"][0]["expect"]["changes"] = {"discount": 1}
    failing.write_text(yaml.safe_dump(body))
    assert "FAIL big" in run(cli, "publish", str(failing), code=1)
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed")
    assert "neither YAML nor JSON" in run(cli, "publish", str(broken), code=2)
