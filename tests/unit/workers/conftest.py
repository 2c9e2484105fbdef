"""Fixtures for the worker tier: real worker processes (no Kafka or MongoDB needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alloy_scripting.runner.workers import process
from alloy_scripting.runner.workers.forkserver import ForkServer

ROGUE = Path(__file__).with_name("rogue_worker.py")


@pytest.fixture
def rogue_boot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pools started in this test run `rogue_worker.py` instead of the real worker: spawned,
    as a pool does when its zygote cannot start (the zygote forks real workers only)."""
    boot = (
        "import runpy, sys; sys.path.insert(0, sys.argv[1]); "
        f"runpy.run_path({str(ROGUE)!r}, run_name='__main__')"
    )
    monkeypatch.setattr(process, "_BOOT", boot)

    async def no_zygote(*args: object, **kwargs: object) -> ForkServer:
        raise OSError("a rogue worker is spawned")

    monkeypatch.setattr(ForkServer, "start", no_zygote)
