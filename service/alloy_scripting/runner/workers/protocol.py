"""The wire between the service and its workers: length-prefixed JSON frames.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON holding one
object with a `t` (type) field. Both directions carry plain data only: a worker is assumed
compromised, so what it sends is parsed by `json` (which builds dicts, lists, str, int,
float, bool and None, never calls code of the sender's choosing: no pickle) and every
frame's size is checked against a bound before a byte of it is read.

Parent -> worker: `run` (a script, its data and limits), `host_reply` (the answer to a host
call). Worker -> parent: `ready` (after start-up, with what confinement it got), `host_call`
(a helper needs I/O done by the parent), `result` (a run's outcome as plain data).
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
from typing import Any

HEADER = struct.Struct(">I")
#: Largest frame the parent sends (a script and its data are bounded well below this).
MAX_REQUEST_FRAME = 16 * 1024 * 1024
#: Largest frame a worker may send (a result: changes, logs, error; or a host call).
MAX_RESPONSE_FRAME = 4 * 1024 * 1024


class ProtocolError(Exception):
    """The peer broke the protocol: a bad length, bytes that are not a JSON object, EOF."""


def encode(message: dict[str, Any]) -> bytes:
    """One frame: ASCII JSON (other characters escaped, so any str crosses intact);
    `allow_nan=False`: NaN and Infinity are not JSON and never cross."""
    data = json.dumps(message, allow_nan=False, separators=(",", ":")).encode("ascii")
    return HEADER.pack(len(data)) + data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode(body: bytes) -> dict[str, Any]:
    """The object in one frame's body; `ProtocolError` for anything else."""
    try:
        message = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError, UnicodeDecodeError) as error:
        raise ProtocolError(f"undecodable frame: {type(error).__name__}") from None
    if type(message) is not dict or type(message.get("t")) is not str:
        raise ProtocolError("a frame must be a JSON object with a type")
    return message


def frame_size(header: bytes, limit: int) -> int:
    size: int = HEADER.unpack(header)[0]
    if size > limit:
        raise ProtocolError(f"frame of {size} bytes exceeds the limit of {limit}")
    return size


async def read_frame(reader: asyncio.StreamReader, limit: int) -> dict[str, Any]:
    """The next frame from an asyncio stream (the parent's side)."""
    try:
        header = await reader.readexactly(HEADER.size)
        body = await reader.readexactly(frame_size(header, limit))
    except asyncio.IncompleteReadError:
        raise ProtocolError("the peer closed the channel") from None
    return decode(body)


# -- blocking side (the worker) ----------------------------------------------------------------


def _read_exactly(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ProtocolError("the peer closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame_blocking(fd: int, limit: int) -> dict[str, Any]:
    header = _read_exactly(fd, HEADER.size)
    return decode(_read_exactly(fd, frame_size(header, limit)))


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
