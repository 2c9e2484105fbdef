"""Error shapes: RFC 9457 problems for bad input, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from alloy_scripting.storage import InMemoryStores
from tests.unit.api.fixtures import (
    assert_problem,
    auth,
    client_for,
    create,
    make_api,
    make_runtime,
    manual_body,
)


async def test_malformed_json(client: httpx.AsyncClient) -> None:
    for content in (b"{", b'{"name": }', b"\xff\xfe", b"[" * 100_000):
        response = await client.post(
            "/scripts", content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, (content[:10], response.text)
        assert_problem(response, 400, "malformed-request")


async def test_wrong_types_list_field_errors(client: httpx.AsyncClient) -> None:
    for body in ([], "x", 3, None, {"name": 5, "source": [], "trigger": "manual"}):
        response = await client.post("/scripts", json=body)
        problem = assert_problem(response, 422, "validation")
        assert problem["errors"]
        assert all({"loc", "msg", "type"} <= set(e) for e in problem["errors"])


async def test_non_json_content_type(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/scripts", content=b"name=x", headers={"content-type": "text/plain"}
    )
    assert response.status_code in (415, 422)
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_bad_strings_are_refused(client: httpx.AsyncClient) -> None:
    assert_problem(
        await client.post("/scripts", json=manual_body(description="a\x00b")), 422, "validation"
    )
    raw = b'{"name": "x", "source": "\\udc00", "trigger": {"type": "manual"}}'
    response = await client.post(
        "/scripts", content=raw, headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "validation")
    assert_problem(
        await client.post("/scripts", json=manual_body(source="x" * (256 * 1024 + 1))),
        422,
        "validation",
    )


def _small_app() -> httpx.AsyncClient:
    return client_for(make_api(make_runtime(InMemoryStores(), max_body_bytes=2048)), auth())


async def test_oversized_body_by_content_length() -> None:
    async with _small_app() as c:
        response = await c.post("/scripts", json=manual_body(description="x" * 3000))
        problem = assert_problem(response, 413, "payload-too-large")
        assert "2048" in problem["detail"]
        ok = await c.post("/scripts", json=manual_body(description="x" * 100))
        assert ok.status_code == 201


async def test_oversized_streamed_body_without_content_length() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "x", "description": "'
        for _ in range(10):
            yield b"y" * 500
        yield b'"}'

    async with _small_app() as c:
        request = c.build_request(
            "POST", "/scripts", content=chunks(), headers={"content-type": "application/json"}
        )
        assert "content-length" not in request.headers
        assert_problem(await c.send(request), 413, "payload-too-large")


async def test_invalid_content_length() -> None:
    async with _small_app() as c:
        request = c.build_request(
            "POST", "/scripts", content=b"{}", headers={"content-type": "application/json"}
        )
        request.headers["content-length"] = "lots"
        assert_problem(await c.send(request), 400, "malformed-request")


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/nowhere"), 404, "not-found")
    response = await client.patch("/scripts")
    assert_problem(response, 405, "method-not-allowed")
    assert "allow" in response.headers


async def test_odd_ids_are_not_found(client: httpx.AsyncClient) -> None:
    await create(client, manual_body())
    for sid in ("%00", "x" * 65, "%E2%80%AE", "a%0Ab", "..", "%F0%9F%92%A9"):
        response = await client.get(f"/scripts/{sid}")
        assert response.status_code == 404, (sid, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
