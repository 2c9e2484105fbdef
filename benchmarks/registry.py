"""`find_by_trigger` latency with 1,000 and with 100,000 scripts in the collection.

    .venv/bin/python benchmarks/registry.py [--url mongodb://127.0.0.1:27017] [--sizes 1000,100000]

Uses the real MongoDB-wire server (``ALLOY_MONGODB_URL``, default ``mongodb://127.0.0.1:27017``;
FerretDB from ``scripts/services up``), in a fresh database dropped at the end. At every size
the same ``--matches`` active scripts answer the measured trigger; the filler is bulk-inserted
(``insert_many``) and mixes tenants, entity types, events and statuses, including scripts on
the same (entity_type, event) in other tenants or not active, which must not match. Prints the
median and p95 of ``--calls`` sequential ``find_by_trigger`` calls per size and the ratio of the
largest size to the smallest (target <= 1.5), plus, for comparison, the same query as a plain
filtered ``find`` and the server's query plans (``explain``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient

from alloy_scripting.model import Cron, Event, EventType, Manual, Script, ScriptStatus
from alloy_scripting.storage import MongoStores
from alloy_scripting.storage.mongo import COLLECTIONS, trigger_key
from alloy_scripting.storage.mongo.scripts import script_doc

ENTITY = "deal"
EVENT = EventType.BEFORE_CREATE
SOURCE = (
    'if entity["amount"] < 100:\n'
    '    abort("Minimum deal amount is 100")\n'
    'if entity["amount"] > 100000:\n'
    '    entity["status"] = "needs_approval"\n'
)
EVENTS = list(EventType)
STATUSES = [ScriptStatus.ACTIVE, ScriptStatus.ACTIVE, ScriptStatus.DRAFT, ScriptStatus.DISABLED]


def filler_docs(start: int, count: int) -> list[dict[str, Any]]:
    """Documents that never match (tenant None, deal, before_create, active)."""
    template = script_doc(
        Script.new("filler", SOURCE, Event(ENTITY, EVENT)).model_copy(update={"revision": 1})
    )
    docs = []
    for i in range(start, start + count):
        doc = dict(template)
        doc["_id"] = uuid.uuid4().hex
        doc["name"] = f"filler-{i:07d}"
        tenant = None if i % 4 == 0 else f"tenant-{i % 50}"
        entity = ENTITY if i % 10 == 0 else f"entity-{i % 200}"
        event = EVENTS[i % len(EVENTS)]
        status = STATUSES[i % len(STATUSES)]
        if tenant is None and entity == ENTITY and event is EVENT and status is ScriptStatus.ACTIVE:
            status = ScriptStatus.DRAFT  # same trigger, same tenant, but not active
        doc["tenant_id"] = tenant
        doc["trigger"] = {"type": "event", "entity_type": entity, "event": event.value}
        doc["status"] = status.value
        doc["priority"] = i % 7
        docs.append(doc)
    return docs


async def timed(call: Callable[[], Awaitable[Any]], n: int, warmup: int = 20) -> list[float]:
    for _ in range(min(warmup, n)):
        await call()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 20 else max(samples)


def plan_summary(explain: dict[str, Any]) -> str:
    if "ferretdbVersion" in explain.get("serverInfo", {}) or "filterPushdown" in explain:
        plan = explain.get("queryPlanner", {}).get("Plan")
        return f"FerretDB: filterPushdown={explain.get('filterPushdown')} sqlite plan={plan}"
    planner = explain.get("queryPlanner", {})
    stages = []
    node = planner.get("winningPlan", {})
    while node:
        stages.append(
            node.get("stage", "?") + (f"({node['indexName']})" if "indexName" in node else "")
        )
        node = node.get("inputStage", {})
    return "MongoDB: " + " <- ".join(stages)


async def run(url: str, sizes: list[int], matches: int, calls: int, batch: int) -> int:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        url, tz_aware=True, serverSelectionTimeoutMS=10_000, socketTimeoutMS=120_000
    )
    name = f"alloy_bench_{uuid.uuid4().hex[:8]}"
    db = client[name]
    print(f"server {url}, database {name}; {matches} matching scripts, {calls} calls per size")
    try:
        info = await client.admin.command("buildInfo")
        print(f"server version {info.get('version')}, ferretdb={info.get('ferretdbVersion', 'no')}")
        stores = MongoStores(db)
        await stores.ensure_indexes()
        reg = stores.scripts
        expected = []
        for i in range(matches):
            script = Script.new(f"match-{i}", SOURCE, Event(ENTITY, EVENT), priority=i % 3)
            expected.append((await reg.save(script.activate())).name)
        expected.sort(key=lambda n: (int(n.split("-")[1]) % 3, n))
        # the other hot paths: a manual script that fails and recovers, two cron scripts
        flaky = await reg.save(Script.new("flaky", SOURCE, Manual()))
        for i in range(2):
            await reg.save(Script.new(f"cron-{i}", SOURCE, Cron("*/5 * * * *")).activate())

        async def failure_then_success() -> None:
            await reg.record_failure(flaky.id, "boom")
            await reg.record_success(flaky.id)

        coll = db[COLLECTIONS["scripts"]]
        flt = reg.trigger_filter(ENTITY, EVENT)
        sort = [("priority", ASCENDING), ("name", ASCENDING)]

        async def plain_find() -> list[dict[str, Any]]:
            return [d async for d in coll.find(flt, sort=sort)]

        results: dict[int, tuple[list[float], list[float]]] = {}
        loaded = matches
        for size in sorted(sizes):
            t0 = time.perf_counter()
            while loaded < size:
                n = min(batch, size - loaded)
                await coll.insert_many(filler_docs(loaded, n), ordered=False)
                loaded += n
            t_insert = time.perf_counter() - t0
            t0 = time.perf_counter()
            keys = await reg.rebuild_trigger_index(exclusive=True)
            t_rebuild = time.perf_counter() - t0
            total = await coll.estimated_document_count()
            found = await reg.find_by_trigger(ENTITY, EVENT)
            assert [s.name for s in found] == expected, [s.name for s in found]
            assert len(await plain_find()) == matches
            ours = await timed(lambda: reg.find_by_trigger(ENTITY, EVENT), calls)
            # a scan on FerretDB: ~0.1 ms per document, so only a few calls on big sizes
            plain = await timed(plain_find, 3 if size > 10_000 else 10, warmup=1)
            results[size] = (ours, plain)
            others = {
                "get(id)": await timed(lambda: reg.get(flaky.id), calls // 4),
                "find_active_cron": await timed(reg.find_active_cron, calls // 4),
                # FerretDB v1 scans the collection for every update: few calls
                "record_failure+success": await timed(failure_then_success, 10, warmup=2),
            }
            print(
                f"\n{total:>7} scripts (filled in {t_insert:.1f}s, trigger index rebuilt in "
                f"{t_rebuild:.1f}s over {keys} keys)\n"
                f"  find_by_trigger       : median {statistics.median(ours):7.2f} ms   "
                f"p95 {p95(ours):7.2f} ms\n"
                f"  plain find()          : median {statistics.median(plain):7.2f} ms   "
                f"p95 {p95(plain):7.2f} ms   (for comparison)"
            )
            for label, samples in others.items():
                print(
                    f"  {label:<22}: median {statistics.median(samples):7.2f} ms   "
                    f"p95 {p95(samples):7.2f} ms"
                )
            for label, cmd in (
                (
                    "trigger-index lookup",
                    {
                        "find": COLLECTIONS["triggers"],
                        "filter": {"_id": trigger_key(None, ENTITY, EVENT)},
                    },
                ),
                (
                    "plain filtered find",
                    {"find": COLLECTIONS["scripts"], "filter": flt, "sort": dict(sort)},
                ),
            ):
                try:
                    explain = await db.command("explain", cmd, verbosity="queryPlanner")
                    print(f"  plan, {label}: {plan_summary(explain)}")
                except Exception as exc:  # explain is optional
                    print(f"  plan, {label}: explain unavailable ({exc})")

        small, large = min(results), max(results)
        if small != large:
            ours_s, plain_s = results[small]
            ours_l, plain_l = results[large]
            ratio = statistics.median(ours_l) / statistics.median(ours_s)
            ratio95 = p95(ours_l) / p95(ours_s)
            plain_ratio = statistics.median(plain_l) / statistics.median(plain_s)
            verdict = "OK" if ratio <= 1.5 else "ABOVE TARGET"
            print(
                f"\nfind_by_trigger {large} vs {small}: median ratio {ratio:.2f} "
                f"(p95 ratio {ratio95:.2f}); target <= 1.5: {verdict}\n"
                f"plain find() median ratio {plain_ratio:.2f}"
            )
            return 0 if ratio <= 1.5 else 1
        return 0
    finally:
        await client.drop_database(name)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url", default=os.environ.get("ALLOY_MONGODB_URL", "mongodb://127.0.0.1:27017")
    )
    parser.add_argument("--sizes", default="1000,100000", help="comma-separated collection sizes")
    parser.add_argument("--matches", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--batch", type=int, default=5000, help="insert_many batch size")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.exit(asyncio.run(run(args.url, sizes, args.matches, args.calls, args.batch)))


if __name__ == "__main__":
    main()
