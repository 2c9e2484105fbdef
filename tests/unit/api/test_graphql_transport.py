"""/graphql serves POST only: no WebSocket subscriptions, no GET queries, no IDE page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.unit.api.fixtures import auth


@pytest.mark.parametrize("headers", [{}, auth()])
async def test_websocket_handshakes_are_refused(app: FastAPI, headers: dict[str, str]) -> None:
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "subprotocols": ["graphql-transport-ws"],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    incoming: list[dict[str, Any]] = [{"type": "websocket.connect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert [m["type"] for m in sent] == ["websocket.close"]
    assert sent[0]["code"] == 1008


async def test_get_serves_neither_queries_nor_an_ide(client: httpx.AsyncClient) -> None:
    for path in ("/graphql?query={helpers{name}}", "/graphql"):
        response = await client.get(path, headers={"Accept": "text/html"})
        assert response.status_code in (400, 404), response.text
        error = response.json()["errors"][0]
        assert error["extensions"]["status"] == response.status_code
    assert (await client.put("/graphql")).status_code == 405
