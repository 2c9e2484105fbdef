"""`alloy-scripting demo` against a running `serve`: the seed's two outcomes, any API key."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from alloy_scripting.demo import run_demo

from .conftest import serve_env
from .test_restart import free_port, start_serve, wait_ready

pytestmark = pytest.mark.integration

EXPECTED = [
    "deal amount 50: rejected: Minimum deal amount is 100",
    'deal amount 500000: continue: {"status": "needs_approval"}',
]


async def test_the_demo_prints_the_seed_outcomes_with_global_and_tenant_keys(
    kafka_bootstrap: str, mongodb_url: str, mongo_db: Any, unique_name: str, tmp_path: Path
) -> None:
    port = free_port()
    env = serve_env(
        kafka_bootstrap, mongodb_url, mongo_db, unique_name, port, ALLOY_API_KEYS="k1,k2:acme"
    )
    proc = start_serve(env, str(tmp_path / "serve.log"))
    try:
        await wait_ready(port, proc)
        options = {
            "url": f"http://127.0.0.1:{port}",
            "bootstrap": kafka_bootstrap,
            "topic_prefix": f"t{unique_name}.",
        }
        # k2 is bound to tenant acme: the script lives there, and so must the events.
        assert await run_demo(api_key="k2", **options) == EXPECTED
        assert await run_demo(api_key="k1", **options) == EXPECTED
        assert await run_demo(api_key="k1", **options) == EXPECTED  # the script is reused
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 60)
