"""An ASGI app served by a real uvicorn on 127.0.0.1 and a free port, for the tests that talk
HTTP to the REST API: in a thread with its own event loop (`in_thread`), or as a task of the
running loop (`in_loop`); and `MongoBackedApi`, the REST app built on a fresh MongoDB database
inside the server's own loop."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Literal

import uvicorn
from pymongo import AsyncMongoClient
from starlette.types import ASGIApp, Receive, Scope, Send

from alloy_scripting.storage import MongoStores
from tests.unit.api.fixtures import make_api, make_runtime

Lifespan = Literal["auto", "on", "off"]


def _config(app: ASGIApp, lifespan: Lifespan) -> uvicorn.Config:
    return uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan)


def _url(server: uvicorn.Server) -> str:
    return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


@contextmanager
def in_thread(
    app: ASGIApp,
    *,
    lifespan: Lifespan = "off",
    start_within: float = 10,
    stop_within: float = 10,
    must_stop: bool = False,
) -> Iterator[str]:
    """The base URL of ``app`` served in a daemon thread; stopped on exit (``must_stop``: the
    thread must have ended within ``stop_within`` seconds)."""
    server = uvicorn.Server(_config(app, lifespan))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_within
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield _url(server)
    finally:
        server.should_exit = True
        thread.join(stop_within)
    if must_stop:
        assert not thread.is_alive(), "uvicorn did not stop"


@asynccontextmanager
async def in_loop(app: ASGIApp, *, start_polls: int = 1000) -> AsyncIterator[str]:
    """The base URL of ``app`` served (lifespan off) by a task of the running event loop."""
    server = uvicorn.Server(_config(app, "off"))
    task = asyncio.create_task(server.serve())
    for _ in range(start_polls):
        if server.started:
            break
        assert not task.done(), "uvicorn stopped"
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    try:
        yield _url(server)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


class MongoBackedApi:
    """The REST app on a fresh MongoDB database, built and started (its lifespan, hence the
    MCP session manager) inside the server's event loop; the database is dropped at the end.
    Serve it with ``lifespan="on"``."""

    def __init__(self, mongodb_url: str, database_prefix: str) -> None:
        self.mongodb_url = mongodb_url
        self.database_prefix = database_prefix
        self.inner: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.inner(scope, receive, send)
            return
        await receive()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.mongodb_url, tz_aware=True)
        name = f"{self.database_prefix}{uuid.uuid4().hex[:12]}"
        stores = MongoStores(client[name])
        await stores.ensure_indexes()
        self.inner = make_api(make_runtime(stores))
        async with self.inner.router.lifespan_context(self.inner):
            await send({"type": "lifespan.startup.complete"})
            await receive()
        await client.drop_database(name)
        await client.close()
        await send({"type": "lifespan.shutdown.complete"})
