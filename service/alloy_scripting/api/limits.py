"""A small ASGI middleware capping request bodies at ``max_body_bytes``.

A declared ``Content-Length`` above the cap is refused before reading anything; otherwise
the body is read (counting the streamed bytes, so chunked bodies are capped too), then
replayed to the application. The cap is small (1 MiB by default), so buffering is cheap.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alloy_scripting.api.problems import KINDS, PROBLEM_MEDIA_TYPE, problem_body


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await _refuse(send, "malformed-request", "Content-Length is not a valid number")
            return
        if declared is not None and declared > self.max_body_bytes:
            await _refuse(send, "payload-too-large", self._too_large(declared))
            return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _refuse(send, "payload-too-large", self._too_large(size))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self, size: int) -> str:
        return (
            f"the request body ({size} bytes or more) exceeds the {self.max_body_bytes}-byte limit"
        )


def _content_length(scope: Scope) -> int | None:
    """The declared length, None when absent, -1 when malformed."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not text.isdigit():
                return -1
            return int(text)
    return None


async def _refuse(send: Send, kind: str, detail: str) -> None:
    body = json.dumps(problem_body(kind, detail)).encode()
    status = KINDS[kind][0]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
