"""The wire between the service and its workers: length-prefixed JSON frames.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON holding one
object with a `t` (type) field. Both directions carry plain data only: a worker is assumed
compromised, so what it sends is parsed as JSON (which builds dicts, lists, str, int,
float, bool and None, never calls code of the sender's choosing: no pickle) and every
frame's size is checked against a bound before a byte of it is read.

Frames are read with `msgspec` (5-10x faster than `json` per frame, which the service
pays for every run and host call), with `json` as the reference: a body msgspec refuses
(a lone surrogate escape, an integer beyond its range, bad UTF-8) goes through `json` with
exactly the rules below, so the service accepts and refuses the same frames as before.

`run` frames (parent -> worker, one per run) are MessagePack (`encode_run`: msgspec,
~10x cheaper than `json` for the service), or JSON where MessagePack cannot carry a value
(an int beyond 64 bits, a lone surrogate); the worker tells them apart by the first byte
(a JSON object starts with `{`, a MessagePack map never does). A NaN or an infinity in a
run's data crosses as it is, and the engine in the worker refuses it as it does in-process.

Parent -> worker: `run` (a script, its data and limits), `host_reply` (the answer to a host
call). Worker -> parent: `ready` (after start-up, with what confinement it got), `host_call`
(a helper needs I/O done by the parent), `result` (a run's outcome as plain data).
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
from collections.abc import Callable
from typing import Any

import msgspec

HEADER = struct.Struct(">I")
#: Largest frame the parent sends (a script and its data are bounded well below this).
MAX_REQUEST_FRAME = 16 * 1024 * 1024
#: Largest frame a worker may send (a result: changes, logs, error; or a host call).
MAX_RESPONSE_FRAME = 4 * 1024 * 1024


class ProtocolError(Exception):
    """The peer broke the protocol: a bad length, bytes that are not a JSON object, EOF."""


def run_inputs(request: dict[str, Any]) -> dict[str, Any]:
    """A `run` frame's script inputs, as the keyword arguments `ScriptEngine.execute` and
    `ScriptEngine.debug` share (``config``: None or a JSON object, else `ProtocolError`)."""
    config = request.get("config")
    if config is not None and not isinstance(config, dict):
        raise ProtocolError("config must be an object")
    return {
        "phase": request.get("phase"),
        "event": request.get("event"),
        "entity": request.get("entity"),
        "entity_before": request.get("entity_before"),
        "params": request.get("params"),
        "ctx": request.get("ctx"),
        "script_name": request.get("script_name"),
        "config": config,
    }


_ENCODER = msgspec.json.Encoder()
_JSON = json.JSONEncoder(allow_nan=False, separators=(",", ":"))
"""`json.dumps` with these arguments builds an encoder per call."""
_DECODER = msgspec.json.Decoder()


def encode(message: dict[str, Any], *, plain: bool = False) -> bytes:
    """One frame: JSON by `json`'s rules: any str crosses intact (non-ASCII escaped),
    NaN and Infinity are not JSON and never cross, nor does anything `json` cannot
    encode (`ValueError`, `TypeError`). `plain=True`: the caller vouches that the message
    holds only JSON values and finite floats (a worker's own result), so msgspec may
    encode it (a str it cannot encode, a lone surrogate, still goes through `json`)."""
    if plain:
        try:
            data = _ENCODER.encode(message)
            return HEADER.pack(len(data)) + data
        except (TypeError, ValueError, OverflowError):
            pass
    data = _JSON.encode(message).encode("ascii")
    return HEADER.pack(len(data)) + data


_PACKER = msgspec.msgpack.Encoder()
_UNPACKER = msgspec.msgpack.Decoder()
_JSON_OBJECT = ord("{")


def encode_run(message: dict[str, Any]) -> bytes:
    """A `run` frame: MessagePack, or JSON (`encode`, its rules and errors) for what
    MessagePack cannot carry."""
    try:
        data = _PACKER.encode(message)
    except (TypeError, ValueError, OverflowError):
        return encode(message)
    return HEADER.pack(len(data)) + data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode(body: bytes | memoryview) -> dict[str, Any]:
    """The object in one frame's body; `ProtocolError` for anything else."""
    try:
        message = _DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError):
        try:
            message = json.loads(bytes(body), parse_constant=_refuse_constant)
        except (ValueError, RecursionError, UnicodeDecodeError) as error:
            raise ProtocolError(f"undecodable frame: {type(error).__name__}") from None
    return _typed_object(message, "a JSON object")


def _typed_object(message: Any, what: str) -> dict[str, Any]:
    """`message` if it is an object with a type (`t`); else `ProtocolError`."""
    if type(message) is not dict or type(message.get("t")) is not str:
        raise ProtocolError(f"a frame must be {what} with a type")
    return message


def frame_size(header: bytes | bytearray, limit: int) -> int:
    size: int = HEADER.unpack(header)[0]
    if size > limit:
        raise ProtocolError(f"frame of {size} bytes exceeds the limit of {limit}")
    return size


class FrameReader(asyncio.Protocol):
    """The service's end of a worker's output pipe: each complete frame, decoded, goes to
    `on_frame` as its bytes arrive (no reader task, no stream in between); the first
    protocol error, EOF or pipe error goes to `on_close` (once) and ends the reading."""

    def __init__(
        self,
        limit: int,
        on_frame: Callable[[dict[str, Any]], None],
        on_close: Callable[[str], None],
    ) -> None:
        self._limit = limit
        self._on_frame = on_frame
        self._on_close: Callable[[str], None] | None = on_close
        self._buffer = bytearray()
        self._need = HEADER.size
        """Bytes the frame at the start of `_buffer` needs before it can be parsed."""
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        if self._on_close is None:
            return
        buffer = self._buffer
        if buffer:  # the rest of a frame: wait until it is all here, then parse from bytes
            buffer += data
            if len(buffer) < self._need:
                return
            data = bytes(buffer)
            buffer.clear()
        try:
            start, total = 0, len(data)
            while total - start >= HEADER.size:
                end = (
                    start + HEADER.size + frame_size(data[start : start + HEADER.size], self._limit)
                )
                if total < end:
                    self._need = end - start
                    break
                frame = decode(memoryview(data)[start + HEADER.size : end])
                start = end
                self._on_frame(frame)
                if self._on_close is None:
                    return
            else:
                self._need = HEADER.size
            if start < total:
                buffer += memoryview(data)[start:]
        except ProtocolError as error:
            self.close(str(error))

    def eof_received(self) -> bool:
        self.close("the peer closed the channel")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.close(str(exc) if exc is not None else "the peer closed the channel")

    def close(self, reason: str) -> None:
        """Stop reading: nothing more reaches `on_frame`."""
        on_close, self._on_close = self._on_close, None
        self._buffer.clear()
        if self._transport is not None:
            self._transport.close()
        if on_close is not None:
            on_close(reason)


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
    """The next frame from the service: JSON, or MessagePack (a `run`, `encode_run`)."""
    header = _read_exactly(fd, HEADER.size)
    body = _read_exactly(fd, frame_size(header, limit))
    if not body or body[0] == _JSON_OBJECT:
        return decode(body)
    try:
        return _typed_object(_UNPACKER.decode(body), "an object")
    except (msgspec.DecodeError, RecursionError):
        raise ProtocolError("undecodable frame") from None


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
