"""The attack suite fails loudly: against a broken sandbox, and without an engine.

These tests run the attack suite itself in a subprocess (one pytest run each).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .broken_engine import FACTORY
from .controls import leaks
from .corpus import CHECKOUT, Attack, IsolationCase
from .corpus_escapes import ESCAPES, REMOVED
from .corpus_isolation import SHARED_WRITES

HERE = Path(__file__).resolve()
REPO = HERE.parents[3]
SUITE = HERE.with_name("test_attacks.py")
# what the escape test reports when the attack left evidence (not just a different outcome)
EVIDENCE_FAILURES = (
    "ESCAPE:",
    "LEAK",
    "SIDE EFFECT",
    "was mutated",
    "reached the process stdout",
    "not strict JSON",
    "engine.execute raised",
)


def _pytest(engine: str, *args: str) -> subprocess.CompletedProcess[str]:
    # a wide "terminal", so that the short summary keeps each failure's message
    env = {**os.environ, "ALLOY_ATTACKS_ENGINE": engine, "COLUMNS": "100000"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
        check=False,
    )


def test_every_escape_fails_against_an_engine_without_a_sandbox() -> None:
    """The escape suite run against `broken_engine` (plain `exec`, real builtins): every
    case fails, and on the evidence the attack left, not only on its outcome."""
    proc = _pytest(FACTORY, str(SUITE), "-k", "test_escape_is_contained")
    out = proc.stdout
    failed = dict(re.findall(r"^FAILED \S+::test_escape_is_contained\[(.+?)\] - (.*)$", out, re.M))
    cases = {a.id for a in ESCAPES + SHARED_WRITES}
    assert proc.returncode == 1, out[-3000:]
    assert set(failed) == cases, f"passed against a broken engine: {sorted(cases - set(failed))}"
    not_evidence = {k: v for k, v in failed.items() if not any(e in v for e in EVIDENCE_FAILURES)}
    assert not not_evidence, f"failed without evidence: {not_evidence}"
    assert f"{len(cases)} failed" in out, out[-500:]


def test_a_missing_engine_fails_the_run() -> None:
    proc = _pytest("no_such_module_xyz:create", str(SUITE), "-k", "engine_serves_after")
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "cannot be loaded" in proc.stdout and "no_such_module_xyz" in proc.stdout
    assert "skipped" not in proc.stdout.splitlines()[-1]


def test_leak_patterns_name_this_checkout() -> None:
    secret = "not-the-secret"
    assert leaks(f"File {CHECKOUT}/service/x.py", secret) != []
    assert leaks(f"{sys.prefix}/lib", secret) != []
    assert leaks("/tmp/pytest-1/test0", secret) == []


def test_removed_cases_are_gone() -> None:
    assert not {a.id for a in ESCAPES} & set(REMOVED)
    assert all(reason.strip() for reason in REMOVED.values())


def test_an_exhaustion_case_refused_for_an_incidental_reason_fails() -> None:
    from .test_attacks import _limit_problems

    attack = Attack("x", "exhaustion", "b = bytes(10)\n", "limit", limit="string_size")
    refused = {"validate_errors": 1, "validate_first": "undefined name 'bytes'"}
    assert _limit_problems(attack, {**refused, "status": "error"})
    reached = {"validate_errors": 0, "status": "limit_exceeded", "limit": "string_size"}
    assert _limit_problems(attack, reached) == []
    assert _limit_problems(attack, {**reached, "limit": "array_size"})


def test_an_isolation_case_whose_setup_plants_nothing_fails() -> None:
    from alloy_scripting.engine import create_default_engine

    from .test_attacks import test_state_isolation

    case = IsolationCase("x", "json.leak = 1\n", 'entity["x"] = 1\n')  # refused: plants nothing
    with pytest.raises(AssertionError, match="did not plant"):
        test_state_isolation(create_default_engine, case)
