"""`alloy-scripting scripts shadow start|status|stop` against a live uvicorn server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from alloy_scripting.cli.main import app as cli_app
from alloy_scripting.cli.shadow import until_of
from alloy_scripting.runner.service import Runtime
from alloy_scripting.runner.shadow import ShadowRunner
from alloy_scripting.storage import InMemoryStores
from tests.unit.api.fixtures import INVALID_SOURCE, KEY, SEED_SOURCE, make_api, make_runtime


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Runtime]]:
    runtime = make_runtime(InMemoryStores())
    runtime.orchestrator.shadows = ShadowRunner(
        runtime.stores.shadows, runtime.engine, instance_id="i1"
    )
    server = uvicorn.Server(
        uvicorn.Config(make_api(runtime), host="127.0.0.1", port=0, log_level="warning",
                       lifespan="off")
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", runtime
    server.should_exit = True
    thread.join(10)


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(cli_app, ["scripts", *args])
    assert result.exit_code == code, (args, result.stdout, result.stderr, result.exception)
    return result.stdout if code == 0 else result.stderr


def test_start_status_stop(served: tuple[str, Runtime], tmp_path: Path, unique_name: str) -> None:
    url, runtime = served
    cli = CliRunner(
        env={"ALLOY_API_URL": url, "ALLOY_API_KEY": KEY, "ALLOY_TENANT": f"cli-{unique_name}"}
    )
    seed, candidate, invalid = (tmp_path / n for n in ("seed.py", "cand.py", "bad.py"))
    seed.write_text(SEED_SOURCE)
    candidate.write_text(SEED_SOURCE.replace("100000", "1000"))
    invalid.write_text(INVALID_SOURCE)
    run(cli, "create", "deal_rule", "-f", str(seed), "--event", "deal:before_create", "--activate")
    run(cli, "create", "draft_rule", "-f", str(seed), "--event", "deal:before_create")

    out = run(cli, "shadow", "start", "deal_rule", "-f", str(candidate), "--until", "2h",
              "--sample", "0.5")  # fmt: skip
    assert out.startswith("started shadow ") and "sample 0.5" in out and "runs 0" in out
    asyncio.run(
        runtime.orchestrator.run_before(
            "deal", "before_create", {"amount": 5000}, tenant_id=f"cli-{unique_name}"
        )
    )
    status = json.loads(run(cli, "shadow", "status", "deal_rule", "--json"))
    assert status["sample"] == 0.5 and status["running"] is True
    assert status["summary"]["runs"] + status["summary"]["skipped"] <= 1

    stopped = run(cli, "shadow", "stop", "deal_rule")
    assert stopped.startswith("stopped shadow ")
    assert "has no shadow run" in run(cli, "shadow", "status", "deal_rule", code=1)
    assert "is draft" in run(
        cli, "shadow", "start", "draft_rule", "-f", str(candidate), "--until", "1d", code=1
    )
    refused = run(cli, "shadow", "start", "deal_rule", "-f", str(invalid), "--until", "1d", code=1)
    assert "undefined_thing" in refused
    assert "--until" in run(
        cli, "shadow", "start", "deal_rule", "-f", str(candidate), "--until", "soon", code=2
    )


def test_until_accepts_durations_and_aware_times() -> None:
    assert until_of("2030-01-01T00:00:00+00:00") == "2030-01-01T00:00:00+00:00"
    assert until_of("30m") > until_of("1m")
    for command in ("start", "status", "stop"):
        result = CliRunner().invoke(cli_app, ["scripts", "shadow", command, "--help"])
        assert result.exit_code == 0 and "--url" in result.stdout
