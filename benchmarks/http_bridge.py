"""HTTP bridge benchmark: one GET through the bridge vs the same GET from a bare httpx client.

    .venv/bin/python benchmarks/http_bridge.py [--calls N]

A small keep-alive HTTP server runs in a child process on 127.0.0.1. In this process, in the
same run and interleaved, the same request is made N times
* by a bare `httpx.AsyncClient` (keep-alive, `.json()` of the answer), and
* by the bridge's parent-side `http_request` (allow-list, URL and address checks, pinned
  client, streaming capped read, plain-data answer, audit entry, metrics),
and the p50/p90 of each and the p50 overhead are printed. Target: overhead <= 1 ms at p50.

This measures the parent-side API (the service's part of `http_get`): the script-side host
call through a worker process is not included until the bridge is wired into the worker tier.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

import httpx

from alloy_scripting.bridge.http import AllowList, HttpBridge, HttpCaps, http_request
from alloy_scripting.bridge.http.addresses import parse_networks

SERVER = r"""
import asyncio, sys
BODY = b'{"ok": true, "items": [1, 2, 3], "name": "benchmark"}'
HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    % len(BODY)
)

async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                break
            writer.write(HEAD + BODY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(port: int, calls: int) -> tuple[list[float], list[float]]:
    url = f"http://127.0.0.1:{port}/items?q=1"
    bridge = HttpBridge(HttpCaps(private_networks=parse_networks("127.0.0.0/8")))
    allow = AllowList.parse([f"127.0.0.1:{port}"])
    bare_samples: list[float] = []
    bridge_samples: list[float] = []
    async with httpx.AsyncClient(trust_env=False) as bare:
        for _ in range(200):  # warm both: connections, caches
            (await bare.get(url)).json()
            await http_request(bridge.context(allow), "GET", url)
        for _ in range(calls):
            started = time.perf_counter()
            response = await bare.get(url)
            response.json()
            bare_samples.append(time.perf_counter() - started)

            ctx = bridge.context(allow)  # a run's context, as each script run gets one
            started = time.perf_counter()
            await http_request(ctx, "GET", url)
            bridge_samples.append(time.perf_counter() - started)
    await bridge.aclose()
    return bare_samples, bridge_samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        bare, bridged = asyncio.run(measure(port, args.calls))
    finally:
        server.terminate()
        server.wait(10)
    ms = 1000
    print(f"calls: {args.calls} each, interleaved, one keep-alive server process")
    print(
        f"bare httpx.AsyncClient   p50 {percentile(bare, 0.5) * ms:.3f} ms   "
        f"p90 {percentile(bare, 0.9) * ms:.3f} ms   mean {statistics.fmean(bare) * ms:.3f} ms"
    )
    print(
        f"bridge http_request      p50 {percentile(bridged, 0.5) * ms:.3f} ms   "
        f"p90 {percentile(bridged, 0.9) * ms:.3f} ms   mean {statistics.fmean(bridged) * ms:.3f} ms"
    )
    overhead = (percentile(bridged, 0.5) - percentile(bare, 0.5)) * ms
    verdict = "ok" if overhead <= 1.0 else "OVER TARGET"
    print(
        f"overhead at p50: {overhead:.3f} ms (target <= 1 ms: {verdict}); "
        f"ratio {percentile(bridged, 0.5) / percentile(bare, 0.5):.2f}x"
    )


if __name__ == "__main__":
    main()
