"""The attack corpus in pool mode: every case through a real `WorkerPool` (see `_pool.py`),
judged by the same oracles as inline mode (`test_attacks.py`).

- `test_pool_contains_escape`     escapes: no evidence, no leak, the outcome the case names
                                  (`Attack.pool_blocked` where the pool answers otherwise)
- `test_pool_bounds_exhaustion`   CPU / memory / output / recursion / compiler bombs: the
                                  limit the case names (or, where the case says so, the
                                  worker tier's own bounded backstop: `Attack.pool_limit`),
                                  and the pool serves an ordinary script right after
- `test_pool_isolates_runs`       a run sees nothing a previous run in a worker left behind
- `test_pool_runs_business`       ordinary scripts keep working

One pool serves the whole module. The workers run the service's engine: a substitute named
by `ALLOY_ATTACKS_ENGINE` is tested inline only (`test_attacks.py`).
"""

from __future__ import annotations

import dataclasses
import json
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._pool import PoolEngine
from .corpus import NORMAL_SCRIPT, NORMAL_TOTAL, Attack
from .corpus_business import BUSINESS
from .corpus_compiler import COMPILER
from .corpus_exhaustion import EXHAUSTION
from .corpus_isolation import ISOLATION, IsolationCase
from .test_attacks import (
    ESCAPES,
    _dumps,
    _ids,
    _inputs,
    _status,
    check_business,
    check_contained,
    check_isolation,
    exhaustion_problems,
)


@pytest.fixture(scope="module")
def pool() -> Iterator[PoolEngine]:
    engine = PoolEngine()
    try:
        yield engine
    finally:
        engine.close()


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _run_in_pool(pool: PoolEngine, attack: Attack, tmp_path: Path) -> dict[str, Any]:
    """The measurements `_runner.py` takes inline, for a run in the pool. `rss_delta_mb` is
    the service's own growth (the worker's memory is bounded by its OS limit)."""
    inputs = _inputs(attack, tmp_path)
    out: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        diagnostics = pool.validate(attack.source, phase=attack.phase)
        errors = [d for d in diagnostics if str(d.severity).endswith("error")]
        out["validate_errors"] = len(errors)
        out["validate_first"] = str(diagnostics[0].message)[:300] if diagnostics else ""
    except BaseException as error:
        out["validate_raised"] = f"{type(error).__name__}: {str(error)[:300]}"
    out["validate_wall"] = time.perf_counter() - started
    rss = _maxrss_mb()
    started = time.perf_counter()
    result = None
    try:
        result = pool.execute(
            attack.source,
            phase=attack.phase,
            entity=inputs["entity"],
            event=attack.event,
            entity_before=inputs["entity_before"],
            params=inputs["params"],
        )
    except BaseException as error:
        out["execute_raised"] = f"{type(error).__name__}: {str(error)[:300]}"
    out["wall"] = time.perf_counter() - started
    if result is not None:
        out["status"] = _status(result)
        error = result.error
        out["error_type"] = str(error.type) if error else ""
        out["error_message"] = str(error.message)[:500] if error else ""
        out["limit"] = str(result.limit or "")
        try:
            out["pwned"] = "pwned" in (result.changes or {}) or "pwned" in (result.entity or {})
            started = time.perf_counter()
            dumped = _dumps(result.to_dict())
            out["dump_wall"] = time.perf_counter() - started
            out["dump_size"] = len(dumped)
        except BaseException as error:
            out["dump_raised"] = f"{type(error).__name__}: {str(error)[:300]}"
    out["rss_delta_mb"] = _maxrss_mb() - rss
    after = pool.execute(NORMAL_SCRIPT, phase="manual", entity={"id": "after"})
    out["after_status"] = _status(after)
    out["after_ok"] = out["after_status"] == "success" and after.entity["total"] == NORMAL_TOTAL
    return out


@pytest.mark.parametrize("attack", ESCAPES, ids=_ids(ESCAPES))
def test_pool_contains_escape(
    pool: PoolEngine, attack: Attack, tmp_path: Path, attack_secret: str, capsys: Any
) -> None:
    if attack.pool_blocked:
        attack = dataclasses.replace(attack, blocked=attack.pool_blocked)
    check_contained(pool, attack, tmp_path, attack_secret, capsys)


@pytest.mark.parametrize("attack", EXHAUSTION + COMPILER, ids=_ids(EXHAUSTION + COMPILER))
def test_pool_bounds_exhaustion(pool: PoolEngine, attack: Attack, tmp_path: Path) -> None:
    if attack.pool_limit:
        attack = dataclasses.replace(attack, limit=f"{attack.limit}|{attack.pool_limit}")
    r = _run_in_pool(pool, attack, tmp_path)
    problems, summary = exhaustion_problems(attack, r)
    assert not problems, f"{problems}; observed {json.dumps(summary, default=str)[:800]}"


@pytest.mark.parametrize("case", ISOLATION, ids=_ids(ISOLATION))
def test_pool_isolates_runs(pool: PoolEngine, case: IsolationCase) -> None:
    check_isolation(pool, case)


@pytest.mark.parametrize("attack", BUSINESS, ids=_ids(BUSINESS))
def test_pool_runs_business(pool: PoolEngine, attack: Attack, tmp_path: Path) -> None:
    check_business(pool, attack, tmp_path)
