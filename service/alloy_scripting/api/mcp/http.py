"""The streamable HTTP transport inside the REST app: `/mcp`, stateless, JSON responses.

`McpEndpoint` authenticates every request exactly as the REST API does (`resolve_caller`:
`Authorization: Bearer`, the key's tenant or `X-Tenant-Id`, `X-User-Id`) and answers 401 /
403 with the same problem; the caller rides in the ASGI scope to the tools (`backend_for`).
DNS-rebinding protection (allowed `Host` / `Origin`) comes from the settings.
`McpHttp.lifespan` runs the SDK's session manager; the app's lifespan must enter it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi.security.utils import get_authorization_scheme_param
from mcp.server.mcpserver import Context
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from alloy_scripting.api.auth import Caller, KeyRing, resolve_caller
from alloy_scripting.api.deps import Ctx
from alloy_scripting.api.mcp.backend import BackendFor, LocalBackend, ScriptBackend
from alloy_scripting.api.mcp.server import AlloyMCPServer, build_server
from alloy_scripting.api.problems import ProblemError, problem_response
from alloy_scripting.runner.service import Runtime
from alloy_scripting.settings import Settings

PATH = "/mcp"
CALLER = "alloy.mcp.caller"
"""Where `McpEndpoint` leaves the caller in the request's scope state."""


def _items(spec: str) -> list[str]:
    return [item.strip() for item in spec.split(",") if item.strip()]


def transport_security(settings: Settings) -> TransportSecuritySettings:
    hosts = _items(settings.mcp_allowed_hosts)
    if hosts == ["*"]:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=_items(settings.mcp_allowed_origins),
    )


def caller_of(ctx: Context) -> Caller | None:
    """The caller `McpEndpoint` authenticated for this request (None outside HTTP)."""
    try:
        request: Any = ctx.request_context.request
    except ValueError:  # called outside a request
        return None
    if request is None:
        return None
    caller = request.scope.get("state", {}).get(CALLER)
    return caller if isinstance(caller, Caller) else None


def local_backends(runtime: Runtime, default: Caller | None = None) -> BackendFor:
    """`backend_for` in this process: the authenticated caller of the request, else
    `default` (in-memory clients, tests); without either, unauthorized."""

    def backend_for(ctx: Context) -> ScriptBackend:
        caller = caller_of(ctx) or default
        if caller is None:
            raise ProblemError("unauthorized", "no authenticated caller")
        return LocalBackend(Ctx(runtime, caller))

    return backend_for


def local_server(
    runtime: Runtime,
    default: Caller | None = None,
    *,
    asyncapi: Mapping[str, Any] | None = None,
) -> AlloyMCPServer:
    """The MCP server on this process's operations; `asyncapi` is the Kafka contract it
    serves as a resource (handed over like the REST app's: `api` never imports messaging)."""

    async def contract() -> dict[str, Any]:
        if asyncapi is None:
            raise ProblemError("unavailable", "this instance serves no AsyncAPI document")
        return dict(asyncapi)

    return build_server(local_backends(runtime, default), contract)


class McpEndpoint:
    """ASGI app of `/mcp`: authenticate, then hand over to the session manager."""

    def __init__(self, server: AlloyMCPServer, ring: KeyRing) -> None:
        self.server = server
        self.ring = ring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        scheme, token = get_authorization_scheme_param(headers.get("authorization"))
        bearer = token if scheme.lower() == "bearer" and token else None
        try:
            caller = resolve_caller(
                self.ring, bearer, headers.get("x-tenant-id"), headers.get("x-user-id")
            )
        except ProblemError as exc:
            response = problem_response(
                exc.kind, exc.detail, instance=scope["path"], headers=exc.headers, **exc.extensions
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[CALLER] = caller
        await self.server.session_manager.handle_request(scope, receive, send)


class McpHttp:
    """The MCP server of one app, its endpoint, and the lifespan that runs it."""

    def __init__(
        self, runtime: Runtime, ring: KeyRing, asyncapi: Mapping[str, Any] | None = None
    ) -> None:
        self.settings = runtime.settings
        self.server = local_server(runtime, asyncapi=asyncapi)
        self.endpoint = McpEndpoint(self.server, ring)

    def route(self) -> Route:
        return Route(
            PATH, endpoint=self.endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False
        )

    @asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        # A session manager runs once: each start of the app gets a new one.
        self.server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            json_response=True,
            transport_security=transport_security(self.settings),
        )
        async with self.server.session_manager.run():
            yield
