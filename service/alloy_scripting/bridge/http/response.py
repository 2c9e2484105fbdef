"""A response read within bounds and handed back as plain data.

The body is read streaming and the run ends ``limit_exceeded`` as soon as it passes the
cap (a compressed body is measured after decompression, which is itself bounded, so a
small gzip bomb cannot expand in memory). Headers beyond their own cap are refused.
"""

from __future__ import annotations

import codecs
import json as jsonlib
import zlib
from typing import Any

import httpx

from alloy_scripting.bridge.http.errors import HttpError, HttpLimitExceeded
from alloy_scripting.model.json_check import check_json


def check_header_size(response: httpx.Response, limit: int) -> None:
    size = sum(len(name) + len(value) + 4 for name, value in response.headers.raw)
    if size > limit:
        raise HttpError(
            f"the response headers are {size} bytes; at most {limit} are accepted",
            reason="response_headers_too_large",
        )


def _decoder(response: httpx.Response) -> Any:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise HttpError(f"unsupported content-encoding {encoding[:40]!r}", reason="bad_encoding")


async def read_body(response: httpx.Response, limit: int) -> bytes:
    """The (decoded) body, or `HttpLimitExceeded` past `limit` bytes."""
    decoder = _decoder(response)
    chunks: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        chunk = raw if decoder is None else _inflate(decoder, raw, limit - size)
        size = _add(chunks, size, limit, chunk)
    if decoder is not None:
        size = _add(chunks, size, limit, _inflate(decoder, None, limit - size))
    return b"".join(chunks)


def _inflate(decoder: Any, raw: bytes | None, room: int) -> bytes:
    """At most `room` + 1 decoded bytes (one more than fits says "too large")."""
    try:
        out: bytes = decoder.decompress(raw, room + 1) if raw is not None else decoder.flush()
    except zlib.error:
        raise HttpError("the response body is not validly encoded", reason="bad_encoding") from None
    return out


def _add(chunks: list[bytes], size: int, limit: int, chunk: bytes) -> int:
    size += len(chunk)
    if size > limit:
        raise HttpLimitExceeded("http_response_bytes", f"the response body exceeds {limit} bytes")
    chunks.append(chunk)
    return size


def _text(response: httpx.Response, body: bytes) -> str:
    charset = response.charset_encoding or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    return body.decode(charset, errors="replace")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON data")


def parse_json(text: str) -> Any:
    """The parsed body, or None when it is not JSON data a script can hold (invalid,
    NaN/Infinity, nested too deep, integers past 64 bits, NUL characters)."""
    if not text.strip():
        return None
    try:
        value = jsonlib.loads(text, parse_constant=_refuse_constant)
        check_json(value)
    except (ValueError, RecursionError):
        return None
    return value


def plain_response(response: httpx.Response, body: bytes) -> dict[str, Any]:
    """`status`, `headers` (lower-case names, repeated ones joined by ", "), `text`, `json`."""
    headers: dict[str, str] = {}
    for name, value in response.headers.multi_items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    text = _text(response, body)
    return {
        "status": response.status_code,
        "headers": headers,
        "text": text,
        "json": parse_json(text),
    }
