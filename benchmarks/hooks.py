"""Before-hook round trip over the local Kafka: our service vs a bare echo service.

Both servers run in their own process and consume the same kind of topic with the same
client (`HookClient`) on the other side, so the only difference is what happens between
consuming a request and producing its reply:

* echo: aiokafka consume → produce a canned `HookOutcome` to `reply_to` with the same
  headers (the baseline: what any Kafka request/reply costs here);
* alloy: the real edge — decode, dedup lookup, the seed script in the sandbox, execution
  record (MongoDB and `alloy.executions`), processed-event mark, offset commit — with
  MongoDB (FerretDB) behind it, on the same machine: its CPU is shared with Kafka, the
  store and the client, so each write the service makes per request shows in the ratio.

Prints p50/p99 latency of sequential requests, sustained throughput with 256 in flight,
and the ratios ours/echo. Needs `scripts/services up`; run `.venv/bin/python benchmarks/hooks.py`.
With ``--shadow`` the script has a shadow run at sample=1 (a candidate with another
threshold, `runner.shadow`), and its tally is printed: the answers must not slow down.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka_bench import BOOTSTRAP, MONGO, measure_each, percentile, run_server, throughput

SEED = """\
if entity["amount"] < 100:
    abort("Minimum deal amount is 100")
if entity["amount"] > 100000:
    entity["status"] = "needs_approval"
"""
CANDIDATE = SEED.replace('"needs_approval"', '"review"')  # differs on every big deal
CANNED = b'{"outcome":"continue","changes":{"status":"needs_approval"},"removed":[],"executed":[]}'


async def serve_echo(prefix: str) -> None:
    topic = f"{prefix}entity.before_create"
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=BOOTSTRAP,
        group_id=f"{prefix}echo",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", linger_ms=0)
    await consumer.start()
    await producer.start()
    print("ready", flush=True)
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=256)
            sends = []
            for records in batches.values():
                for record in records:
                    headers = dict(record.headers)
                    reply_to = headers.get("reply_to")
                    if reply_to:
                        sends.append(
                            await producer.send(
                                reply_to.decode(), CANNED, headers=list(record.headers)
                            )
                        )
            if sends:
                await asyncio.gather(*sends)
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


async def serve_alloy(prefix: str, shadow: bool = False) -> None:
    from pymongo import AsyncMongoClient

    from alloy_scripting.messaging.wiring import wire_service
    from alloy_scripting.model import EventType
    from alloy_scripting.model.script import Event, Script
    from alloy_scripting.serve import freeze_startup_heap
    from alloy_scripting.settings import Settings
    from alloy_scripting.storage.mongo import MongoStores

    db_name = f"bench_{prefix.strip('.')}"
    settings = Settings(
        kafka_bootstrap=BOOTSTRAP, mongodb_url=MONGO, mongodb_database=db_name,
        topic_prefix=prefix, consumer_group=f"{prefix}alloy", topic_partitions=1,
    )  # fmt: skip
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(MONGO, tz_aware=True)
    stores = MongoStores(client[db_name])
    await stores.ensure_indexes()
    script = Script.new("validate_deal", SEED, Event("deal", EventType.BEFORE_CREATE)).activate()
    await stores.scripts.save(script)
    if shadow:
        from datetime import timedelta

        from alloy_scripting.model.script import utc_now
        from alloy_scripting.model.shadow import Shadow

        until = utc_now() + timedelta(hours=1)
        await stores.shadows.put(
            Shadow(script_id=script.id, source=CANDIDATE, sample=1.0, until=until)
        )
    edge = wire_service(settings, stores)
    await edge.start()
    freeze_startup_heap()  # as `serve` does
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await edge.stop()
        await client.drop_database(db_name)
        await client.close()


async def measure(prefix: str, sequential: int, total: int, in_flight: int) -> dict[str, float]:
    from alloy_scripting.client.kafka import HookClient

    async with HookClient(BOOTSTRAP, topic_prefix=prefix, timeout=60) as hooks:
        for i in range(20):  # warm-up: connections, metadata, caches
            await hooks.before("deal", "before_create", f"w{i}", {"amount": 500000})
        latencies = []
        for i in range(sequential):
            start = time.perf_counter()
            outcome = await hooks.before("deal", "before_create", f"s{i}", {"amount": 500000})
            latencies.append((time.perf_counter() - start) * 1000)
            assert outcome.outcome == "continue", outcome

        async def one(i: int) -> None:
            await hooks.before("deal", "before_create", f"t{i}", {"amount": 500000})

        rps = await throughput(one, total, in_flight)
    return {"p50": statistics.median(latencies), "p99": percentile(latencies, 0.99), "rps": rps}


async def shadow_tally(prefix: str) -> dict[str, int]:
    """The shadow's tallies (every instance's, summed) in the alloy server's database."""
    from pymongo import AsyncMongoClient

    await asyncio.sleep(1.0)  # the last tally is written shortly after its run
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(MONGO)
    totals = dict.fromkeys(("runs", "same", "different", "errors", "skipped"), 0)
    try:
        async for doc in client[f"bench_{prefix.strip('.')}"]["script_shadow_tallies"].find():
            for key in totals:
                value = doc.get(key)
                totals[key] += value if isinstance(value, int) else 0
    finally:
        await client.close()
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve", choices=["echo", "alloy"])
    parser.add_argument("--prefix", default="")
    parser.add_argument("--sequential", type=int, default=300)
    parser.add_argument("--total", type=int, default=20_000)  # long enough to be sustained
    parser.add_argument("--in-flight", type=int, default=256)
    parser.add_argument("--shadow", action="store_true", help="a shadow run at sample=1")
    args = parser.parse_args()
    if args.serve == "echo":
        asyncio.run(serve_echo(args.prefix))
        return
    if args.serve == "alloy":
        asyncio.run(serve_alloy(args.prefix, args.shadow))
        return

    tally: dict[str, int] = {}
    shadowed: set[str] = set()  # the prefix of the server with a shadow

    def start(kind: str, prefix: str) -> subprocess.Popen[str]:
        if args.shadow and kind == "alloy":
            shadowed.add(prefix)
            return run_server(__file__, kind, kind, "--prefix", prefix, "--shadow")
        return run_server(__file__, kind, kind, "--prefix", prefix)

    async def measured(prefix: str) -> dict[str, float]:
        figures = await measure(prefix, args.sequential, args.total, args.in_flight)
        if prefix in shadowed:
            tally.update(await shadow_tally(prefix))
        return figures

    results = measure_each(("echo", "alloy"), start, measured)
    echo, ours = results["echo"], results["alloy"]
    rows = [
        ("p50 latency (ms)", "p50", ".2f"),
        ("p99 latency (ms)", "p99", ".2f"),
        ("throughput (req/s)", "rps", ".0f"),
    ]
    print(f"{'':24}{'echo':>12}{'alloy':>12}{'ratio':>10}")
    for label, key, fmt in rows:
        ratio = ours[key] / echo[key]
        print(f"{label:24}{echo[key]:>12{fmt}}{ours[key]:>12{fmt}}{ratio:>9.2f}x")
    print(
        f"({args.sequential} sequential requests; "
        f"{args.total} requests with {args.in_flight} in flight)"
    )
    if args.shadow:
        print("shadow (sample=1): " + ", ".join(f"{k} {v}" for k, v in tally.items()))


if __name__ == "__main__":
    main()
