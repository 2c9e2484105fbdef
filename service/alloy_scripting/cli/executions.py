"""`alloy-scripting executions replay ID [--version N | --file F]`: a recorded run's input
run again as a debug run (no side effects) through the REST API, with the connection
options and exit codes of `scripts`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from alloy_scripting.cli.options import AsJson, Connection, connected
from alloy_scripting.cli.remote import _api, _emit_json, _read_source, _usage

executions_app = typer.Typer(
    help="Execution records through the REST API: replay one.", no_args_is_help=True
)


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@executions_app.command("replay")
@connected()
def replay(
    execution_id: Annotated[str, typer.Argument(help="The execution record's id.")],
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="Replay this stored version.")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="Replay an unsaved source ('-' reads stdin).", allow_dash=True
        ),
    ] = None,
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """Re-run a record's input with the current version (or --version, or --file) as a
    debug run: nothing is emitted, called, written or logged. Prints the new result and
    what differs from the recorded run."""
    if version is not None and file is not None:
        raise _usage("give --version or --file, not both")
    source = _read_source(file) if file is not None else None
    with _api(conn) as api:
        out = api.replay(execution_id, version=version, source=source)
    if as_json:
        _emit_json(out)
        return
    ran = "an unsaved source" if out.version is None else f"version {out.version}"
    typer.echo(f"replayed {out.execution_id} (recorded with version {out.recorded_version}) "
               f"with {ran}: {out.result.get('status')}")  # fmt: skip
    diff = out.diff
    if diff.same:
        typer.echo("no difference")
    for name in ("outcome", "status", "reason"):
        changed = getattr(diff, name)
        if changed is not None:
            typer.echo(f"{name}: {_text(changed.before)} -> {_text(changed.after)}")
    for key, change in diff.changes.items():
        if change.kind == "added":
            typer.echo(f"changes.{key}: added {_text(change.after)}")
        elif change.kind == "removed":
            typer.echo(f"changes.{key}: no longer set (was {_text(change.before)})")
        else:
            typer.echo(f"changes.{key}: {_text(change.before)} -> {_text(change.after)}")
    for field in diff.removed.added:
        typer.echo(f"removed: {field} (now removed)")
    for field in diff.removed.dropped:
        typer.echo(f"removed: {field} (no longer removed)")
    for event in diff.emitted.added:
        typer.echo(f"emitted +{event.get('event_type')} {_text(event.get('payload'))}")
    for event in diff.emitted.removed:
        typer.echo(f"emitted -{event.get('event_type')} {_text(event.get('payload'))}")
    for name in diff.incomparable:
        typer.echo(f"{name}: not comparable (the record keeps it truncated)")
