"""HTTP clients pinned to a vetted address.

httpx connects to whatever its URL's host resolves to at connect time; we need the
connection to go to the address the policy vetted, while the request keeps the name (in
the Host header and as TLS SNI, so certificates are checked against the name). The pool
below gets a network backend that connects every (host, port) it is asked for to that one
address and refuses anything else. Clients are cached per (scheme, host, port, address),
so keep-alive connections are reused only for the same vetted destination.

No environment is consulted: ``trust_env=False`` (no proxy, no ``SSL_CERT_FILE``), no
HTTP/2, no retries, no redirects (the caller follows them through the policy).
"""

from __future__ import annotations

import asyncio
import ssl
import typing
from collections import OrderedDict

import httpcore
import httpx

from alloy_scripting import __version__
from alloy_scripting.bridge.http.policy import Target

USER_AGENT = f"alloy-scripting/{__version__}"
MAX_CLIENTS = 64
MAX_CONNECTIONS_PER_TARGET = 32
#: an evicted client may still serve calls in flight: it is closed after the longest call
RETIRE_AFTER_SECONDS = 60.0


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects (host, port) to one vetted address; refuses every other destination."""

    def __init__(self, host: str, port: int, address: str) -> None:
        self._host, self._port, self._address = host, port, address
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host != self._host or port != self._port:
            raise httpcore.ConnectError(f"{host}:{port} is not the vetted destination")
        return await self._inner.connect_tcp(
            self._address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not reachable")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a pool whose only backend is a `PinnedBackend`."""

    def __init__(self, target: Target, ssl_context: ssl.SSLContext) -> None:
        # Not calling super().__init__: it would build a pool with the default backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=MAX_CONNECTIONS_PER_TARGET,
            max_keepalive_connections=8,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=PinnedBackend(
                target.destination.host, target.destination.port, str(target.address)
            ),
        )


TargetKey = tuple[str, str, int, str]


class PinnedClients:
    """httpx clients per vetted destination (least recently used ones retired past
    `MAX_CLIENTS`). One SSL context for all: building one costs milliseconds."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context or httpx.create_ssl_context(trust_env=False)
        self._clients: OrderedDict[TargetKey, httpx.AsyncClient] = OrderedDict()
        self._retiring: dict[asyncio.Task[None], httpx.AsyncClient] = {}

    async def client_for(self, target: Target) -> httpx.AsyncClient:
        destination = target.destination
        key = (destination.scheme, destination.host, destination.port, str(target.address))
        client = self._clients.get(key)
        if client is not None:
            self._clients.move_to_end(key)
            return client
        client = httpx.AsyncClient(
            transport=PinnedTransport(target, self.ssl_context),
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        )
        self._clients[key] = client
        while len(self._clients) > MAX_CLIENTS:
            _, oldest = self._clients.popitem(last=False)
            self._retire(oldest)
        return client

    def _retire(self, client: httpx.AsyncClient) -> None:
        async def close_later() -> None:
            await asyncio.sleep(RETIRE_AFTER_SECONDS)
            await client.aclose()

        task = asyncio.get_running_loop().create_task(close_later())
        self._retiring[task] = client
        task.add_done_callback(lambda done: self._retiring.pop(done, None))

    async def aclose(self) -> None:
        retiring, self._retiring = self._retiring, {}
        for task in retiring:
            task.cancel()
        clients = [*self._clients.values(), *retiring.values()]
        self._clients = OrderedDict()
        for client in clients:
            await client.aclose()
