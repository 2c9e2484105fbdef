"""Engine benchmark: the seed's script, plain CPython `exec` vs the sandboxed engine.

    .venv/bin/python benchmarks/engine.py [--runs N]

Prints microseconds per run of
* plain `exec` of the same source (precompiled code object, fresh globals dict per run with
  a plain dict entity and an `abort` function),
* `engine.execute` with a cache hit, all limits on (full call: entity copy, run, changes,
  `ExecutionResult`),
* `engine.execute` with a cache miss (a unique source each time: a counter comment), and a
  bare `engine.compile` miss,
then the ratios. Targets: cached run <= 5x plain exec; cache hit >= 50x faster than a miss.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from time import perf_counter_ns
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

from alloy_scripting.engine import ExecutionStatus, create_default_engine

SEED = (
    'if entity["amount"] < 100:\n'
    '    abort("Minimum deal amount is 100")\n'
    'if entity["amount"] > 100000:\n'
    '    entity["status"] = "needs_approval"\n'
)


def per_run_us(loop: Callable[[int], None], runs: int, repeats: int = 5) -> float:
    """Best-of-`repeats` mean microseconds per run of `loop(runs)`."""
    samples = []
    for _ in range(repeats):
        gc.collect()
        started = perf_counter_ns()
        loop(runs)
        samples.append((perf_counter_ns() - started) / runs / 1000)
    return min(samples)


def plain_exec_loop(runs: int) -> None:
    code = compile(SEED, "<seed>", "exec")

    def abort(reason: str) -> None:
        raise RuntimeError(reason)

    base: dict[str, Any] = {"__builtins__": {}, "abort": abort}
    for _ in range(runs):
        scope = base.copy()
        scope["entity"] = {"amount": 500000}
        exec(code, scope)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100_000)
    args = parser.parse_args()
    runs = args.runs
    miss_runs = max(runs // 100, 200)

    engine = create_default_engine()
    check = engine.execute(SEED, entity={"amount": 500000})
    assert check.status is ExecutionStatus.SUCCESS and check.changes == {"status": "needs_approval"}
    execute = engine.execute

    def cached_loop(count: int) -> None:
        for _ in range(count):
            execute(SEED, entity={"amount": 500000})

    counter = iter(range(10**12))

    def miss_execute_loop(count: int) -> None:
        for _ in range(count):
            execute(f"{SEED}# {next(counter)}\n", entity={"amount": 500000})

    def miss_compile_loop(count: int) -> None:
        for _ in range(count):
            engine.compile(f"{SEED}# {next(counter)}\n")

    plain = per_run_us(plain_exec_loop, runs)
    cached = per_run_us(cached_loop, runs)
    miss_execute = per_run_us(miss_execute_loop, miss_runs, repeats=3)
    miss_compile = per_run_us(miss_compile_loop, miss_runs, repeats=3)
    spread = statistics.pstdev([per_run_us(cached_loop, runs // 10, repeats=1) for _ in range(3)])

    rows = [
        ("plain exec (baseline)", plain, ""),
        ("engine.execute, cache hit", cached, f"+/- {spread:.2f}"),
        ("engine.execute, cache miss", miss_execute, ""),
        ("engine.compile, cache miss", miss_compile, ""),
    ]
    print(f"seed script, Python {sys.version.split()[0]}, {runs} runs (misses: {miss_runs})")
    print(f"{'':32s}{'us/run':>12s}")
    for label, value, note in rows:
        print(f"{label:32s}{value:12.3f}  {note}")
    print()
    hit_ratio = cached / plain
    miss_ratio = miss_execute / cached
    print(f"cached run / plain exec         {hit_ratio:10.2f}x   (target <= 5x)")
    print(f"cache miss / cache hit          {miss_ratio:10.1f}x   (target >= 50x)")
    print(f"compile miss / cache hit        {miss_compile / cached:10.1f}x")
    print(f"cache: {engine.cache_stats()}")


if __name__ == "__main__":
    main()
