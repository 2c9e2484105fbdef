"""`alloy-scripting scripts shadow start|status|stop`: shadow runs through the REST API.

Same connection options and exit codes as `alloy-scripting scripts`. ``--until`` takes an
ISO 8601 time with its offset or a duration from now (``30m``, ``12h``, ``7d``).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from alloy_scripting.api.shadow_schemas import ShadowOut
from alloy_scripting.cli.options import AsJson, Connection, connected
from alloy_scripting.cli.remote import Ref, _api, _emit_json, _read_source, _usage
from alloy_scripting.model.script import utc_now

shadow_app = typer.Typer(
    help="Run a candidate version beside an active script on live events and compare.",
    no_args_is_help=True,
)

_DURATION = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def until_of(text: str) -> str:
    """``--until`` as an ISO 8601 time (the API checks the range)."""
    match = _DURATION.match(text.strip())
    if match:
        amount, unit = match.groups()
        return (utc_now() + timedelta(**{_UNITS[unit]: int(amount)})).isoformat()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise _usage(f"--until {text!r}: give an ISO 8601 time or 30m / 12h / 7d") from None
    if when.tzinfo is None:
        raise _usage("--until needs a time zone offset (e.g. 2030-01-01T00:00:00+00:00)")
    return when.isoformat()


def _show(shadow: ShadowOut, as_json: bool, verb: str = "") -> None:
    if as_json:
        _emit_json(shadow)
        return
    state = "running" if shadow.running else "ended (until passed)"
    if verb:
        typer.echo(f"{verb} shadow {shadow.id} of script {shadow.script_id}")
    typer.echo(
        f"{state}; sample {shadow.sample:g}; until {shadow.until.isoformat(timespec='seconds')}"
    )
    s = shadow.summary
    typer.echo(
        f"runs {s.runs}: same {s.same}, different {s.different}, errors {s.errors}; "
        f"skipped {s.skipped}"
    )
    for example in s.examples:
        typer.echo(
            f"  {example.get('kind')} execution {example.get('execution_id')} "
            f"entity {example.get('entity_id')}: "
            f"active {json.dumps(example.get('active'), ensure_ascii=False, default=str)} "
            f"candidate {json.dumps(example.get('candidate'), ensure_ascii=False, default=str)}"
        )


@shadow_app.command("start")
@connected(writes=True)
def shadow_start(
    ref: Ref,
    file: Annotated[
        Path,
        typer.Option("--file", "-f", help="Candidate source ('-' reads stdin).", allow_dash=True),
    ],
    until: Annotated[str, typer.Option(help="ISO 8601 time, or 30m / 12h / 7d from now.")],
    sample: Annotated[float, typer.Option(help="Share of live events, 0..1.")] = 1.0,
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """Attach a candidate version to an active event script (replaces an earlier one)."""
    source = _read_source(file)
    when = until_of(until)
    with _api(conn) as api:
        shadow = api.start_shadow(api.resolve(ref).id, source, until=when, sample=sample)
    _show(shadow, as_json, "started")


@shadow_app.command("status")
@connected()
def shadow_status(ref: Ref, as_json: AsJson = False, *, conn: Connection) -> None:
    """The shadow run and its comparisons so far."""
    with _api(conn) as api:
        shadow = api.get_shadow(api.resolve(ref).id)
    _show(shadow, as_json)


@shadow_app.command("stop")
@connected(writes=True)
def shadow_stop(ref: Ref, as_json: AsJson = False, *, conn: Connection) -> None:
    """End the shadow run and print its final summary. Promote the candidate with
    `scripts update REF --file candidate.py` (its fixtures must pass)."""
    with _api(conn) as api:
        shadow = api.stop_shadow(api.resolve(ref).id)
    _show(shadow, as_json, "stopped")
