"""`alloy-scripting mcp`: the MCP server over stdio for a desktop agent, acting through a
running service's REST API (so the service enforces keys, tenancy and validation). Logs go
to stderr: stdout carries the protocol."""

from __future__ import annotations

import logging
import sys
from typing import Any

import anyio

from alloy_scripting.api.mcp.remote import RemoteBackend
from alloy_scripting.api.mcp.server import AlloyMCPServer, build_server
from alloy_scripting.client.rest import ManagementClient


def remote_server(client: ManagementClient) -> AlloyMCPServer:
    backend = RemoteBackend(client)

    async def contract() -> dict[str, Any]:
        return await backend.asyncapi()

    return build_server(lambda ctx: backend, contract)


def run_stdio(url: str, *, api_key: str | None, tenant: str | None, user: str | None) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with ManagementClient(url, api_key=api_key, tenant=tenant, user=user) as client:
        anyio.run(remote_server(client).run_stdio_async)
