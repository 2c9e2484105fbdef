"""HTTP bridge benchmark: a script's `http_get` vs the same GET from a bare httpx client.

    .venv/bin/python benchmarks/http_bridge.py [--calls N]

A small keep-alive HTTP server runs in a child process on 127.0.0.1. In this process, in the
same run and interleaved, the same request is made N times
* by a bare `httpx.AsyncClient` (keep-alive, `.json()` of the answer),
* by the bridge's service-side `http_request` (allow-list, URL and address checks, pinned
  client, streaming capped read, plain-data answer, audit entry, metrics), and
* by a script run in the worker pool (one worker) doing ``r = http_get(url)``: the run
  request to the worker, the host call back to the service, the call, the reply, the
  result; and, for scale, the same run of a script that makes no call.
The p50/p90 of each are printed, with the p50 overheads over the bare client. Target: the
script's overhead <= 1 ms at p50.
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
from alloy_scripting.bridge.http.helpers import HttpRuns
from alloy_scripting.model.enums import ExecutionPhase, ExecutionStatus
from alloy_scripting.runner.workers import PoolConfig, RunRequest, WorkerPool
from alloy_scripting.storage import InMemoryStores

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


Samples = dict[str, list[float]]


async def measure(port: int, calls: int) -> Samples:
    url = f"http://127.0.0.1:{port}/items?q=1"
    caps = HttpCaps(private_networks=parse_networks("127.0.0.0/8"))
    bridge = HttpBridge(caps)
    allow = AllowList.parse([f"127.0.0.1:{port}"])
    egress = InMemoryStores().egress
    await egress.put("bench", [f"127.0.0.1:{port}"])
    runs = HttpRuns(HttpBridge(caps), egress)
    script = RunRequest(
        f"r = http_get('{url}')\nentity['n'] = len(r['json']['items'])",
        ExecutionPhase.MANUAL,
        entity={},
        tenant_id="bench",
    )
    empty = RunRequest("entity['n'] = 3", ExecutionPhase.MANUAL, entity={}, tenant_id="bench")
    samples: Samples = {"bare": [], "bridge": [], "script": [], "empty": []}
    cpu: dict[str, float] = dict.fromkeys(samples, 0.0)
    pool = WorkerPool(config=PoolConfig(size=1, host_call_budget=30.0), http=runs)
    async with pool, httpx.AsyncClient(trust_env=False) as bare:
        for _ in range(200):  # warm everything: connections, caches, the worker
            (await bare.get(url)).json()
            await http_request(bridge.context(allow), "GET", url)
            assert (await pool.run(script)).status is ExecutionStatus.SUCCESS
            await pool.run(empty)
        for _ in range(calls):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = await bare.get(url)
            response.json()
            samples["bare"].append(time.perf_counter() - started)
            cpu["bare"] += time.process_time() - started_cpu

            ctx = bridge.context(allow)  # a run's context, as each script run gets one
            started, started_cpu = time.perf_counter(), time.process_time()
            await http_request(ctx, "GET", url)
            samples["bridge"].append(time.perf_counter() - started)
            cpu["bridge"] += time.process_time() - started_cpu

            started, started_cpu = time.perf_counter(), time.process_time()
            await pool.run(script)
            samples["script"].append(time.perf_counter() - started)
            cpu["script"] += time.process_time() - started_cpu

            started, started_cpu = time.perf_counter(), time.process_time()
            await pool.run(empty)
            samples["empty"].append(time.perf_counter() - started)
            cpu["empty"] += time.process_time() - started_cpu
    await bridge.aclose()
    await runs.aclose()
    samples.update({f"cpu_{key}": [total / calls] for key, total in cpu.items()})
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        samples = asyncio.run(measure(port, args.calls))
    finally:
        server.terminate()
        server.wait(10)
    ms = 1000
    print(f"calls: {args.calls} each, interleaved, one keep-alive server process, one worker")
    labels = {
        "bare": "bare httpx.AsyncClient GET",
        "bridge": "bridge http_request (service side)",
        "script": "script run with one http_get",
        "empty": "script run without a call",
    }
    for key, label in labels.items():
        values = samples[key]
        print(
            f"{label:<36} p50 {percentile(values, 0.5) * ms:7.3f} ms   "
            f"p90 {percentile(values, 0.9) * ms:7.3f} ms   "
            f"mean {statistics.fmean(values) * ms:7.3f} ms"
        )
    print(
        "CPU of this (the service) process per call: "
        + ", ".join(f"{key} {samples[f'cpu_{key}'][0] * 1e6:.0f} us" for key in labels)
        + " (the worker's CPU is not included)"
    )
    bare = percentile(samples["bare"], 0.5)
    for key in ("bridge", "script"):
        overhead = (percentile(samples[key], 0.5) - bare) * ms
        verdict = "ok" if overhead <= 1.0 else "OVER TARGET"
        print(f"p50 overhead of the {labels[key]}: {overhead:.3f} ms (target <= 1 ms: {verdict})")


if __name__ == "__main__":
    main()
