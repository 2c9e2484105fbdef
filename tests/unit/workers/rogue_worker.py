"""A compromised worker, for tests: speaks the protocol, then abuses it as the script says.

Started by the pool in place of the real child (see `conftest.rogue_boot`). The source of
each run selects the abuse; `ok` answers a valid result.
"""

import json
import os
import struct
import sys
import time

from alloy_scripting.runner.workers import protocol

read_fd, write_fd = 0, 1


def send_raw(data: bytes) -> None:
    protocol.write_all(write_fd, data)


def send(message: dict) -> None:
    send_raw(protocol.encode(message))


def result(**fields) -> dict:
    frame = {
        "t": "result",
        "id": ID,
        "status": "success",
        "changes": {},
        "removed": [],
        "reason": None,
        "error": None,
        "limit": None,
        "logs": [],
        "operations": 1,
        "duration_ms": 0.1,
    }
    frame.update(fields)
    return frame


init = protocol.read_frame_blocking(read_fd, protocol.MAX_REQUEST_FRAME)
send(
    {
        "t": "ready",
        "pid": os.getpid(),
        "seccomp": "off: rogue",
        "limits": {},
        "env": sorted(os.environ),
        "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
        "argv": sys.argv,
    }
)
while True:
    request = protocol.read_frame_blocking(read_fd, protocol.MAX_REQUEST_FRAME)
    source = request["source"]
    ID = request.get("id")
    if source == "ok":
        send(result(changes={"seen": request["entity"].get("n")}))
    elif source == "oversized":
        send_raw(struct.pack(">I", protocol.MAX_RESPONSE_FRAME + 1) + b"{}")
    elif source == "garbage":
        send_raw(struct.pack(">I", 11) + b"\x80\x81garbage!!")
    elif source == "not-object":
        body = b"[1, 2, 3]"
        send_raw(struct.pack(">I", len(body)) + body)
    elif source == "big-int":
        send(result(changes={"x": 2**70}))
    elif source == "nan":
        body = b'{"t": "result", "status": "success", "changes": {"x": NaN}}'
        send_raw(struct.pack(">I", len(body)) + body)
    elif source == "unknown-removed":
        send(result(removed=["not-a-field"]))
    elif source == "too-many-logs":
        send(result(logs=[["info", "x"]] * 10_000))
    elif source == "bad-status":
        send(result(status="pwned"))
    elif source == "deep":
        value: object = 1
        for _ in range(500):
            value = [value]
        send(result(changes={"x": value}))
    elif source == "host-unknown":
        send({"t": "host_call", "name": "os.system", "args": ["id"]})
    elif source == "host-store-put":  # then a valid answer (with a debug part if asked)
        send({"t": "host_call", "name": "store.put", "args": ["c", "k", {"v": 1}, None]})
        reply = protocol.read_frame_blocking(read_fd, protocol.MAX_REQUEST_FRAME)
        answer = result(changes={"reply_ok": reply.get("ok")})
        if request.get("debug") is not None:
            answer["debug"] = {
                "trace": {"steps": [], "executed": 0, "truncated": None},
                "intents": [],
            }
        send(answer)
    elif source == "host-wrong-phase":
        send({"t": "host_call", "name": "emit", "args": ["e", {}]})
    elif source == "started-spam":
        while True:
            send({"t": "started"})
    elif source == "half-frame":
        send_raw(struct.pack(">I", 100) + b'{"t": "res')
        os._exit(0)
    elif source == "double":
        send(result())
        ID += 1  # a guess at the next run's id
        send(result(changes={"forged": True}))
    elif source == "exit":
        os._exit(9)
    elif source == "silence":
        while True:
            pass
    elif source == "silence-if-one":  # quick, until its entity says n = 1 (or 2: 60 ms)
        if request["entity"].get("n") == 1:
            while True:
                pass
        if request["entity"].get("n") == 2:
            time.sleep(0.06)
        send(result())
    elif source == "pickle":
        body = json.dumps({"t": "result", "py/object": "os.system"}).encode()
        send_raw(struct.pack(">I", len(body)) + body)
    else:
        send(result())
