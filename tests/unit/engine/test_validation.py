"""`validate()` diagnostics and how `execute()` reports invalid scripts."""

from __future__ import annotations

import pytest

from alloy_scripting.engine import Diagnostic, ExecutionPhase, ExecutionStatus, ScriptEngine

from .conftest import src


def errors(diagnostics: list[Diagnostic]) -> list[tuple[int, int, str]]:
    return [(d.line, d.col, d.message) for d in diagnostics if d.severity == "error"]


def test_valid_script_has_no_diagnostics(engine: ScriptEngine) -> None:
    assert engine.validate('x = entity.get("a", 1)\nlog(x)\n') == []


def test_syntax_error_has_line_and_column(engine: ScriptEngine) -> None:
    found = errors(engine.validate("x = 1\nif x == :\n    pass\n"))
    assert len(found) == 1
    line, col, message = found[0]
    assert line == 2 and col > 0 and message.startswith("SyntaxError")


def test_import_is_refused(engine: ScriptEngine) -> None:
    assert errors(engine.validate("x = 1\nimport os\n")) == [
        (2, 1, "imports are not allowed: everything a script may use is already a global")
    ]
    assert errors(engine.validate("from os import path\n"))[0][0] == 1


def test_undefined_name(engine: ScriptEngine) -> None:
    found = errors(engine.validate("x = 1\ny = x + undefined_thing\n"))
    assert found == [(2, 9, "undefined name 'undefined_thing'")]


def test_script_defined_names_are_known(engine: ScriptEngine) -> None:
    source = src(
        """
        def helper(a, *rest, key=None, **more):
            return [v for v in rest if v] or a
        total = sum(x for x in [1, 2])
        try:
            pass
        except ValueError as problem:
            log(problem)
        y = (z := 3) + total
        f = lambda w: w + y
        for i, (j, k) in enumerate([(1, 2)]):
            log(i, j, k, helper(1), f(2))
        """
    )
    assert engine.validate(source) == []


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("class A:\n    pass\n", "class definitions"),
        ("def f():\n    yield 1\n", "yield"),
        ("async def f():\n    pass\n", "async"),
        ("with entity as e:\n    pass\n", "'with'"),
        ("match entity:\n    case {'a': x}:\n        pass\n", "'match'"),
        ("try:\n    pass\nexcept* ValueError:\n    pass\n", "except*"),
        ("x = entity.__class__\n", '"__class__"'),
        ("_x = 1\n", '"_x"'),
        ("entity.id = 1\n", "attribute assignment"),
        ("x = b'abc'\n", "bytes"),
        ("@log\ndef f():\n    pass\n", "decorators"),
        ("def f():\n    global x\n", "'global'"),
        ("log(x=1, _y=2)\n", '"_y"'),
        (
            "try:\n    pass\nfinally:\n    for i in []:\n        pass\n    break\n",
            "'break' inside 'finally'",
        ),
    ],
)
def test_forbidden_constructs(engine: ScriptEngine, source: str, fragment: str) -> None:
    found = errors(engine.validate(source))
    assert found, f"{source!r} was accepted"
    assert any(fragment in message for _, _, message in found), found
    assert all(line >= 1 for line, _, _ in found)


def test_helper_outside_its_phase(engine: ScriptEngine) -> None:
    source = 'x = 1\nemit("deal.approved", {"x": x})\n'
    assert engine.validate(source, ExecutionPhase.AFTER) == []
    assert engine.validate(source) == []  # no phase: any helper is known
    assert errors(engine.validate(source, "before")) == [
        (2, 1, "emit() is not available in the 'before' phase")
    ]
    found = errors(engine.validate("ok = validate_email(entity['mail'])\n", "after"))
    assert found == [(1, 6, "validate_email() is not available in the 'after' phase")]


def test_shadowed_helper_is_not_a_phase_error(engine: ScriptEngine) -> None:
    assert engine.validate("def emit(a, b):\n    return a\nemit(1, 2)\n", "before") == []


def test_unknown_phase_is_a_value_error(engine: ScriptEngine) -> None:
    with pytest.raises(ValueError):
        engine.validate("x = 1\n", "nope")


def test_execute_reports_syntax_and_validation_errors(engine: ScriptEngine) -> None:
    result = engine.execute("x = (\n", entity={"a": 1})
    assert result.status is ExecutionStatus.ERROR
    assert (
        result.error is not None and result.error.type == "SyntaxError" and result.error.line == 1
    )
    assert result.entity == {"a": 1}
    result = engine.execute("x = 1\nimport os\n")
    assert (
        result.error is not None
        and result.error.type == "ValidationError"
        and result.error.line == 2
    )


def test_oversized_and_deep_sources(engine: ScriptEngine) -> None:
    assert errors(engine.validate("x = 1\n" * 100_000))
    deep = "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
    assert errors(engine.validate(deep))
    long_expr = "x = " + "+".join(["1"] * 30000) + "\n"
    assert isinstance(engine.validate(long_expr), list)


def test_diagnostic_to_dict(engine: ScriptEngine) -> None:
    (diagnostic,) = engine.validate("import os\n")
    assert diagnostic.to_dict() == {
        "severity": "error",
        "line": 1,
        "col": 1,
        "message": "imports are not allowed: everything a script may use is already a global",
    }
