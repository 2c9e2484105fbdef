"""`alloy-scripting script debug FILE`: the source of each executed step with what it did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alloy_scripting.cli import app

LOOP = """\
total = 0
for i in range(3):
    if i % 2 == 0:
        total += i
    else:
        log("odd", i)
entity["total"] = total
emit("done", {"total": total})
"""
runner = CliRunner()


@pytest.fixture
def loop(tmp_path: Path) -> Path:
    path = tmp_path / "loop.py"
    path.write_text(LOOP)
    return path


def test_text_lists_each_step_beside_its_line(loop: Path) -> None:
    result = runner.invoke(
        app, ["script", "debug", str(loop), "--event", "after_create", "--entity", '{"a": 1}']
    )
    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()
    assert [row.split("│")[0].strip() for row in rows[:13]] == [
        "1", "2", "3", "4", "2", "3", "6", "2", "3", "4", "2", "7", "8",
    ]  # fmt: skip
    assert rows[0].startswith("   1 │ total = 0") and "total = 0" in rows[0].split("│")[1][20:]
    assert "i = 1" in rows[4] and "log info: odd 1" in rows[6]
    assert "entity['total'] = 2" in rows[11]
    assert "\x1b[" not in result.stdout  # no colour when not a terminal
    assert "status: success" in result.stdout
    assert 'intent emit (not performed): {"event_type": "done", "payload": {"total": 2}}' in (
        result.stdout
    )


def test_colour_on_request(loop: Path) -> None:
    result = runner.invoke(app, ["script", "debug", str(loop), "--color"])
    assert result.exit_code == 0
    assert "\x1b[36mtotal = 0\x1b[0m" in result.stdout


def test_json_report(loop: Path) -> None:
    result = runner.invoke(
        app, ["script", "debug", str(loop), "--json", "--phase", "manual", "--no-isolate"]
    )
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["result"]["status"] == "success" and report["result"]["phase"] == "manual"
    assert len(report["trace"]["steps"]) == 13 and report["trace"]["truncated"] is None
    assert report["intents"] == [{"kind": "emit", "event_type": "done", "payload": {"total": 2}}]


def test_http_fixtures_and_truncation(tmp_path: Path) -> None:
    path = tmp_path / "http.py"
    path.write_text('a = http_get("https://x.example")\nwhile True:\n    a = a\n')
    fixtures = json.dumps([{"url": "https://x.example", "body": {"n": 1}}])
    result = runner.invoke(
        app, ["script", "debug", str(path), "--phase", "manual", "--http-fixtures", fixtures]
    )
    assert result.exit_code == 0, result.output
    assert (
        "a = {'status': 200, 'headers': {}, 'text': '{\"n\": 1}', 'json': {'n': 1}}"
        in result.stdout
    )
    assert "… trace truncated (steps): 1000 of" in result.stdout
    assert 'intent http (not performed): {"method": "GET", "url": "https://x.example"' in (
        result.stdout
    )


def test_usage_errors(loop: Path) -> None:
    for args in (["--entity", "[1]"], ["--event", "nope"], ["--http-fixtures", '{"a": 1}']):
        result = runner.invoke(app, ["script", "debug", str(loop), *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("error: ")
