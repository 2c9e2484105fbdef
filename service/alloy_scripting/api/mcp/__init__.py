"""The MCP server: the script-management tools, resources and prompt for AI agents, served
over streamable HTTP inside the REST app (`/mcp`) and over stdio (`alloy-scripting mcp`)."""
