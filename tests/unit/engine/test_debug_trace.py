"""Debug runs: a trace of each executed line, bounded whatever the script holds, and no
side effects (intents only)."""

from __future__ import annotations

from time import perf_counter
from typing import Any

import pytest

from alloy_scripting.bridge.respond import check_headers, check_status
from alloy_scripting.engine import ScriptEngine
from alloy_scripting.engine.preview import preview
from alloy_scripting.engine.trace_lines import LINE_HOOK
from alloy_scripting.engine.tracer import Tracer
from alloy_scripting.model.debug import DebugEffects, HttpFixture, Trace
from alloy_scripting.model.enums import ExecutionStatus
from alloy_scripting.model.result import ExecutionResult
from tests.unit.engine.conftest import src


def debug(engine: ScriptEngine, text: str, **kwargs: Any) -> tuple[ExecutionResult, Trace]:
    kwargs.setdefault("effects", DebugEffects())
    kwargs.setdefault("phase", "manual")
    return engine.debug(src(text), **kwargs)


def lines(trace: Trace) -> list[int]:
    return [step.line for step in trace.steps]


def test_function_calls_show_the_callee_then_the_assignment(engine: ScriptEngine) -> None:
    result, trace = debug(
        engine,
        """
        def double(x):
            y = x * 2
            return y
        z = double(21)
        """,
    )
    assert result.status is ExecutionStatus.SUCCESS
    assert [(step.line, step.names) for step in trace.steps] == [
        (1, {"double": "<function double>"}),
        (4, {"z": "42"}),
        (2, {"x": "21", "y": "42"}),
        (3, {}),
    ]


def test_while_and_break_and_entity_changes(engine: ScriptEngine) -> None:
    result, trace = debug(
        engine,
        """
        n = 0
        while n < 5:
            n += 1
            if n == 2:
                break
        entity["n"] = n
        del entity["gone"]
        """,
        entity={"gone": 1, "kept": [1, 2]},
    )
    assert result.status is ExecutionStatus.SUCCESS
    assert lines(trace) == [1, 2, 3, 4, 2, 3, 4, 5, 6, 7]
    assert trace.steps[2].names == {"n": "1"}
    assert trace.steps[-2].changes == {"n": "2"} and trace.steps[-2].removed == []
    assert trace.steps[-1].changes == {"n": "2"} and trace.steps[-1].removed == ["gone"]


def test_the_failing_line_is_the_last_step(engine: ScriptEngine) -> None:
    result, trace = debug(engine, 'x = 1\nabort("no")\ny = 2\n')
    assert result.status is ExecutionStatus.ABORTED and result.reason == "no"
    assert lines(trace) == [1, 2]


def test_huge_and_deep_values_render_bounded_and_fast(engine: ScriptEngine) -> None:
    started = perf_counter()
    result, trace = debug(
        engine,
        """
        s = "x" * 60000
        many = [s] * 9000
        table = {i: many for i in range(200)}
        deep = []
        for i in range(90):
            deep = [deep]
        big = 2 ** 4000
        """,
    )
    elapsed = perf_counter() - started
    assert result.status is ExecutionStatus.SUCCESS, result.error
    texts = [text for step in trace.steps for text in step.names.values()]
    assert texts and all(len(text) <= 80 for text in texts)
    assert any(text == "<int of 4001 bits>" for text in texts)
    assert elapsed < 5  # generous: the rendering work is bounded per name


def test_preview_never_calls_into_values() -> None:
    class Loud(dict[str, Any]):
        def items(self) -> Any:
            raise AssertionError("called")

        def __repr__(self) -> str:
            raise AssertionError("called")

    assert preview(Loud(a=1)) == "{'a': 1}"
    assert preview(object()) == "<object>"
    assert preview("\ud800") == "'\\ud800'"
    assert len(preview(list(range(10**5)))) == 80


def test_steps_and_time_are_bounded(engine: ScriptEngine) -> None:
    result, trace = debug(engine, "x = 0\nwhile True:\n    x += 1\n", max_steps=50)
    assert len(trace.steps) == 50 and trace.truncated == "steps"
    assert trace.executed > 50
    assert result.status in (ExecutionStatus.LIMIT_EXCEEDED, ExecutionStatus.TIMEOUT)


def test_scripts_cannot_reach_the_tracer(engine: ScriptEngine) -> None:
    for text in (f"{LINE_HOOK}(3)\n", "x = _line_\n"):
        result, _ = debug(engine, text)
        assert result.status is ExecutionStatus.ERROR
        assert result.error is not None and result.error.type in ("ValidationError", "SyntaxError")


def test_tracing_costs_ordinary_runs_nothing(engine: ScriptEngine) -> None:
    text = "total = 0\nfor i in range(10):\n    total += i\nentity['t'] = total\n"
    assert LINE_HOOK not in engine.compile(text).names
    result = engine.execute(text, entity={})
    assert result.changes == {"t": 45}
    traced, trace = debug(engine, text, entity={})
    assert traced.changes == result.changes and traced.operations == result.operations
    assert len(trace.steps) == 1 + 2 * 10 + 1 + 1  # the loop's line once more, then line 4


def test_effects_are_intents_in_a_debug_run(engine: ScriptEngine) -> None:
    effects = DebugEffects(
        http_fixtures=[HttpFixture(method="POST", url="https://x.example/a", body={"ok": 1})]
    )
    result, _ = debug(
        engine,
        """
        emit("a", {"n": 1})
        answer = http_post("https://x.example/a", {"q": 2})
        entity["ok"] = answer["body"]["ok"]
        """,
        effects=effects,
        phase="after",
    )
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert result.changes == {"ok": 1}
    assert [intent.to_dict() for intent in effects.intents] == [
        {"kind": "emit", "event_type": "a", "payload": {"n": 1}},
        {"kind": "http", "method": "POST", "url": "https://x.example/a", "body": {"q": 2}},
    ]
    # outside debug runs HTTP stays "not configured"
    live = engine.execute('http_get("https://x.example/a")\n', phase="after")
    assert live.error is not None and "not configured" in live.error.message


def test_respond_in_the_api_phase(engine: ScriptEngine) -> None:
    result = engine.execute('respond({"a": [1]}, 201, {"X-Id": "7"})\n', phase="api")
    assert result.response is not None
    assert (result.response.status, result.response.body, result.response.headers) == (
        201,
        {"a": [1]},
        {"X-Id": "7"},
    )
    assert result.to_dict()["response"]["status"] == 201
    result = engine.execute('respond({"a": log})\n', phase="api")
    assert result.status is ExecutionStatus.ERROR and result.response is None
    result = engine.execute("respond({})\n", phase="manual")
    assert (
        result.error is not None and "not available in the 'manual' phase" in result.error.message
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Set-Cookie": "a=1"},
        {"set-cookie": "a=1"},
        {"X-A": "a\r\nb"},
        {"X-A": "a\nb"},
        {"X-A": "a\x00"},
        {"X-A": "caf\u00e9"},
        {"X-A": "\u2028"},
        {"Bad Name": "x"},
        {"Connection": "close"},
        {"Content-Type": "text/html"},
        {"Access-Control-Allow-Origin": "*"},
        {"Strict-Transport-Security": "max-age=0"},
        {"X-A": "x" * 2000},
        {"X-A": 1},
        {f"X-{i}": "v" for i in range(40)},
        ["X-A"],
    ],
)
def test_bad_response_headers_are_refused(headers: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        check_headers(headers)


def test_response_statuses() -> None:
    assert check_status(201) == 201 and check_status(404) == 404
    for status in (100, 301, 302, 600, True, "200", 200.0):
        with pytest.raises(ValueError):
            check_status(status)
    assert check_headers({"X-Request-Id": "abc", "Cache-Control": "no-store"}) == {
        "X-Request-Id": "abc",
        "Cache-Control": "no-store",
    }


def test_the_tracers_own_time_is_bounded() -> None:
    tracer = Tracer(set(), max_seconds=0.0)

    def script_frame() -> None:
        tracer.line(1)
        tracer.line(2)

    script_frame()
    trace = tracer.finish()
    assert trace.truncated == "time"
    assert [step.line for step in trace.steps] == [1] and trace.executed == 2


def test_an_untraced_debug_run_still_records_intents(engine: ScriptEngine) -> None:
    effects = DebugEffects()
    result, trace = engine.debug(
        'emit("a", {"n": 1})\n', effects=effects, phase="after", trace=False
    )
    assert result.status is ExecutionStatus.SUCCESS and trace.steps == []
    assert [intent.kind for intent in effects.intents] == ["emit"]
