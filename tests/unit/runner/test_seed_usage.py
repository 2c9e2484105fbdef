"""The seed's usage example runs as written (examples/seed_usage.py)."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "seed_usage.py"


async def test_seed_usage_example_outcomes() -> None:
    module = runpy.run_path(str(EXAMPLE), run_name="seed_usage")
    printed = await module["main"]()
    assert printed == [
        "amount 50000: continue with changes {}",
        "amount 50: rejected: Minimum deal amount is 100",
        "amount 500000: continue with changes {'status': 'needs_approval'}",
    ]


def test_seed_usage_example_runs_as_a_program() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=True
    )
    assert "rejected: Minimum deal amount is 100" in done.stdout
