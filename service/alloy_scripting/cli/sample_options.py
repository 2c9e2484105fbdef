"""The options of a local script run, declared once: `script run` and `script debug` take the
same file, phase, event, entity, before and params."""

from __future__ import annotations

from typing import Annotated

import typer

from alloy_scripting.model.enums import EventType, ExecutionPhase

PHASES = ", ".join(phase.value for phase in ExecutionPhase)
EVENTS = ", ".join(event.value for event in EventType)

ScriptFile = Annotated[str, typer.Argument(help="Script file, or - for standard input.")]
RunPhase = Annotated[
    str | None,
    typer.Option("--phase", help=f"Phase ({PHASES}); default manual or the event's."),
]
RunEvent = Annotated[str | None, typer.Option("--event", help=f"Event ({EVENTS}).")]
EntityJson = Annotated[str | None, typer.Option("--entity", help="The entity data, a JSON object.")]
BeforeJson = Annotated[
    str | None, typer.Option("--before", help="The entity before the change, a JSON object.")
]
ParamsJson = Annotated[str | None, typer.Option("--params", help="Run parameters, a JSON object.")]
#: Run in a forked, watched child (`engine.isolation`); off only for tests.
Isolate = Annotated[bool, typer.Option("--isolate/--no-isolate", hidden=True)]
