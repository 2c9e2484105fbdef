"""`alloy-scripting script check|run FILE`: a script file checked or run locally, in the
sandbox (no services needed)."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from alloy_scripting.cli.debug import script_debug
from alloy_scripting.cli.sample_options import (
    PHASES,
    BeforeJson,
    EntityJson,
    Isolate,
    ParamsJson,
    RunEvent,
    RunPhase,
    ScriptFile,
)
from alloy_scripting.model.enums import EventType, ExecutionPhase

script_app = typer.Typer(
    help="Check and run a script file locally (no services needed).", no_args_is_help=True
)


Choice = TypeVar("Choice", bound=StrEnum)


def _usage_error(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _read_source(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        _usage_error(f"no such file: {path}")
    except IsADirectoryError:
        _usage_error(f"not a file: {path}")
    except (OSError, UnicodeDecodeError) as error:
        _usage_error(f"cannot read {path}: {error.__class__.__name__}")


def _member(kind: type[Choice], what: str, value: str | None) -> Choice | None:
    """``value`` as a member of ``kind`` (an enum of the phases or events), else a usage error."""
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        expected = ", ".join(member.value for member in kind)
        _usage_error(f"unknown {what} {value!r} (expected one of: {expected})")


def _phase(value: str | None) -> ExecutionPhase | None:
    return _member(ExecutionPhase, "phase", value)


def _event(value: str | None) -> EventType | None:
    return _member(EventType, "event", value)


def _json_object(option: str, value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError as error:
        _usage_error(f"{option} is not valid JSON: {error}")
    except RecursionError:
        _usage_error(f"{option} is nested too deeply")
    if not isinstance(parsed, dict):
        _usage_error(f"{option} must be a JSON object")
    return parsed


script_app.command("debug")(script_debug)


@script_app.command("check")
def script_check(
    file: ScriptFile,
    phase: Annotated[
        str | None, typer.Option("--phase", help=f"Also check phase helpers ({PHASES}).")
    ] = None,
    as_json: bool = typer.Option(False, "--json", help='Print {"ok", "diagnostics"} as JSON.'),
) -> None:
    """Validate a script: syntax, forbidden constructs, undefined names, phase helpers.

    Exit code 1 when there are errors, 0 otherwise, 2 for usage errors."""
    from alloy_scripting.engine import create_default_engine

    resolved = _phase(phase)
    source = _read_source(file)
    diagnostics = create_default_engine().validate(source, resolved)
    ok = not any(item.severity == "error" for item in diagnostics)
    if as_json:
        typer.echo(json.dumps({"ok": ok, "diagnostics": [item.to_dict() for item in diagnostics]}))
    else:
        name = "<stdin>" if file == "-" else file
        for item in diagnostics:
            typer.echo(f"{name}:{item.line}:{item.col}: {item.severity}: {item.message}")
        typer.echo(
            "OK" if ok else f"{sum(item.severity == 'error' for item in diagnostics)} error(s)"
        )
    if not ok:
        raise typer.Exit(code=1)


@script_app.command("run")
def script_run(
    file: ScriptFile,
    phase: RunPhase = None,
    event: RunEvent = None,
    entity: EntityJson = None,
    before: BeforeJson = None,
    params: ParamsJson = None,
    as_json: bool = typer.Option(False, "--json", help="Print the ExecutionResult as JSON."),
    isolate: Isolate = True,
) -> None:
    """Run a script locally in the sandbox and print its result.

    Exit code 0 whenever a result was produced (whatever its status), 2 for usage errors."""
    resolved_phase = _phase(phase)
    resolved_event = _event(event)
    entity_data = _json_object("--entity", entity)
    before_data = _json_object("--before", before)
    params_data = _json_object("--params", params)
    source = _read_source(file)
    script_name = "stdin" if file == "-" else os.path.basename(file)
    result = _run_script(
        source,
        resolved_phase,
        resolved_event,
        entity_data,
        before_data,
        params_data,
        script_name,
        isolate,
    )
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(_summary(result))


def _run_script(
    source: str,
    phase: ExecutionPhase | None,
    event: EventType | None,
    entity: dict[str, Any] | None,
    before: dict[str, Any] | None,
    params: dict[str, Any] | None,
    script_name: str,
    isolate: bool,
) -> dict[str, Any]:
    """Run in a forked, watched child (see `engine.isolation`); always returns a result dict."""
    import logging

    from alloy_scripting.engine import EngineConfig, create_default_engine
    from alloy_scripting.engine.isolation import can_isolate, run_isolated

    logging.getLogger("alloy").addHandler(logging.NullHandler())
    engine = create_default_engine()
    effective = phase or (event.phase if event is not None else ExecutionPhase.MANUAL)
    ctx = {"script_name": script_name, "entity_id": (entity or {}).get("id")}

    def task() -> dict[str, Any]:
        result = engine.execute(
            source,
            phase=effective,
            entity=entity,
            event=event,
            entity_before=before,
            params=params,
            ctx=ctx,
            script_name=script_name,
        )
        return result.to_dict()

    if not isolate or not can_isolate():
        return task()
    config: EngineConfig = engine.config
    outcome = run_isolated(task, hard_timeout=max(2.0, 20 * config.timeout))
    if outcome.payload is not None:
        return outcome.payload
    failure = outcome.failure or "crash"
    status, limit, message = {
        "timeout": ("timeout", "timeout", "the run exceeded the hard time limit and was stopped"),
        "memory": ("limit_exceeded", "memory", "the run exceeded the memory limit and was stopped"),
    }.get(failure, ("error", None, "the run stopped unexpectedly"))
    return {
        "status": status,
        "changes": {},
        "removed": [],
        "entity": entity or {},
        "reason": None,
        "error": {
            "type": "LimitExceeded" if limit else "InternalError",
            "message": message,
            "line": None,
        },
        "limit": limit,
        "logs": [],
        "emitted": [],
        "operations": 0,
        "duration_ms": round(max(2.0, 20 * config.timeout) * 1000, 3),
        "phase": effective.value,
    }


def _summary(result: dict[str, Any]) -> str:
    lines = [f"status: {result['status']}"]
    if result.get("reason") is not None:
        lines.append(f"reason: {result['reason']}")
    if result.get("limit"):
        lines.append(f"limit: {result['limit']}")
    error = result.get("error")
    if error:
        where = f" (line {error['line']})" if error.get("line") else ""
        lines.append(f"error: {error['type']}: {error['message']}{where}")
    if result.get("changes"):
        lines.append(f"changes: {json.dumps(result['changes'])}")
    if result.get("removed"):
        lines.append(f"removed: {', '.join(result['removed'])}")
    for entry in result.get("logs", []):
        lines.append(f"[{entry['level']}] {entry['message']}")
    for item in result.get("emitted", []):
        lines.append(f"emit {item['event_type']}: {json.dumps(item['payload'])}")
    lines.append(f"operations: {result.get('operations', 0)}, {result.get('duration_ms', 0)} ms")
    return "\n".join(lines)
