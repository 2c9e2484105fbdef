"""One ``store.get`` against a bare PyMongo ``find_one`` from the same process, same run.

    .venv/bin/python benchmarks/state_bridge.py [--url mongodb://127.0.0.1:27017] [--calls 4000]

Uses the real MongoDB-wire server (``ALLOY_MONGODB_URL``; FerretDB from ``scripts/services
up``), in a fresh database dropped at the end, holding ``--documents`` state documents of a
few tenants. Measured, interleaved in rounds so that both see the same server load:

* ``find_one``: ``collection.find_one({"_id": ...})`` on the state collection (the floor);
* ``parent get``: the bridge's ``store.get`` as the parent runs it for a script
  (`alloy_scripting.bridge.state.get`: argument checks, the run's budget, the call log, a
  span when tracing is on, `MongoStateStore.get` and its expiry check);
* ``script get``: a script doing one ``store.get`` in a worker process (the service's
  execution tier), measured from the run request to its result;
* ``empty script``: a script doing nothing, the same way, so that ``script get - empty
  script`` is what the call itself costs a script.

Prints p50/p95 per variant and the p50 ratios against ``find_one`` (the issue's target:
a script doing one ``store.get`` <= 1.5x).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import AsyncMongoClient

from alloy_scripting.bridge.state import StateContext, StateLimits, get
from alloy_scripting.model.enums import ExecutionPhase, ExecutionStatus
from alloy_scripting.runner.workers import PoolConfig, RunRequest, WorkerPool
from alloy_scripting.storage.mongo.state import DOCUMENTS, MongoStateStore, document_id

TENANT = "bench"


async def _fill(store: MongoStateStore, documents: int) -> None:
    for i in range(documents):
        tenant = TENANT if i % 4 == 0 else f"other-{i % 7}"
        await store.put(tenant, "customers", f"c{i}", {"name": f"customer {i}", "visits": i})


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--url", default=os.environ.get("ALLOY_MONGODB_URL", "mongodb://127.0.0.1:27017")
    )
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--documents", type=int, default=400)
    args = parser.parse_args()

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(args.url, tz_aware=True)
    name = f"bench_state_{uuid.uuid4().hex[:8]}"
    db = client[name]
    try:
        store = MongoStateStore(db)
        await store.ensure_indexes()
        await _fill(store, args.documents)
        raw = db[DOCUMENTS]
        key = "c0"
        at = document_id(TENANT, "customers", key)
        limits = StateLimits(calls=10**9, ms=10.0**9)

        async def bare() -> None:
            found = await raw.find_one({"_id": at})
            assert found is not None

        async def parent_get() -> None:
            ctx = StateContext.for_run(store, TENANT, ExecutionPhase.AFTER, limits)
            doc = await get(ctx, "customers", key)
            assert doc is not None

        pool = WorkerPool(config=PoolConfig(size=1))
        await pool.start()

        failures: list[str] = []

        async def in_worker(source: str) -> None:
            ctx = StateContext.for_run(store, TENANT, ExecutionPhase.AFTER, limits)
            request = RunRequest(
                source, ExecutionPhase.AFTER, entity={}, tenant_id=TENANT, state=ctx
            )
            result = await pool.run(request)
            if result.status is not ExecutionStatus.SUCCESS:  # e.g. a timeout on a loaded box
                failures.append(str(result.error))

        async def script_get() -> None:
            await in_worker(f'doc = store.get("customers", "{key}")')

        async def empty_script() -> None:
            await in_worker("doc = None")

        variants: dict[str, Callable[[], Awaitable[None]]] = {
            "find_one": bare,
            "parent get": parent_get,
            "script get": script_get,
            "empty script": empty_script,
        }
        samples: dict[str, list[float]] = {label: [] for label in variants}
        for _ in range(50):  # warm up connections and caches
            for run in variants.values():
                await run()
        rounds = 20
        per_round = max(1, args.calls // rounds)
        for _ in range(rounds):
            for label, run in variants.items():
                for _ in range(per_round):
                    started = time.perf_counter()
                    await run()
                    samples[label].append((time.perf_counter() - started) * 1000)

        await pool.close()
        base = _stats(samples["find_one"])[0]
        print(f"{args.documents} state documents, {per_round * rounds} calls per variant")
        for label, values in samples.items():
            p50, p95 = _stats(values)
            print(f"  {label:<12} p50 {p50:7.3f} ms  p95 {p95:7.3f} ms  ratio {p50 / base:5.2f}x")
        if failures:
            print(f"  {len(failures)} script runs did not succeed, e.g. {failures[0]}")
    finally:
        await client.drop_database(name)
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
