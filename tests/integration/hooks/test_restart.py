"""Restart `alloy-scripting serve` while 500 before-requests are in flight: none is lost."""

from __future__ import annotations

import asyncio
import collections
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from alloy_scripting.client.kafka import HookClient
from alloy_scripting.model.outcomes import Continue, Rejected

from .conftest import read_topic, seed_database, serve_env
from .test_hooks_kafka import SEED_SCRIPT

pytestmark = pytest.mark.integration

REQUESTS = 500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(env: dict[str, str], log_path: str) -> subprocess.Popen[bytes]:
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        [sys.executable, "-m", "alloy_scripting.cli", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited with {proc.returncode}")
            try:
                if (await http.get(f"http://127.0.0.1:{port}/health/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("serve did not become ready")


async def test_restart_with_500_requests_in_flight(
    kafka_bootstrap: str, mongodb_url: str, mongo_db: Any, unique_name: str, tmp_path: Any
) -> None:
    await seed_database(mongo_db, SEED_SCRIPT)
    port = free_port()
    prefix = f"t{unique_name}."
    env = serve_env(
        kafka_bootstrap,
        mongodb_url,
        mongo_db,
        unique_name,
        port,
        ALLOY_AUTH_DISABLED="true",
        ALLOY_HOOK_BATCH_SIZE="32",
    )
    log_path = str(tmp_path / "serve.log")
    first = start_serve(env, log_path)
    second = None
    try:
        await wait_ready(port, first)
        async with HookClient(
            kafka_bootstrap, topic_prefix=prefix, timeout=120, delete_reply_topic=False
        ) as hooks:
            amounts = [50 if i % 3 == 0 else 250_000 for i in range(REQUESTS)]
            answered = 0
            some_answered = asyncio.Event()

            async def ask(i: int, amount: int) -> Any:
                nonlocal answered
                outcome = await hooks.before(
                    "deal", "before_create", f"deal-{i}", {"amount": amount}
                )
                answered += 1
                if answered >= 20:
                    some_answered.set()
                return outcome

            tasks = [asyncio.create_task(ask(i, a)) for i, a in enumerate(amounts)]
            async with asyncio.timeout(60):
                await some_answered.wait()
            first.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(first.wait, 60) == 0
            in_flight = REQUESTS - answered
            second = start_serve(env, log_path)
            await wait_ready(port, second)
            outcomes = await asyncio.gather(*tasks)
            reply_topic = hooks.reply_topic
            duplicates = hooks.duplicates

        assert in_flight > 0, "the restart happened after every request was answered"
        for amount, outcome in zip(amounts, outcomes, strict=True):
            if amount == 50:
                assert (
                    isinstance(outcome, Rejected) and outcome.reason == "Minimum deal amount is 100"
                )
            else:
                assert isinstance(outcome, Continue) and outcome.changes == {
                    "status": "needs_approval"
                }
        replies = await read_topic(kafka_bootstrap, reply_topic, count=REQUESTS, timeout=30)
        per_request = collections.Counter(dict(r.headers)["correlation_id"] for r in replies)
        assert len(per_request) == REQUESTS
        assert set(per_request.values()) == {1}, f"duplicate replies: {per_request.most_common(3)}"
        assert duplicates == 0
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
