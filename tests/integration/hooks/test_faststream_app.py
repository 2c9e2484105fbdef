"""`faststream run alloy_scripting.messaging:app`: the Kafka hooks alone, as a FastStream app."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alloy_scripting.client.kafka import HookClient
from alloy_scripting.model.outcomes import Continue, Rejected
from alloy_scripting.storage.mongo import MongoStores

from .conftest import read_topic, seed_database, service_env
from .test_hooks_kafka import SEED_SCRIPT

pytestmark = pytest.mark.integration


def start_app(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    faststream = Path(sys.executable).with_name("faststream")
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [str(faststream), "run", "alloy_scripting.messaging:app"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def test_the_faststream_app_answers_hooks_and_stops_cleanly(
    kafka_bootstrap: str, mongodb_url: str, mongo_db: Any, unique_name: str, tmp_path: Path
) -> None:
    script = await seed_database(mongo_db, SEED_SCRIPT)
    stores = MongoStores(mongo_db)
    prefix = f"t{unique_name}."
    env = service_env(kafka_bootstrap, mongodb_url, mongo_db, unique_name)
    proc = start_app(env, tmp_path / "app.log")
    try:
        async with HookClient(kafka_bootstrap, topic_prefix=prefix, timeout=60) as hooks:
            small, big = await asyncio.gather(
                hooks.before("deal", "before_create", "d1", {"amount": 50}),
                hooks.before("deal", "before_create", "d2", {"amount": 500_000}),
            )
        assert isinstance(small, Rejected) and small.reason == "Minimum deal amount is 100"
        assert isinstance(big, Continue) and big.changes == {"status": "needs_approval"}
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 60)
    output = (tmp_path / "app.log").read_text(errors="replace")
    assert code == 0, output
    # Each answer's execution record was written (MongoDB and Kafka) before its offsets
    # were committed; on Kafka, key and `record_id` header are the record's id.
    records = await read_topic(kafka_bootstrap, f"{prefix}alloy.executions", count=2)
    page = await stores.executions.find_by_script(script.id)
    assert page.total == 2
    ids = {item.id.encode() for item in page.items}
    assert {r.key for r in records} == ids
    assert {dict(r.headers)["record_id"] for r in records} == ids
