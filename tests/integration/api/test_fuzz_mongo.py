"""The OpenAPI fuzz against MongoDB: a real uvicorn server (its own event loop, its own Mongo
client on a fresh database) in a thread; schemathesis calls it over HTTP. No 5xx."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient
from starlette.types import Receive, Scope, Send

from alloy_scripting.storage import InMemoryStores, MongoStores
from tests.unit.api.fixtures import (
    FAILING_SOURCE,
    auth,
    make_api,
    make_runtime,
    manual_body,
    script_body,
)
from tests.unit.api.test_fuzz import CHECKS

pytestmark = pytest.mark.integration

KNOWN: dict[str, str] = {}
schema = schemathesis.openapi.from_dict(make_api(make_runtime(InMemoryStores())).openapi())


class MongoBackedApi:
    """Builds the API on lifespan start-up, inside the server's loop; drops the database at the end."""

    def __init__(self, mongodb_url: str) -> None:
        self.mongodb_url = mongodb_url
        self.inner: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.inner(scope, receive, send)
            return
        await receive()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.mongodb_url, tz_aware=True)
        name = f"t_fuzz_{uuid.uuid4().hex[:12]}"
        stores = MongoStores(client[name])
        await stores.ensure_indexes()
        self.inner = make_api(make_runtime(stores))
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await client.drop_database(name)
        await client.close()
        await send({"type": "lifespan.shutdown.complete"})


@pytest.fixture(scope="module")
def server_url(mongodb_url: str) -> Iterator[str]:
    config = uvicorn.Config(
        MongoBackedApi(mongodb_url), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    with httpx.Client(base_url=url, headers=auth()) as client:
        for body in (
            script_body("fuzz_deal", status="active"),
            manual_body("fuzz_manual", status="active"),
            manual_body("fuzz_failing", source=FAILING_SOURCE, status="active"),
        ):
            created = client.post("/scripts", json=body).json()
            KNOWN[created["name"]] = created["id"]
    yield url
    server.should_exit = True
    thread.join(15)


@schema.hook
def flatmap_path_parameters(
    context: Any, path_parameters: dict[str, Any]
) -> st.SearchStrategy[dict[str, Any]]:
    if not path_parameters or context.operation.method.upper() == "DELETE":
        return st.just(path_parameters)
    options = [path_parameters]
    if "script_id" in path_parameters:
        options += [{**path_parameters, "script_id": sid} for sid in KNOWN.values()]
    if "name" in path_parameters:
        options += [{**path_parameters, "name": name} for name in KNOWN]
    return st.sampled_from(options)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_on_mongo(case: schemathesis.Case, server_url: str) -> None:
    case.call_and_validate(base_url=server_url, headers=auth(), checks=CHECKS)
