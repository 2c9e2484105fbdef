"""The template tools in memory (the SDK's own client, in-process), on in-memory stores."""

from __future__ import annotations

from alloy_scripting.runner.service import Runtime
from tests.unit.api import mcp_template_flows
from tests.unit.api.test_mcp import connect, runtime

__all__ = ["runtime"]


async def test_templates_through_the_tools(runtime: Runtime) -> None:
    async with connect(runtime, "acme") as acme:
        await mcp_template_flows.check_templates(acme)


async def test_tenant_templates_are_isolated(runtime: Runtime) -> None:
    async with connect(runtime, "acme") as acme, connect(runtime, "globex") as globex:
        await mcp_template_flows.check_template_isolation(acme, globex)
        await mcp_template_flows.check_template_isolation(globex, acme)
