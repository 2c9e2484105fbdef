"""The shadow-run MCP tools (in-process SDK client, in-memory stores, inline runs)."""

from __future__ import annotations

from datetime import timedelta

from mcp import Client

from alloy_scripting.api.auth import Caller
from alloy_scripting.api.mcp.http import local_server
from alloy_scripting.messaging.contract import asyncapi_document
from alloy_scripting.model.script import utc_now
from alloy_scripting.runner.shadow import ShadowRunner
from alloy_scripting.storage import InMemoryStores
from tests.unit.api.fixtures import SEED_SOURCE, make_runtime
from tests.unit.api.mcp_flows import DEAL_TRIGGER, fresh, ok, problem


async def test_start_get_stop_a_shadow_over_mcp() -> None:
    runtime = make_runtime(InMemoryStores())
    runner = ShadowRunner(runtime.stores.shadows, runtime.engine, instance_id="i1")
    runtime.orchestrator.shadows = runner
    server = local_server(
        runtime, Caller("acme", "agent"), asyncapi=asyncapi_document(runtime.settings)
    )
    async with Client(server) as acme:
        created = await ok(
            acme, "alloy_create_script", name=fresh("deal"), source=SEED_SOURCE,
            trigger=DEAL_TRIGGER, status="active",
        )  # fmt: skip
        sid = created["id"]
        until = (utc_now() + timedelta(hours=2)).isoformat()
        candidate = SEED_SOURCE.replace("100000", "1000")
        started = await ok(
            acme, "alloy_start_shadow", script_id=sid, source=candidate, until=until, sample=1
        )
        assert started["running"] is True and started["summary"]["runs"] == 0
        await runtime.orchestrator.run_before(
            "deal", "before_create", {"amount": 5000}, tenant_id="acme"
        )
        await runner.wait_idle()
        read = await ok(acme, "alloy_get_shadow", script_id=sid)
        assert read["summary"]["different"] == 1
        assert read["summary"]["examples"][0]["candidate"] == {
            "changes": {"status": "needs_approval"}
        }
        stopped = await ok(acme, "alloy_stop_shadow", script_id=sid)
        assert stopped["summary"]["runs"] == 1
        await problem(acme, "alloy_get_shadow", "not-found", script_id=sid)
        await problem(
            acme, "alloy_start_shadow", "script-invalid", script_id=sid,
            source="x = undefined_thing", until=until,
        )  # fmt: skip
        await problem(
            acme, "alloy_start_shadow", "validation", script_id=sid, source=candidate,
            until=(utc_now() - timedelta(hours=1)).isoformat(),
        )  # fmt: skip
