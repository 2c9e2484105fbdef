"""Engine benchmark, loop-heavy business scripts: plain CPython `exec` vs the sandboxed engine.

    .venv/bin/python benchmarks/engine_loops.py [--runs N] [--profile order|text]

Two scripts written as an author would write them:
* `order`: an order of 200 lines (quantities, prices, a discount by customer tier and a
  bulk discount, tax per line by category, rounding), totals written into the entity;
* `text`: rules over a 300-word description (lowercasing, word counts, banned words, two
  regular expressions, a summary and the top words written into the entity).

Each is run cached through `ScriptEngine.execute` (all limits on: entity copy, run, changes,
`ExecutionResult`) and, interleaved in the same process, as the same source under plain
`exec` (precompiled, fresh globals per run holding a shallow copy of the entity, the real `re`,
`round`, `sorted`, ...). Prints the median CPU microseconds per run of each (process time:
the machine is shared) and their ratio.
Target (issue 11, item 6): engine <= 4x plain `exec` for both.
"""

from __future__ import annotations

import argparse
import builtins
import cProfile
import gc
import pstats
import random
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from time import process_time_ns
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

from alloy_scripting.engine import ExecutionStatus, create_default_engine

ORDER = """\
TIER_DISCOUNT = {"bronze": 0.0, "silver": 0.05, "gold": 0.10, "platinum": 0.15}
TAX_RATES = {"food": 0.07, "books": 0.07, "standard": 0.19}
BULK_QTY = 10
BULK_DISCOUNT = 0.02

tier = entity.get("customer_tier", "bronze")
tier_rate = TIER_DISCOUNT.get(tier, 0.0)
subtotal = 0.0
discount_total = 0.0
tax_total = 0.0
item_count = 0
largest = None
largest_total = 0.0
for line in entity["lines"]:
    qty = line["qty"]
    if qty <= 0:
        continue
    price = line["unit_price"]
    gross = qty * price
    rate = tier_rate
    if qty >= BULK_QTY:
        rate = rate + BULK_DISCOUNT
    discount = round(gross * rate, 2)
    net = gross - discount
    tax = round(net * TAX_RATES.get(line["category"], TAX_RATES["standard"]), 2)
    line_total = round(net + tax, 2)
    subtotal += gross
    discount_total += discount
    tax_total += tax
    item_count += qty
    if line_total > largest_total:
        largest_total = line_total
        largest = line["sku"]

entity["item_count"] = item_count
entity["subtotal"] = round(subtotal, 2)
entity["discount"] = round(discount_total, 2)
entity["tax"] = round(tax_total, 2)
entity["total"] = round(subtotal - discount_total + tax_total, 2)
entity["largest_line"] = largest
if entity["total"] > 50000:
    entity["status"] = "needs_approval"
"""

TEXT = """\
BANNED = {"free", "guaranteed", "winner", "cash", "urgent"}
STOP = {"the", "a", "an", "and", "or", "of", "to", "in", "for", "with", "on", "is"}

text = entity.get("description", "")
lowered = text.lower()
words = re.findall(r"[a-z0-9']+", lowered)
counts = {}
banned_hits = []
long_words = 0
for word in words:
    if word in STOP:
        continue
    counts[word] = counts.get(word, 0) + 1
    if word in BANNED:
        banned_hits.append(word)
    if len(word) > 8:
        long_words += 1

top = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:5]
emails = re.findall(r"[\\w.+-]+@[\\w-]+\\.[a-z]{2,}", lowered)
summary = " ".join(words[:20])
if len(words) > 20:
    summary = summary + "..."

entity["word_count"] = len(words)
entity["unique_words"] = len(counts)
entity["long_words"] = long_words
entity["banned_words"] = sorted(set(banned_hits))
entity["has_contact"] = len(emails) > 0
entity["summary"] = summary.capitalize()
entity["top_words"] = [f"{word}:{count}" for word, count in top]
if banned_hits:
    entity["status"] = "needs_review"
"""

_VOCABULARY_TEXT = (
    "the quick reliable delivery of premium industrial components and spare parts for "
    "manufacturing plants across europe with guaranteed support response times maintenance "
    "contracts installation training documentation warranty replacement inventory logistics "
    "customer satisfaction quality assurance certified engineers urgent orders shipped daily "
    "contact sales@example.com for volume pricing free consultation available on request"
)
_VOCABULARY = _VOCABULARY_TEXT.split(" ")


def order_entity() -> dict[str, Any]:
    rng = random.Random(11)
    categories = ("food", "books", "standard", "standard", "tools")
    lines = [
        {
            "sku": f"SKU-{index:04d}",
            "qty": rng.randint(1, 20),
            "unit_price": round(rng.uniform(1, 250), 2),
            "category": rng.choice(categories),
        }
        for index in range(200)
    ]
    return {"id": "order-1", "customer_tier": "gold", "country": "DE", "lines": lines}


def text_entity() -> dict[str, Any]:
    rng = random.Random(11)
    words = [rng.choice(_VOCABULARY) for _ in range(300)]
    for index in range(11, 300, 12):
        words[index] += "."
    words[0] = words[0].capitalize()
    return {"id": "listing-1", "title": "Industrial parts", "description": " ".join(words)}


SCRIPTS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "order": (ORDER, order_entity),
    "text": (TEXT, text_entity),
}


def _abort(reason: str = "") -> None:
    raise RuntimeError(reason)


def plain_globals() -> dict[str, Any]:
    """What the same source needs under plain `exec`: the real builtins and `re`."""
    return {"__builtins__": builtins, "abort": _abort, "re": re}


#: Each pair of runs is made this many extra frames deep, cycling (see `alternating`).
DEPTHS = 128


def at_depth(depth: int, function: Callable[[], Any]) -> int:
    """CPU nanoseconds of `function()` called `depth` frames below here."""
    if depth:
        return at_depth(depth - 1, function)
    started = process_time_ns()
    function()
    return process_time_ns() - started


def alternating(
    first: Callable[[], Any], second: Callable[[], Any], runs: int
) -> tuple[list[float], list[float]]:
    """CPU microseconds of each run of `first` and `second`, alternating run by run: on a
    shared, loaded machine wall-clock time measures the other tenants (CPU time does not),
    and both sides see the same cache and frequency conditions.

    Each pair runs at a call depth cycling over `DEPTHS`: CPython 3.11 allocates and frees
    a chunk of its frame stack on every call that crosses a chunk boundary, so at a few
    depths every Python call of a run costs a system call (3-10x slower runs, for plain and
    sandboxed code alike). Cycling makes the median the typical figure at any depth."""
    one: list[float] = []
    two: list[float] = []
    for index in range(runs):
        depth = index % DEPTHS
        one.append(at_depth(depth, first) / 1000)
        two.append(at_depth(depth, second) / 1000)
    return one, two


def measure(name: str, runs: int, rounds: int) -> tuple[float, float]:
    """Median microseconds per run: (plain exec, engine), alternating run by run."""
    source, make_entity = SCRIPTS[name]
    entity = make_entity()
    engine = create_default_engine()
    result = engine.execute(source, entity=entity)
    assert result.status is ExecutionStatus.SUCCESS, (result.status, result.error)

    code = compile(source, "<plain>", "exec")
    base = plain_globals()
    scope = base.copy()
    scope["entity"] = dict(entity)
    exec(code, scope)
    assert {key: scope["entity"][key] for key in result.changes} == result.changes

    def plain() -> None:
        scope = base.copy()
        # A shallow copy (the scripts write top-level fields only): the strictest baseline.
        scope["entity"] = dict(entity)
        exec(code, scope)

    execute = engine.execute

    def sandboxed() -> None:
        execute(source, entity=entity)

    plain_samples: list[float] = []
    engine_samples: list[float] = []
    for _ in range(rounds):
        gc.collect()
        plains, engines = alternating(plain, sandboxed, runs)
        plain_samples += plains
        engine_samples += engines
    return statistics.median(plain_samples), statistics.median(engine_samples)


def profile(name: str, runs: int) -> None:
    source, make_entity = SCRIPTS[name]
    entity = make_entity()
    engine = create_default_engine()
    engine.execute(source, entity=entity)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        engine.execute(source, entity=entity)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200, help="runs per round and side")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", choices=sorted(SCRIPTS))
    args = parser.parse_args()
    if args.profile:
        profile(args.profile, args.runs)
        return
    total = args.runs * args.rounds
    print(f"loop-heavy scripts, Python {sys.version.split()[0]}, median of {total} runs each")
    print(f"{'script':10s}{'plain us':>12s}{'engine us':>12s}{'ratio':>9s}")
    for name in SCRIPTS:
        plain, sandboxed = measure(name, args.runs, args.rounds)
        print(f"{name:10s}{plain:12.1f}{sandboxed:12.1f}{sandboxed / plain:8.2f}x")
    print("target: engine <= 4x plain exec (issue 11, item 6)")


if __name__ == "__main__":
    main()
