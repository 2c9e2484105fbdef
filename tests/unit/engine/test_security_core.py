"""Core jail-escape attempts (the full corpus lives in tests/unit/attacks)."""

from __future__ import annotations

import json
import re

import pytest

from alloy_scripting.engine import EngineConfig, ExecutionStatus, ScriptEngine

from .conftest import src

HOST_DETAIL = re.compile(
    r"0x[0-9a-fA-F]{6,}|/work/|site-packages|\.py\b|<module|Traceback \(most recent"
)

ATTACKS = {
    "subclasses": "x = ().__class__.__bases__[0].__subclasses__()",
    "bound-self": "x = entity.get.__self__",
    "format-attr": 'x = "{0.__class__}".format(1)',
    "format-attr-kw": 'x = "{a.__class__.__mro__}".format(a=1)',
    "format-map-attr": 'x = "{a.real}".format_map({"a": 1})',
    "generator-frame": "g = (i for i in [1])\nx = g.gi_frame.f_back.f_globals",
    "generator-send": "g = (i for i in [1])\nx = g.send",
    "traceback": "try:\n    1 / 0\nexcept Exception as e:\n    x = e.__traceback__.tb_frame",
    "with-traceback": "try:\n    1 / 0\nexcept Exception as e:\n    x = e.with_traceback",
    "mro": "x = ValueError.mro()",
    "type": "x = type(1)",
    "dunder-class": "x = [].__class__",
    "import": "import os",
    "dunder-import": "x = __import__('os')",
    "getattr": 'x = getattr(entity, "x")',
    "vars": "x = vars()",
    "globals": "x = globals()",
    "match-class": "match 1:\n    case int(real=r):\n        x = r",
    "json-globals": "x = json.loads.__globals__",
    "datetime-globals": "x = datetime.now.__globals__",
    "ctx-dict": "x = ctx.__dict__",
    "namespace-internals": "x = json.dumps.func",
    "exception-instance-attrs": 'x = ValueError("a").args',
    "reduce": "x = entity.__reduce__()",
    "class-via-str": "x = str.mro",
    "fstring-width": 'x = f"{1:>1000000000}"',
    "percent-width": 'x = "%1000000000d" % 1',
    "strftime-huge": 'x = datetime(2024, 1, 1).strftime("%Y" * 10000)',
    "decimal-huge": "x = f\"{Decimal('1e999999999'):f}\"",
    "raise-base": "raise BaseException()",
    "catch-base": "try:\n    abort('x')\nexcept BaseException:\n    pass",
    "except-nonclass": "try:\n    1 / 0\nexcept len:\n    pass",
    "setattr-proxy": "entity.id = 'x'",
    "write-view": "entity_before['a'] = 1",
    "write-ctx": "ctx['phase'] = 'x'",
    "id-address": "x = id(entity)",
    "builtins-dict": "x = __builtins__",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_refused(engine: ScriptEngine, name: str) -> None:
    source = src(ATTACKS[name]) + 'entity["pwned"] = True\n'
    result = engine.execute(
        source, phase="after", event="after_update", entity={"a": 1}, entity_before={"a": 0}
    )
    assert result.status is not ExecutionStatus.SUCCESS, f"{name}: {result.to_dict()}"
    assert "pwned" not in result.changes and "pwned" not in result.entity
    text = json.dumps(result.to_dict())
    assert not HOST_DETAIL.search(text), text
    diagnostics = json.dumps([d.to_dict() for d in engine.validate(source)])
    assert not HOST_DETAIL.search(diagnostics), diagnostics


@pytest.mark.parametrize(
    "expression",
    [
        "log",
        "entity.get",
        "json.loads",
        "json",
        "math.floor",
        "(i for i in [])",
        "(lambda: 1)",
        "ValueError",
        "re",
    ],
)
def test_renderings_hide_host_details(engine: ScriptEngine, expression: str) -> None:
    result = engine.execute(
        f"log({expression}, repr({expression}), f'{{{expression}}}', '%s' % ({expression},))\n"
    )
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert not HOST_DETAIL.search(result.logs[0].message), result.logs[0].message


def test_caught_exception_is_plain_data(engine: ScriptEngine) -> None:
    result = engine.execute(
        src(
            """
            try:
                [][1]
            except IndexError as e:
                log(e.type, e.message, e.args, str(e), repr(e))
                try:
                    x = e.__class__
                except Exception:
                    pass
            """
        )
    )
    assert result.status is ExecutionStatus.ERROR  # the __class__ access is refused at validation
    result = engine.execute(
        "try:\n    [][1]\nexcept IndexError as e:\n    log(e.type, e.message, e.args)\n"
    )
    assert (
        result.logs[0].message == "IndexError list index out of range ('list index out of range',)"
    )


def test_engine_serves_after_every_attack(engine: ScriptEngine) -> None:
    for source in ATTACKS.values():
        engine.execute(source + "\n")
    result = engine.execute('entity["ok"] = 1\n')
    assert result.status is ExecutionStatus.SUCCESS and result.changes == {"ok": 1}


def _finally_chain(funcs: int = 5, depth: int = 17) -> str:
    lines = []
    for k in range(funcs):
        lines.append(f"def g{k}():")
        for i in range(depth):
            lines.append("    " * (i + 1) + "try:")
        lines.append("    " * (depth + 1) + ('abort("stop")' if k == 0 else f"g{k - 1}()"))
        for i in reversed(range(depth)):
            lines.append("    " * (i + 1) + "finally:")
            lines.append("    " * (i + 2) + f'int("x{k}_{i}")')
    lines += [
        "try:",
        f"    g{funcs - 1}()",
        "except ValueError:",
        "    pass",
        'entity["pwned"] = 1',
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "source",
    [
        _finally_chain(),
        # StopIteration raised in a finally would make map()/filter() end silently
        "def cb(x):\n    try:\n        abort('stop')\n    finally:\n        next(enumerate([]))\n"
        "    return x\nout = list(map(cb, [1]))\nentity['pwned'] = 1\n",
        "def cb(x):\n    try:\n        abort('stop')\n    finally:\n        next(zip())\n"
        "    return True\nfor v in filter(cb, [1, 2]):\n    pass\nentity['pwned'] = 1\n",
    ],
)
def test_abort_cannot_be_laundered(engine: ScriptEngine, source: str) -> None:
    result = engine.execute(source, entity={})
    assert result.status is ExecutionStatus.ABORTED, result.to_dict()
    assert "pwned" not in result.entity


def test_stop_iteration_from_a_callback_is_an_error(engine: ScriptEngine) -> None:
    result = engine.execute(
        "def cb(x):\n    return next(enumerate([]))\nout = list(map(cb, [1, 2]))\n"
    )
    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None and result.error.type == "RuntimeError"


def test_entity_before_is_read_only_through_nested_values(engine: ScriptEngine) -> None:
    source = src(
        """
        entity_before.get("tags").append("p1")
        entity_before.copy()["tags"].append("p2")
        for v in entity_before.values():
            v.append("p3") if isinstance(v, list) else None
        dict(entity_before)["tags"].append("p4")
        copied = {**entity_before}
        copied["tags"].append("p5")
        entity["seen"] = entity_before["tags"]
        """
    )
    result = engine.execute(
        source, phase="after", event="after_update", entity_before={"tags": ["a"]}
    )
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert result.changes == {"seen": ["a"]}


@pytest.mark.parametrize(
    "source",
    [
        'entity["x"] = float("nan")',
        'entity["x"] = [float("inf")]',
        'emit("e", {"x": float("-inf")})',
    ],
)
def test_non_finite_floats_never_reach_the_result(engine: ScriptEngine, source: str) -> None:
    result = engine.execute(source + "\n", phase="after")
    assert result.status is ExecutionStatus.ERROR
    json.dumps(result.to_dict(), allow_nan=False)
    caller = engine.execute("x = 1\n", entity={"x": float("nan")})
    assert json.dumps(caller.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("source", "statuses"),
    [
        # doubling tuples into a hash bomb
        ("t = (0,)\nfor i in range(40):\n    t = (t, t)\nx = {t}", {"limit_exceeded"}),
        (
            "z = [(0,)]\nfor i in range(40):\n    z = list(zip(z, z))\nx = {z[0]}",
            {"limit_exceeded"},
        ),
        ("t = (0,)\nfor i in range(40):\n    t = tuple([t, t])\nx = t in {}", {"limit_exceeded"}),
        ("t = (0,)\nfor i in range(40):\n    t = t + (t,)\nx = {t}", {"limit_exceeded"}),
        # == between distinct aliased structures
        (
            "a = [[0] * 10000 for _ in range(1)][0]\nb = [[0] * 10000 for _ in range(1)][0]\n"
            "c = [a for _ in range(10000)]\nd = [b for _ in range(10000)]\n"
            "e = [c for _ in range(10000)]\nf = [d for _ in range(10000)]\nx = e == f",
            {"limit_exceeded", "timeout"},
        ),
        # a host key function called from C once per item
        (
            "x = list(range(9000))\nbig = [x for _ in range(10000)]\nn = sorted(big, key=str)",
            {"limit_exceeded", "timeout"},
        ),
        (
            "x = list(range(9000))\nbig = [x for _ in range(10000)]\nbig.sort(key=json.dumps)",
            {"limit_exceeded", "timeout"},
        ),
        # colliding hashes
        (
            "m = 2 ** 61 - 1\nkeys = [i * m for i in range(10000)]\nx = set(keys)",
            {"limit_exceeded", "timeout"},
        ),
    ],
)
def test_c_level_work_is_bounded(engine: ScriptEngine, source: str, statuses: set[str]) -> None:
    import time

    started = time.perf_counter()
    result = engine.execute(source + "\n")
    assert result.status.value in statuses, result.to_dict()
    assert time.perf_counter() - started < 20 * engine.config.timeout


def test_long_straight_line_scripts_are_ticked(engine: ScriptEngine) -> None:
    import time

    lines = ["x = list(range(9000))"] + ["str(x)"] * 3000
    started = time.perf_counter()
    result = engine.execute("\n".join(lines) + "\n")
    assert result.status is ExecutionStatus.TIMEOUT
    assert time.perf_counter() - started < 20 * engine.config.timeout
    lines = ['s = "x" * 65000'] + [f'v{i} = s + "x"' for i in range(3000)]
    result = engine.execute("\n".join(lines) + "\n")
    assert result.operations > 0  # counted, so the memory check runs


def test_args_tuple_doubling_is_bounded(engine: ScriptEngine) -> None:
    source = (
        "def pair(*a):\n    return a\nt = (0,)\nfor i in range(40):\n    t = pair(t, t)\nx = {t}\n"
    )
    result = engine.execute(source)
    assert result.status is ExecutionStatus.LIMIT_EXCEEDED


@pytest.mark.parametrize(
    "source",
    [
        # One C call each, in a straight line of code: every such call is followed by a
        # deadline check, and callbacks are counted (no run goes on unchecked).
        'l = ["\\U0001F600" * 65000] * 10000\nl.sort(key=str.upper)',
        "m = 2 ** 61 - 1\n" + "s = set(range(0, 10000 * m, m))\n" * 20,
        "m = 2 ** 61 - 1\n" + "d = dict.fromkeys(range(0, 10000 * m, m))\n" * 20,
    ],
)
def test_straight_line_host_calls_are_checked_after_each_call(
    engine: ScriptEngine, source: str
) -> None:
    import time

    started = time.perf_counter()
    result = engine.execute(source + "\n")
    assert result.status in (ExecutionStatus.TIMEOUT, ExecutionStatus.LIMIT_EXCEEDED)
    assert time.perf_counter() - started < 15 * engine.config.timeout


def test_the_seed_script_keeps_the_straight_path(engine: ScriptEngine) -> None:
    compiled = engine.compile(
        'if entity["amount"] < 100:\n    abort("Minimum deal amount is 100")\n'
        'if entity["amount"] > 100000:\n    entity["status"] = "needs_approval"\n'
    )
    assert compiled.simple_code is not None
    assert engine.compile('x = entity.get("a")\nentity.update({"b": x})\n').simple_code
    assert engine.compile("x = sorted([3, 1])\n").simple_code is None


def test_compiling_a_huge_script_is_refused_quickly(engine: ScriptEngine) -> None:
    import time

    source = "a = 1\n" + ('f"' + "{a}" * 100 + '"\n') * 420
    started = time.perf_counter()
    result = engine.execute(source)
    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None and "too complex" in result.error.message
    # ~0.45 s on an idle machine (parsing 42,000 nodes before the cap refuses them); an
    # unbounded compile took 8-15 s. 25 deadlines = 5x the expectation, for a loaded suite.
    assert time.perf_counter() - started < 25 * engine.config.timeout
    diagnostics = engine.validate(source)
    assert diagnostics and "syntax nodes" in diagnostics[0].message


def test_bad_caller_data_is_an_error_result_and_leaves_no_state_behind(
    engine: ScriptEngine,
) -> None:
    deep: dict[str, object] = {}
    level = deep
    for _ in range(300):
        level["k"] = {}
        level = level["k"]  # type: ignore[assignment]
    looping = 'for i in range(1):\n    pass\nentity["x"] = entity_before is None\n'
    result = engine.execute(
        looping, phase="after", event="after_update", entity={"a": 1}, entity_before=deep
    )
    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None and result.error.type == "InvalidInput"
    # The next runs on this thread are not affected by the one that could not start.
    for source in (
        'd = dict.fromkeys(range(2000))\nentity["n"] = len(d)\n',
        'try:\n    int("x")\nexcept ValueError:\n    entity["n"] = "handled"\n',
        'l = [3, 1, 2]\nl.sort(key=abs)\nentity["n"] = l\n',
    ):
        assert engine.execute(source, entity={"a": 1}).status is ExecutionStatus.SUCCESS


def test_a_signalling_nan_written_to_the_entity_is_an_error_result(engine: ScriptEngine) -> None:
    result = engine.execute(
        'entity["n"] = {"k": Decimal("sNaN")}\n', entity={"n": {"k": 1}}, phase="manual"
    )
    assert result.status is ExecutionStatus.ERROR


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('entity["x"] = 2 ** 64', "64-bit"),
        ('entity["x"] = -(2 ** 63) - 1', "64-bit"),
        ('entity["x"] = chr(0xD800)', "surrogate"),
        ("entity[chr(0xDC00)] = 1", "surrogate"),
    ],
)
def test_top_level_values_that_cannot_leave_the_sandbox_are_refused(
    engine: ScriptEngine, source: str, message: str
) -> None:
    for entity in ({"a": 1}, {"a": 1, "nested": {"k": 1}}):  # the hot path and the other
        result = engine.execute(source + "\n", entity=entity)
        assert result.status is ExecutionStatus.ERROR
        assert result.error is not None and message in result.error.message
    ok = engine.execute('entity["é"] = "ü"\nentity["n"] = 2 ** 63 - 1\n', entity={"a": 1})
    assert ok.status is ExecutionStatus.SUCCESS
    assert ok.changes == {"é": "ü", "n": 2**63 - 1}


def test_validate_one_of_refuses_aliased_structures(engine: ScriptEngine) -> None:
    import time

    source = "l = [1]\nm = [1]\n" + "l = [l, l, l, l]\nm = [m, m, m, m]\n" * 15
    source += 'entity["ok"] = validate_one_of(m, [l])\n'
    started = time.perf_counter()
    result = engine.execute(source, phase="before", event="before_create", entity={"a": 1})
    assert result.status in (ExecutionStatus.LIMIT_EXCEEDED, ExecutionStatus.TIMEOUT)
    assert time.perf_counter() - started < 10 * engine.config.timeout


@pytest.mark.parametrize(
    "source",
    [
        # Every line makes a guard walk a million nested elements: the walks are counted.
        "L = [[0] * 99 for i in range(9999)]\n" + "t = (L, 1)\n" * 40,
        "L = [[0] * 99 for i in range(9999)]\nM = [[0] * 99 for i in range(9999)]\n"
        + "c = L == M\n" * 40,
    ],
)
def test_guard_walks_count_as_work(engine: ScriptEngine, source: str) -> None:
    import time

    started = time.perf_counter()
    result = engine.execute(source)
    assert result.status in (ExecutionStatus.LIMIT_EXCEEDED, ExecutionStatus.TIMEOUT)
    assert time.perf_counter() - started < 10 * engine.config.timeout


def test_identity_needs_no_walk() -> None:
    """`is` compares identities: no guard walks the million elements. Were each of the
    200 lines to walk them (tens of milliseconds a walk), the run would take seconds; 1 s
    leaves room for a pause of the collector over a whole test session's heap (a CI run
    once saw 0.74 s for this script under the default 100 ms deadline)."""
    engine = ScriptEngine(EngineConfig(timeout=1.0))
    source = "L = [[0] * 99 for i in range(9999)]\n" + "c = L is L\n" * 200
    source += 'entity["same"] = L is L\n'
    result = engine.execute(source, entity={"a": 1})
    assert result.status is ExecutionStatus.SUCCESS and result.changes == {"same": True}


@pytest.mark.parametrize(
    ("source", "statuses"),
    [
        # An unterminated JSON string full of escaped quotes: the nesting pre-scan is linear.
        (
            "s = '[' * 101 + '\"' + '\\\\\"' * 32000\ntry:\n    json.loads(s)\n"
            "except ValueError:\n    pass\n",
            {"success", "error"},
        ),
        # Dict views compare their items in C: aliased values are walked first.
        (
            "a = [0]\nb = [0]\nfor i in range(40):\n    a = [a, a]\n    b = [b, b]\n"
            "x = {1: a}\ny = {1: b}\nentity['r'] = x.items() == y.items()\n",
            {"limit_exceeded"},
        ),
        (
            "a = [0]\nb = [0]\nfor i in range(40):\n    a = [a, a]\n    b = [b, b]\n"
            "x = {1: a}\ny = {1: b}\nentity['r'] = x.items() <= y.items()\n",
            {"limit_exceeded"},
        ),
        # Nested `lambda *a:` compile in linear time.
        (
            "f = " + "".join(f"lambda *a{i}: " for i in range(24)) + "1\nentity['r'] = 1\n",
            {"success"},
        ),
        # Conversions and case mappings that lengthen text stay within the string limit.
        ("s = '\\U0001F600' * 65000\nx = f'{s!a}'\n", {"limit_exceeded"}),
        ("s = '\\ufb03' * 65536\nu = s.upper()\n", {"limit_exceeded"}),
        ("s = '\\ufb03' * 65536\nu = str.upper(s)\n", {"limit_exceeded"}),
    ],
)
def test_round_three_findings_are_bounded(
    engine: ScriptEngine, source: str, statuses: set[str]
) -> None:
    import time

    started = time.perf_counter()
    result = engine.execute(source, entity={"a": 1})
    assert result.status.value in statuses, result.to_dict()
    assert time.perf_counter() - started < 10 * engine.config.timeout


@pytest.mark.parametrize(
    ("value", "change"),
    [
        ('{"k": [True]}', {"n": {"k": [True]}}),
        ('{"k": [1.0]}', {"n": {"k": [1.0]}}),
        ('{"k": [Decimal(1)]}', {"n": {"k": ["1"]}}),
        ('{"k": [1]}', {}),
    ],
)
def test_nested_values_equal_in_python_but_not_in_json_are_changes(
    engine: ScriptEngine, value: str, change: dict[str, object]
) -> None:
    from alloy_scripting.engine.entity import EntityProxy

    entity = EntityProxy("d1", "deal", {"n": {"k": [1]}, "a": 1})
    result = engine.execute(f'entity["n"] = {value}\n', entity=entity)
    assert result.status is ExecutionStatus.SUCCESS
    assert result.changes == change
    # What the next script of a hook chain is given is what the changes say.
    assert dict(result.entity)["n"] == (change["n"] if change else {"k": [1]})


def test_many_small_membership_tests_on_a_long_list_are_ordinary_code(
    engine: ScriptEngine,
) -> None:
    source = (
        "pts = [(i, i * 2) for i in range(2000)]\nn = 0\n"
        "for j in range(200):\n    if (j, j * 2) in pts:\n        n += 1\nentity['n'] = n\n"
    )
    result = engine.execute(source, entity={"a": 1})
    assert result.status is ExecutionStatus.SUCCESS and result.changes == {"n": 200}


@pytest.mark.parametrize(
    "source",
    [
        # Short loops still check the deadline at every step; regex calls count.
        "p = '(a|aa)+b'\ns = 'a' * 24\nfor i in range(3):\n" + "    m = re.search(p, s)\n" * 55,
        # Dict views nested in containers are walked like containers.
        "a = [0]\nb = [0]\nfor i in range(40):\n    a = [a, a]\n    b = [b, b]\n"
        "x = {1: a}\ny = {1: b}\nentity['r'] = [x.items()] == [y.items()]\n",
        "a = [0]\nb = [0]\nfor i in range(40):\n    a = [a, a]\n    b = [b, b]\n"
        "x = {1: a}\ny = {1: b}\nentity['r'] = [y.items()].count(x.items())\n",
        "a = [0]\nb = [0]\nfor i in range(40):\n    a = [a, a]\n    b = [b, b]\n"
        "y = {1: b}\nz = {1: a, 2: 0}\nentity['r'] = len(sorted([z.items(), y.items()]))\n",
        # isinstance with a huge type tuple.
        "t1 = (str,) * 100\nt2 = (t1,) * 100\nt3 = (t2,) * 99\nr = isinstance(1, t3)\n",
    ],
)
def test_round_three_hangs_end_quickly(engine: ScriptEngine, source: str) -> None:
    import time

    started = time.perf_counter()
    result = engine.execute(source, entity={"a": 1})
    assert result.status is not ExecutionStatus.SUCCESS, result.to_dict()
    assert time.perf_counter() - started < 10 * engine.config.timeout


def test_compiling_does_not_count_against_the_run(engine: ScriptEngine) -> None:
    lines = [f"v{i} = {i} * 2 + entity['a']" for i in range(550)]
    result = engine.execute("\n".join(lines) + "\nentity['done'] = v549\n", entity={"a": 1})
    assert result.status is ExecutionStatus.SUCCESS and result.changes == {"done": 1099}


def test_powers_are_bounded_by_the_size_of_their_result(engine: ScriptEngine) -> None:
    assert engine.execute("x = 3 ** 4096\n").limit == "int_size"
    assert engine.execute("x = 2 ** 4096\n").status is ExecutionStatus.SUCCESS


def test_percent_format_refuses_extra_arguments_before_rendering_them(
    engine: ScriptEngine,
) -> None:
    import time

    source = "x = [0] * 100\ntry:\n    s = '%s' % ((x,) * 9900)\nexcept TypeError:\n"
    source += "    entity['refused'] = True\n"
    started = time.perf_counter()
    result = engine.execute(source, entity={"a": 1})
    assert result.changes == {"refused": True}
    assert time.perf_counter() - started < 5 * engine.config.timeout
    ok = engine.execute("entity['s'] = '%s-%d %%' % ('a', 3)\n", entity={"a": 1})
    assert ok.changes == {"s": "a-3 %"}
