"""`alloy-scripting script check` / `script run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alloy_scripting.cli import app

SEED = (
    'if entity["amount"] < 100:\n'
    '    abort("Minimum deal amount is 100")\n'
    'if entity["amount"] > 100000:\n'
    '    entity["status"] = "needs_approval"\n'
)
runner = CliRunner()


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    path = tmp_path / "seed.py"
    path.write_text(SEED)
    return path


def test_check_ok(seed: Path) -> None:
    result = runner.invoke(app, ["script", "check", str(seed), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"ok": True, "diagnostics": []}


def test_check_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text("import os\nx = nope\n")
    result = runner.invoke(app, ["script", "check", str(path), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert [(d["line"], d["severity"]) for d in data["diagnostics"]] == [(1, "error"), (2, "error")]
    human = runner.invoke(app, ["script", "check", str(path)])
    assert human.exit_code == 1 and f"{path}:1:1: error: imports are not allowed" in human.stdout


def test_check_phase(tmp_path: Path) -> None:
    path = tmp_path / "emit.py"
    path.write_text('emit("x", {})\n')
    assert runner.invoke(app, ["script", "check", str(path), "--phase", "after"]).exit_code == 0
    result = runner.invoke(app, ["script", "check", str(path), "--phase", "before", "--json"])
    assert result.exit_code == 1
    assert "'before' phase" in json.loads(result.stdout)["diagnostics"][0]["message"]


def test_check_stdin() -> None:
    result = runner.invoke(app, ["script", "check", "-", "--json"], input="x = 1\n")
    assert result.exit_code == 0 and json.loads(result.stdout)["ok"] is True


def test_run_json(seed: Path) -> None:
    result = runner.invoke(
        app, ["script", "run", str(seed), "--entity", '{"amount": 500000}', "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "success" and data["changes"] == {"status": "needs_approval"}
    result = runner.invoke(app, ["script", "run", str(seed), "--entity", '{"amount": 5}', "--json"])
    assert json.loads(result.stdout)["reason"] == "Minimum deal amount is 100"


def test_run_human(seed: Path) -> None:
    result = runner.invoke(app, ["script", "run", str(seed), "--entity", '{"amount": 5}'])
    assert result.exit_code == 0
    assert (
        "status: aborted" in result.stdout and "reason: Minimum deal amount is 100" in result.stdout
    )


def test_run_phase_from_event(tmp_path: Path) -> None:
    path = tmp_path / "s.py"
    path.write_text("log(ctx.phase, entity_before['a'], params)\n")
    result = runner.invoke(
        app,
        [
            "script",
            "run",
            str(path),
            "--event",
            "after_update",
            "--before",
            '{"a": 1}',
            "--params",
            '{"p": 1}',
            "--json",
        ],
    )
    data = json.loads(result.stdout)
    assert data["phase"] == "after" and data["logs"][0]["message"] == "after 1 {}"


@pytest.mark.parametrize(
    "args",
    [
        ["--entity", "{bad"],
        ["--entity", "[1]"],
        ["--params", "3"],
        ["--phase", "sometimes"],
        ["--event", "never"],
        ["--entity", '{"a":' + "[" * 5000 + "]" * 5000 + "}"],  # deeper than the parser goes
    ],
)
def test_run_usage_errors(seed: Path, args: list[str]) -> None:
    result = runner.invoke(app, ["script", "run", str(seed), *args])
    assert result.exit_code == 2
    assert "error:" in result.stderr


def test_missing_file() -> None:
    result = runner.invoke(app, ["script", "run", "/definitely/not/here.py"])
    assert result.exit_code == 2 and "no such file" in result.stderr
    assert runner.invoke(app, ["script", "check", "/definitely/not/here.py"]).exit_code == 2


@pytest.mark.parametrize(
    "source",
    [
        "while True:\n    pass\n",
        "x = 'a' * 10**9\n",
        "import os\n",
        "x = (\n",
        "a = [[0] * 10000] * 10000\nb = [[0] * 10000] * 10000\nwhile True:\n    a == b\n",
    ],
)
def test_run_always_prints_a_result(tmp_path: Path, source: str) -> None:
    path = tmp_path / "attack.py"
    path.write_text(source)
    result = runner.invoke(app, ["script", "run", str(path), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["status"] in {"error", "limit_exceeded", "timeout"}


def test_installed_entry_point(seed: Path) -> None:
    command = [sys.executable, "-m", "alloy_scripting.cli"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "service")}
    proc = subprocess.run(
        [*command, "script", "run", "-", "--entity", '{"amount": 500000}', "--json"],
        input=SEED,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["changes"] == {"status": "needs_approval"}
