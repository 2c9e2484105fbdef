"""Debug tracer benchmark: what tracing costs, on and off.

    .venv/bin/python benchmarks/tracer.py [--runs N]

Prints microseconds per run of a loop-and-branch script (about 40 executed lines) with
`engine.execute` (ordinary runs: compiled without the tracer's hooks, cache hit) and with
`engine.debug` (a traced compile each time, a step per executed line), then the ratio.
Ordinary runs never reach the tracer: their code has no `_line_` call, so "off" costs
nothing but two default arguments of `ScriptEngine._run`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from time import perf_counter_ns

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

from alloy_scripting.engine import create_default_engine
from alloy_scripting.model.debug import DebugEffects

SOURCE = """\
total = 0
for i in range(12):
    if i % 3 == 0:
        total += i
    else:
        total -= 1
entity["total"] = total
"""


def per_run_us(loop: Callable[[], None], runs: int, repeats: int = 5) -> float:
    samples = []
    for _ in range(repeats):
        started = perf_counter_ns()
        for _ in range(runs):
            loop()
        samples.append((perf_counter_ns() - started) / runs / 1000)
    return min(samples) if samples else statistics.fmean(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    runs = parser.parse_args().runs
    engine = create_default_engine()
    entity = {"amount": 5}

    def ordinary() -> None:
        engine.execute(SOURCE, entity=entity)

    def traced() -> None:
        engine.debug(SOURCE, effects=DebugEffects(), entity=entity)

    off = per_run_us(ordinary, runs)
    on = per_run_us(traced, max(runs // 10, 10))
    print(f"execute (tracing off): {off:8.1f} us/run")
    print(f"debug   (tracing on):  {on:8.1f} us/run")
    print(f"debug / execute:       {on / off:8.1f}x")


if __name__ == "__main__":
    main()
