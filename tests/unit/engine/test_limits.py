"""Every limit: hit fast, before allocating, uncatchable, sticky; the engine keeps serving."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from alloy_scripting.engine import EngineConfig, ExecutionResult, ExecutionStatus, ScriptEngine

from .conftest import loose_engine, run, src

MB = 1024 * 1024
NORMAL = "total = 0\nfor i in range(100):\n    total += i\nentity['total'] = total\n"


def measured(
    engine: ScriptEngine, source: str, **kwargs: object
) -> tuple[ExecutionResult, float, int]:
    """Result, wall seconds, peak traced bytes of one run."""
    tracemalloc.start()
    try:
        started = time.perf_counter()
        result = engine.execute(source, **kwargs)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, elapsed, peak


def assert_breach(result: ExecutionResult, limit: str) -> None:
    expected = ExecutionStatus.TIMEOUT if limit == "timeout" else ExecutionStatus.LIMIT_EXCEEDED
    assert result.status is expected, (result.status, result.limit, result.error)
    assert result.limit == limit


def assert_still_serving(engine: ScriptEngine) -> None:
    result = engine.execute(NORMAL, entity={})
    assert result.status is ExecutionStatus.SUCCESS
    assert result.changes == {"total": 4950}


def test_operations(engine: ScriptEngine) -> None:
    result = run(engine, "while True:\n    pass")
    assert_breach(result, "operations")
    assert result.operations > engine.config.max_operations
    assert result.error is not None and result.error.line == 1
    assert_still_serving(engine)


def test_comprehension_steps_count(engine: ScriptEngine) -> None:
    result = run(engine, "x = [[j for j in range(300)] for i in range(300)]")
    assert_breach(result, "operations")


def test_call_depth(engine: ScriptEngine) -> None:
    result = run(engine, "def f(n):\n    return f(n + 1)\nf(0)")
    assert_breach(result, "call_depth")
    assert_still_serving(engine)


def test_recursion_within_depth_works(engine: ScriptEngine) -> None:
    result = run(
        engine, "def fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\nentity['f'] = fact(12)"
    )
    assert result.changes == {"f": 479001600}


def test_timeout_tight_loop() -> None:
    engine = loose_engine(timeout=0.05)
    result, elapsed, _ = measured(engine, "while True:\n    pass\n")
    assert_breach(result, "timeout")
    assert elapsed < 1.0
    assert_still_serving(engine)


def test_timeout_loop_of_cheap_guarded_calls() -> None:
    engine = loose_engine(timeout=0.05)
    source = src(
        """
        words = []
        while True:
            s = "ab" * 3 + str(len(words))
            words = sorted([s.upper(), s.lower()])
        """
    )
    result, elapsed, _ = measured(engine, source)
    assert_breach(result, "timeout")
    assert elapsed < 1.0


def test_timeout_in_recursion_with_loops() -> None:
    engine = loose_engine(timeout=0.05, max_call_depth=50)
    source = src(
        """
        def spin(n):
            for i in range(1000):
                pass
            return spin(n + 1) if n < 40 else spin(0)
        spin(0)
        """
    )
    result = engine.execute(source)
    assert result.status in (ExecutionStatus.TIMEOUT, ExecutionStatus.LIMIT_EXCEEDED)


@pytest.mark.parametrize(
    ("source", "limit"),
    [
        ('x = "a" * 10**9', "string_size"),
        ("x = [0] * 10**9", "array_size"),
        ("x = (0,) * 10**9", "array_size"),
        ("x = 2 ** 10**8", "int_size"),
        ("x = 10 ** 10 ** 10", "int_size"),
        ("x = 1 << 10**9", "int_size"),
        ('x = "x".ljust(10**9)', "string_size"),
        ('x = "x".center(10**9, "-")', "string_size"),
        ('x = "x".zfill(10**9)', "string_size"),
        ('x = ("a" * 60000).replace("a", "bb")', "string_size"),
        ('x = ",".join(str(i) for i in range(10**9))', "operations"),
        ('x = ",".join(["a" * 1000] * 1000)', "string_size"),
        ("x = sum(range(10**12))", "operations"),
        ("x = list(range(10**9))", "operations"),
        ("x = sorted(x for x in range(10**9))", "operations"),
        ("x = list(x for x in range(10**5) for y in range(10**5))", "array_size"),
        ("x = sum(x for x in range(10**5) for y in range(10**5))", "operations"),
        ('x = f"{1:>1000000000}"', "string_size"),
        ('x = "{:>1000000000}".format(1)', "string_size"),
        ('x = "%1000000000d" % 1', "string_size"),
        ('x = "%*d" % (10**9, 1)', "string_size"),
        ('x = format(1.5, ".100000f")', "string_size"),
        ('x = str([["x" * 60000] * 10000])', "string_size"),
        ('x = json.dumps([["x" * 60000] * 10000])', "string_size"),
        ('x = re.sub("", "x" * 60000, "a" * 60000)', "string_size"),
        ("x = [1]\nfor i in range(40):\n    x = x + x", "array_size"),
        ("x = [1]\nfor i in range(40):\n    x += x", "array_size"),
        ("x = [1]\nfor i in range(40):\n    x.extend(x)", "array_size"),
        ("x = [1]\nfor i in range(40):\n    x[len(x):] = x", "array_size"),
        ("x = [*range(10**5)]", "array_size"),
        ("a, *b = range(400000)", "array_size"),
        ("x = {i: i for i in range(20000)}", "array_size"),
        ("x = 3\nfor i in range(40):\n    x = x * x", "int_size"),
    ],
)
def test_size_limits_fail_fast(source: str, limit: str) -> None:
    # The size and operation limits are under test, not the 100 ms deadline: on a loaded
    # machine the deadline could otherwise come first. Each must still end the run well
    # inside two seconds.
    engine = ScriptEngine(EngineConfig(timeout=1.5))
    result, elapsed, peak = measured(engine, source + "\n")
    assert_breach(result, limit)
    assert elapsed < 2.0
    assert peak < 64 * MB, f"{peak / MB:.0f} MB traced"


def test_logs_count() -> None:
    engine = ScriptEngine(EngineConfig(max_log_entries=5))
    result = engine.execute("for i in range(10):\n    log(i)\n")
    assert_breach(result, "log_size")
    assert len(result.logs) == 5


def test_log_message_is_truncated(engine: ScriptEngine) -> None:
    result = run(engine, 'log("x" * 60000)')
    assert result.status is ExecutionStatus.SUCCESS
    assert len(result.logs[0].message) <= engine.config.max_log_message


def test_emits_count(engine: ScriptEngine) -> None:
    result = run(engine, 'for i in range(200):\n    emit("evt", {"i": i})', phase="after")
    assert_breach(result, "emits")
    assert len(result.emitted) == engine.config.max_emits


def test_emit_payload_size(engine: ScriptEngine) -> None:
    result = run(engine, 'emit("evt", {"x": "a" * 65000, "y": "b" * 1000})', phase="after")
    assert_breach(result, "payload_size")


def test_emit_total_size(engine: ScriptEngine) -> None:
    result = run(engine, 'for i in range(20):\n    emit("evt", {"x": "a" * 60000})', phase="after")
    assert_breach(result, "emits")


def test_changes_size(engine: ScriptEngine) -> None:
    result = run(engine, 'for i in range(10):\n    entity["f" + str(i)] = "x" * 60000')
    assert_breach(result, "changes_size")
    result = run(engine, 'entity["big"] = [["x" * 60000] * 10000]')
    assert_breach(result, "changes_size")


def test_regex_timeout(engine: ScriptEngine) -> None:
    result = run(engine, 'x = re.search("(x+x+)+y", "x" * 5000)')
    assert_breach(result, "regex_timeout")
    assert_still_serving(engine)


@pytest.mark.parametrize(
    "source",
    [
        "try:\n    while True:\n        pass\nexcept Exception:\n    entity['caught'] = 1",
        "try:\n    while True:\n        pass\nexcept:\n    entity['caught'] = 1",
        "try:\n    x = 'a' * 10**9\nexcept Exception:\n    entity['caught'] = 1",
        "try:\n    abort('stop')\nexcept Exception:\n    entity['caught'] = 1",
        "try:\n    abort('stop')\nexcept:\n    entity['caught'] = 1",
        # a finally that raises another exception must not launder the breach
        "try:\n    try:\n        x = 'a' * 10**9\n    finally:\n        raise ValueError('x')\n"
        "except ValueError:\n    entity['caught'] = 1",
        "try:\n    try:\n        abort('stop')\n    finally:\n        raise ValueError('x')\n"
        "except ValueError:\n    entity['caught'] = 1",
    ],
)
def test_breach_and_abort_cannot_be_caught(engine: ScriptEngine, source: str) -> None:
    result = engine.execute(source + "\n", entity={})
    assert result.status in (ExecutionStatus.LIMIT_EXCEEDED, ExecutionStatus.ABORTED)
    assert "caught" not in result.entity and result.changes == {}


def test_breach_is_sticky_in_finally(engine: ScriptEngine) -> None:
    result, _, _ = measured(
        engine, "try:\n    x = 'a' * 10**9\nfinally:\n    while True:\n        pass\n"
    )
    assert_breach(result, "string_size")
    assert result.operations < 100
    result = run(
        engine, "try:\n    while True:\n        pass\nfinally:\n    while True:\n        pass"
    )
    assert_breach(result, "operations")
    assert result.operations <= engine.config.max_operations + 10


def test_return_in_finally_is_refused(engine: ScriptEngine) -> None:
    result = run(
        engine,
        "def f():\n    try:\n        while True:\n            pass\n    finally:\n        return 1\nf()",
    )
    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None and result.error.type == "ValidationError"


def test_abort_reason_is_bounded(engine: ScriptEngine) -> None:
    result = run(engine, 'abort("x" * 10000)')
    assert result.status is ExecutionStatus.ABORTED
    assert result.reason is not None and len(result.reason) <= 1024
    result = run(engine, "abort([1, 2])")
    assert result.reason == "[1, 2]"


def test_memory_error_is_a_limit(engine: ScriptEngine) -> None:
    from alloy_scripting.engine.guards import Guards

    with pytest.raises(BaseException) as caught:
        Guards(engine.config).exc(MemoryError())
    assert type(caught.value).__name__ == "LimitExceeded"


@pytest.mark.parametrize(
    "source",
    [
        "x = [[0] * 10000] * 10000",
        "a = [0] * 1000\nb = [a] * 1000\nc = [b] * 1000",
        "t = (0,) * 10000\nt2 = (t,) * 10000",
    ],
)
def test_aliasing_repetition_is_bounded(engine: ScriptEngine, source: str) -> None:
    assert_breach(engine.execute(source + "\n"), "array_size")


def test_small_nested_repetition_works(engine: ScriptEngine) -> None:
    result = engine.execute("grid = [[0] * 10] * 10\nentity['n'] = len(grid) * len(grid[0])\n")
    assert result.changes == {"n": 100}


def test_memory_growth_limit() -> None:
    """In a fresh interpreter (peak RSS is process-wide): a loop keeping 60 KB slices alive.

    The time limit is lifted so that a loaded machine (the whole suite, services running)
    cannot end the run by timeout before the memory check does: the memory limit is the
    subject here."""
    import json
    import subprocess
    import sys

    code = (
        "import json\n"
        "from alloy_scripting.engine import EngineConfig, ScriptEngine\n"
        "engine = ScriptEngine(EngineConfig(max_memory=32 * 2**20, timeout=10.0))\n"
        "bomb = engine.execute('s = \"x\" * 60000\\nkeep = [s[1:] for i in range(9000)]\\n')\n"
        "fine = engine.execute('s = \"x\" * 60000\\nkeep = [s[1:] for i in range(50)]\\n')\n"
        "print(json.dumps([bomb.status.value, bomb.limit, fine.status.value]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [
        "limit_exceeded",
        "memory",
        "success",
    ]
