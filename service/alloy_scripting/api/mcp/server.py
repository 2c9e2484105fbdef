"""`build_server`: the MCP server of alloy-scripting, with its tools, resources and prompt."""

import logging
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, InputRequiredResult

from alloy_scripting.api.mcp import content, tools
from alloy_scripting.api.mcp.backend import BackendFor, Contract
from alloy_scripting.api.mcp.errors import problem_of, tool_error

logger = logging.getLogger("alloy.mcp")

INSTRUCTIONS = (
    "Manage sandboxed business scripts that react to entity events. Before writing a "
    "script read `alloy_script_helpers` (what it may call, per phase) and validate it "
    "with `alloy_validate_script`; try it with `alloy_run_script` (dry run by default). "
    "Errors are RFC 9457 problems: branch on their `type`."
)


class AlloyMCPServer(MCPServer):
    """`MCPServer` whose tool failures carry the REST API's problem details."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            # The SDK wraps what the tool (or argument validation) raised; unwrap it.
            problem = None if exc.__cause__ is None else problem_of(exc.__cause__)
            if problem is None:
                raise
            if int(problem.get("status") or 500) >= 500:
                logger.error("MCP tool %s failed: %r", name, exc.__cause__)
            return tool_error(problem)


def build_server(backend_for: BackendFor, contract: Contract) -> AlloyMCPServer:
    """`backend_for` gives each call the caller's backend (in-process or over REST);
    `contract` the service's AsyncAPI document."""
    server = AlloyMCPServer(
        "alloy-scripting", title="alloy-scripting", version="0.1.0", instructions=INSTRUCTIONS
    )
    tools.register(server, backend_for)
    content.register(server, backend_for, contract)
    return server
