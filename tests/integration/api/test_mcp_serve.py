"""`alloy-scripting serve` (Kafka, FerretDB, REST, scheduler off) starts and stops with the
MCP endpoint mounted: its session manager runs in the app's lifespan, and agents work there."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api.test_mcp_transports import over_http
from tests.integration.hooks.conftest import serve_env
from tests.integration.hooks.test_restart import free_port, start_serve, wait_ready
from tests.unit.api import mcp_flows
from tests.unit.api.fixtures import API_KEYS, KEY, MANUAL_SOURCE

pytestmark = pytest.mark.integration


async def test_serve_answers_mcp_and_stops_cleanly(
    kafka_bootstrap: str, mongodb_url: str, mongo_db: Any, unique_name: str, tmp_path: Path
) -> None:
    port = free_port()
    env = serve_env(
        kafka_bootstrap, mongodb_url, mongo_db, unique_name, port, ALLOY_API_KEYS=API_KEYS
    )
    log = tmp_path / "serve.log"
    proc = start_serve(env, str(log))
    try:
        await wait_ready(port, proc)
        url = f"http://127.0.0.1:{port}"
        async with over_http(url, KEY, **{"X-Tenant-Id": "serve"}) as client:
            await mcp_flows.check_tool_list(client)
            created = await mcp_flows.ok(
                client,
                "alloy_create_script",
                name="greeter",
                source=MANUAL_SOURCE,
                trigger={"type": "manual"},
                status="active",
            )
            ran = await mcp_flows.ok(
                client, "alloy_run_script", script_id=created["id"], dry_run=False
            )
            assert ran["status"] == "success" and ran["emitted"][0]["event_type"] == "greeted"
            for _ in range(50):  # the service writes execution records behind (0.5 s)
                page = await mcp_flows.ok(client, "alloy_list_executions", script_id=created["id"])
                if page["total"]:
                    break
                await asyncio.sleep(0.1)
            assert page["total"] == 1 and page["items"][0]["status"] == "success"
            source = await client.read_resource(f"alloy://scripts/{created['id']}")
            assert source.contents[0].text == MANUAL_SOURCE  # type: ignore[union-attr]
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 60) == 0, log.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            await asyncio.to_thread(proc.wait, 10)
    output = log.read_text(errors="replace")
    assert "StreamableHTTP session manager started" in output  # the app's lifespan ran it
    assert "StreamableHTTP session manager shutting down" in output
    assert "Traceback" not in output, output
    assert "stopped" in output
