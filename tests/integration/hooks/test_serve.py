"""`alloy-scripting serve` start-up: a busy HTTP port stops it before it touches Kafka."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from .conftest import serve_env
from .test_restart import start_serve

pytestmark = pytest.mark.integration


async def test_a_busy_port_stops_serve_before_it_joins_the_consumer_groups(
    kafka_bootstrap: str, mongodb_url: str, mongo_db: Any, unique_name: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = serve_env(
            kafka_bootstrap, mongodb_url, mongo_db, unique_name, port, ALLOY_AUTH_DISABLED="true"
        )
        log = tmp_path / "serve.log"
        proc = start_serve(env, str(log))
        code = await asyncio.to_thread(proc.wait, 60)
    output = log.read_text(errors="replace")
    assert code != 0, output
    assert f"cannot listen on 127.0.0.1:{port}" in output
    assert "connected to Kafka" not in output and "connected to MongoDB" not in output
