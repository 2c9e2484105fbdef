"""`alloy-scripting script debug FILE`: run a script locally as a debug run and print the
source of each executed step with what it did beside it (colour on a terminal), or the
whole report as JSON (`--json`). No side effects: emits and HTTP calls are intents, HTTP
is answered from `--http-fixtures` (or refused). Like `script run`, the run happens in a
forked, watched child (`engine.isolation`)."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import typer

from alloy_scripting.cli.sample_options import (
    BeforeJson,
    EntityJson,
    Isolate,
    ParamsJson,
    RunEvent,
    RunPhase,
    ScriptFile,
)
from alloy_scripting.model.enums import EventType, ExecutionPhase

#: Source text shown per step, and names / changes shown beside it.
SOURCE_WIDTH = 48
MAX_SHOWN = 6


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _json(option: str, value: str | None, kind: type) -> Any:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError) as error:
        raise _fail(f"{option} is not valid JSON: {error}") from None
    if not isinstance(parsed, kind):
        raise _fail(f"{option} must be a JSON {'object' if kind is dict else 'array'}")
    return parsed


def script_debug(
    file: ScriptFile,
    phase: RunPhase = None,
    event: RunEvent = None,
    entity: EntityJson = None,
    before: BeforeJson = None,
    params: ParamsJson = None,
    http_fixtures: str | None = typer.Option(
        None,
        "--http-fixtures",
        help='Answers to HTTP calls, a JSON array of {"method", "url", "status", "body"}.',
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    color: bool | None = typer.Option(
        None, "--color/--no-color", help="Colour (default: when standard output is a terminal)."
    ),
    isolate: Isolate = True,
) -> None:
    """Debug a script locally: the trace of each executed line, no side effects.

    Exit code 0 whenever a report was produced (whatever the result), 2 for usage errors."""
    from pydantic import ValidationError

    from alloy_scripting.model.debug import DebugSample

    try:
        resolved_phase = None if phase is None else ExecutionPhase(phase)
        resolved_event = None if event is None else EventType(event)
    except ValueError as error:
        raise _fail(str(error)) from None
    try:
        sample = DebugSample(
            event=resolved_event,
            entity=_json("--entity", entity, dict),
            entity_before=_json("--before", before, dict),
            params=_json("--params", params, dict) or {},
            http_fixtures=_json("--http-fixtures", http_fixtures, list) or [],
        )
    except ValidationError as error:
        raise _fail(str(error).splitlines()[0] + ": " + str(error.errors()[0]["msg"])) from None
    source = _read(file)
    name = "stdin" if file == "-" else os.path.basename(file)
    report = _debug(source, sample, resolved_phase, name, isolate)
    if as_json:
        typer.echo(json.dumps(report))
        return
    styled = sys.stdout.isatty() if color is None else color
    typer.echo(render(source, report, styled), color=styled)


def _read(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise _fail(f"cannot read {path}: {error.__class__.__name__}") from None


def _debug(
    source: str, sample: Any, phase: ExecutionPhase | None, name: str, isolate: bool
) -> dict[str, Any]:
    from alloy_scripting.engine import create_default_engine
    from alloy_scripting.engine.isolation import can_isolate, run_isolated
    from alloy_scripting.engine.tracer import MAX_SECONDS
    from alloy_scripting.runner.debugger import debug_run

    logging.getLogger("alloy").addHandler(logging.NullHandler())
    engine = create_default_engine()

    def task() -> dict[str, Any]:
        return debug_run(engine, source, sample, phase=phase, script_name=name).to_dict()

    if not isolate or not can_isolate():
        return task()
    limit = max(2.0, 20 * engine.config.timeout) + MAX_SECONDS
    outcome = run_isolated(task, hard_timeout=limit)
    if outcome.payload is not None:
        return outcome.payload
    message = {
        "timeout": "the run exceeded the hard time limit and was stopped",
        "memory": "the run exceeded the memory limit and was stopped",
    }.get(outcome.failure or "", "the run stopped unexpectedly")
    return {
        "result": {"status": "error", "error": {"type": "LimitExceeded", "message": message}},
        "trace": {"steps": [], "executed": 0, "truncated": None},
        "intents": [],
    }


# -- text rendering --------------------------------------------------------------------------


def render(source: str, report: dict[str, Any], styled: bool) -> str:
    """One row per executed step: line number, source, then what the step did."""

    def paint(text: str, **style: Any) -> str:
        return typer.style(text, **style) if styled else text

    lines = source.splitlines()
    out: list[str] = []
    entity_before: dict[str, str] = {}
    removed_before: list[str] = []
    for step in report["trace"]["steps"]:
        number = step["line"]
        text = lines[number - 1] if 0 < number <= len(lines) else ""
        if len(text) > SOURCE_WIDTH:
            text = text[: SOURCE_WIDTH - 1] + "…"
        notes: list[str] = []
        names = list(step["names"].items())
        notes += [paint(f"{k} = {v}", fg="cyan") for k, v in names[:MAX_SHOWN]]
        if len(names) > MAX_SHOWN:
            notes.append(f"+{len(names) - MAX_SHOWN} more")
        changes: dict[str, str] = step["changes"]
        notes += [
            paint(f"entity[{k!r}] = {v}", fg="yellow")
            for k, v in changes.items()
            if entity_before.get(k) != v
        ][:MAX_SHOWN]
        notes += [
            paint(f"del entity[{k!r}]", fg="yellow")
            for k in step["removed"]
            if k not in removed_before
        ]
        entity_before, removed_before = changes, step["removed"]
        notes += [paint(f"log {entry}", fg="green") for entry in step["logs"]]
        row = f"{paint(f'{number:>4}', dim=True)} │ {text.ljust(SOURCE_WIDTH)}"
        ops = step["operations"]
        tail = "  " + paint(f"[ops {ops}]", dim=True)
        out.append((row + ("  " + " · ".join(notes) if notes else "") + tail).rstrip())
    trace = report["trace"]
    if trace.get("truncated"):
        shown = len(trace["steps"])
        out.append(
            paint(
                f"… trace truncated ({trace['truncated']}): {shown} of "
                f"{trace['executed']} executed lines shown",
                fg="yellow",
            )
        )
    out.append(_result(report, paint))
    return "\n".join(out)


def _result(report: dict[str, Any], paint: Any) -> str:
    result = report["result"]
    status = result.get("status", "error")
    colour = "green" if status == "success" else "yellow" if status == "aborted" else "red"
    parts = [paint(f"status: {status}", fg=colour, bold=True)]
    if result.get("reason"):
        parts.append(f"reason: {result['reason']}")
    error = result.get("error")
    if error:
        where = f" (line {error['line']})" if error.get("line") else ""
        parts.append(paint(f"error: {error['type']}: {error['message']}{where}", fg="red"))
    if result.get("changes"):
        parts.append(paint(f"changes: {json.dumps(result['changes'])}", fg="yellow"))
    if result.get("removed"):
        parts.append(f"removed: {', '.join(result['removed'])}")
    for intent in report.get("intents", []):
        detail = {k: v for k, v in intent.items() if k != "kind"}
        parts.append(f"intent {intent['kind']} (not performed): {json.dumps(detail)}")
    return "\n".join(parts)
