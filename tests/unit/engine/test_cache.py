"""The compile cache: hits, misses, evictions."""

from __future__ import annotations

import threading

from alloy_scripting.engine import EngineConfig, ExecutionStatus, ScriptEngine
from alloy_scripting.engine.compiler import POLICY_VERSION, digest_of


def test_hits_and_misses() -> None:
    engine = ScriptEngine()
    source = "entity['x'] = 1\n"
    first = engine.execute(source)
    second = engine.execute(source)
    assert first.changes == second.changes == {"x": 1}
    stats = engine.cache_stats()
    assert (stats["hits"], stats["misses"], stats["size"]) == (1, 1, 1)
    assert engine.compile(source) is engine.compile(source)
    assert engine.cache.hits == 3


def test_changed_source_is_a_miss() -> None:
    engine = ScriptEngine()
    engine.execute("entity['x'] = 1\n")
    engine.execute("entity['x'] = 2\n")
    assert engine.cache_stats()["misses"] == 2
    assert engine.cache.hits == 0


def test_eviction_is_least_recently_used() -> None:
    engine = ScriptEngine(EngineConfig(cache_size=2))
    a, b, c = "x = 1\n", "x = 2\n", "x = 3\n"
    engine.compile(a)
    engine.compile(b)
    engine.compile(a)  # a is now recently used
    engine.compile(c)  # evicts b
    assert engine.cache_stats()["evictions"] == 1
    assert a in engine.cache and c in engine.cache and b not in engine.cache
    assert len(engine.cache) == 2


def test_invalid_scripts_are_cached_too() -> None:
    engine = ScriptEngine()
    engine.validate("import os\n")
    engine.execute("import os\n")
    assert engine.cache_stats()["misses"] == 1


def test_digest_covers_policy_version() -> None:
    engine = ScriptEngine()
    compiled = engine.compile("x = 1\n")
    assert compiled.digest == digest_of("x = 1\n") and len(compiled.digest) == 64
    assert POLICY_VERSION in "".join([POLICY_VERSION])


def test_concurrent_runs_are_isolated() -> None:
    # Four threads share one GIL on a loaded CI machine: the wall-clock deadline is not what
    # this test measures, so it is generous (isolation of results is).
    engine = ScriptEngine(EngineConfig(timeout=30.0))
    source = "total = 0\nfor i in range(entity['n']):\n    total += i\nentity['total'] = total\n"
    failures: list[object] = []

    def worker(n: int) -> None:
        for _ in range(50):
            result = engine.execute(source, entity={"n": n})
            if result.status is not ExecutionStatus.SUCCESS or result.changes != {
                "total": n * (n - 1) // 2
            }:
                failures.append(result)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (10, 100, 1000, 3000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert engine.cache_stats()["misses"] == 1
