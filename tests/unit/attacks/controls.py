"""Positive controls for the attack corpus: what an attack leaves when nothing stops it.

`run_unsandboxed` sends a batch of jobs to `_unsandboxed.py` (one interpreter, one fork
per job); `evidence_seen` reads one observation for one evidence kind (see `corpus`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from .corpus import LEAK_PATTERNS

UNSANDBOXED = Path(__file__).with_name("_unsandboxed.py")
REPO = Path(__file__).resolve().parents[3]
EVIDENCE_KINDS = frozenset({"pwned", "leak", "mutation", "file", "stdout", "escaped", "non_json"})
BATCH_TIMEOUT = 300

_LEAK_RE = [re.compile(p) for p in LEAK_PATTERNS]


def leaks(text: str, secret: str) -> list[str]:
    """Host reprs, paths and the env secret found in `text`."""
    found = [m.group(0) for m in (r.search(text) for r in _LEAK_RE) if m]
    if secret in text:
        found.append("ENV SECRET")
    return found


def run_unsandboxed(jobs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Observations per job id, one per run; raises if the batch itself failed."""
    proc = subprocess.run(
        [sys.executable, str(UNSANDBOXED)],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        timeout=BATCH_TIMEOUT,
        cwd=REPO,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise AssertionError(
            f"unsandboxed batch failed (exit {proc.returncode}): {proc.stderr[-2000:]}"
        )
    result: dict[str, list[dict[str, Any]]] = json.loads(proc.stdout.splitlines()[-1])
    return result


def evidence_seen(kind: str, observation: dict[str, Any], secret: str) -> bool:
    if kind == "pwned":
        return bool(observation.get("pwned"))
    if kind == "leak":
        return bool(leaks(observation.get("text", ""), secret))
    if kind == "mutation":
        return bool(observation.get("mutated"))
    if kind == "file":
        return bool(observation.get("files"))
    if kind == "stdout":
        return "NOT-JSON" in observation.get("stdout", "")
    if kind == "escaped":
        return observation.get("status") in ("escaped", "host_failed")
    if kind == "non_json":
        return observation.get("strict") is False
    raise ValueError(f"unknown evidence kind {kind!r}")
