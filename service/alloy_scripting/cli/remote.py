"""`alloy-scripting scripts ...`: remote commands against the management REST API.

Mounted by the main CLI with ``app.add_typer(scripts_app, name="scripts")``. Every command
takes ``--url`` (``ALLOY_API_URL``), ``--api-key`` (``ALLOY_API_KEY``), ``--tenant``
(``ALLOY_TENANT``) and ``--json`` (print the API's JSON instead of text). A script is named
by its id or by its name. Exit codes: 0 done, 1 the API refused (the problem is printed on
stderr), 2 usage error or the API cannot be reached.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from pydantic import BaseModel

from alloy_scripting.cli.options import AsJson, Connection, connected, grouped, keyword_option
from alloy_scripting.client.rest import ApiError, ManagementClient
from alloy_scripting.model.enums import EventType

scripts_app = typer.Typer(
    help="Manage scripts through the REST API (--url, --api-key, --tenant or ALLOY_API_URL, "
    "ALLOY_API_KEY, ALLOY_TENANT).",
    no_args_is_help=True,
)

Ref = Annotated[str, typer.Argument(help="Script id or name.")]
SourceFile = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="Script source file ('-' reads stdin).", allow_dash=True),
]
EventOpt = Annotated[
    str | None,
    typer.Option("--event", help="Event trigger ENTITY_TYPE:EVENT, e.g. deal:before_create."),
]
CronOpt = Annotated[str | None, typer.Option("--cron", help='Cron trigger, e.g. "*/5 * * * *".')]
TimezoneOpt = Annotated[str, typer.Option("--timezone", help="Time zone of --cron.")]
ManualOpt = Annotated[
    bool, typer.Option("--manual", help="Manual trigger (the default on create).")
]
ApiOpt = Annotated[
    str | None,
    typer.Option("--api", help='API endpoint trigger "METHOD path", e.g. "POST deals/score".'),
]
FixturesOpt = Annotated[
    str | None,
    typer.Option("--fixtures", help="Test cases, a JSON array (or @file); see `scripts test`."),
]
PriorityOpt = Annotated[
    int | None, typer.Option("--priority", help="Order among scripts on one trigger.")
]
OnErrorOpt = Annotated[
    str | None, typer.Option("--on-error", help="fail (default) or continue (before-hook chains).")
]
DescriptionOpt = Annotated[str | None, typer.Option("--description", help="Free text.")]
ActivateOpt = Annotated[bool, typer.Option("--activate", help="Activate it as well.")]


# -- plumbing -----------------------------------------------------------------------------


@contextmanager
def _api(conn: Connection) -> Iterator[ManagementClient]:
    try:
        with ManagementClient(
            conn.url, api_key=conn.api_key, tenant=conn.tenant, user=conn.user
        ) as client:
            yield client
    except ApiError as exc:
        _print_problem(exc)
        raise typer.Exit(1) from None
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach the API at {conn.url}: {exc}", err=True)
        raise typer.Exit(2) from None


def _print_problem(exc: ApiError) -> None:
    typer.echo(f"error: {exc.describe()}", err=True)
    for diagnostic in exc.problem.get("diagnostics") or []:
        where = f"{diagnostic.get('line') or '?'}:{diagnostic.get('col') or '?'}"
        typer.echo(f"  {where} {diagnostic.get('severity')}: {diagnostic.get('message')}", err=True)
    for error in exc.problem.get("errors") or []:
        loc = ".".join(str(p) for p in error.get("loc", []))
        typer.echo(f"  {loc}: {error.get('msg')}", err=True)
    for case in exc.problem.get("failing") or []:
        differences = "; ".join(case.get("differences") or [])
        typer.echo(f"  FAIL {case.get('name')}: {differences}", err=True)


def _emit_json(value: BaseModel | dict[str, Any] | list[Any]) -> None:
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _usage(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _read_source(path: Path) -> str:
    try:
        return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _usage(f"cannot read {path}: {exc.strerror or exc}") from None


def _json_arg(name: str, text: str) -> Any:
    if text.startswith("@"):
        text = _read_source(Path(text[1:]))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _usage(f"{name} is not valid JSON: {exc}") from None


def _trigger(
    event: str | None, cron: str | None, timezone: str, manual: bool, api: str | None
) -> dict[str, Any] | None:
    given = [
        flag
        for flag, on in (("--event", event), ("--cron", cron), ("--manual", manual), ("--api", api))
        if on
    ]
    if len(given) > 1:
        raise _usage(f"choose one trigger, not {' and '.join(given)}")
    if event:
        entity_type, sep, name = event.partition(":")
        if not sep or not entity_type or name not in {e.value for e in EventType}:
            events = ", ".join(e.value for e in EventType)
            raise _usage(f"--event takes ENTITY_TYPE:EVENT with EVENT one of {events}")
        return {"type": "event", "entity_type": entity_type, "event": name}
    if cron:
        return {"type": "cron", "expression": cron, "timezone": timezone}
    if api:
        method, _, path = api.strip().partition(" ")
        if not path.strip():
            return {"type": "api", "name": api}  # the older name-only form
        return {"type": "api", "method": method.upper(), "path": path.strip()}
    if manual:
        return {"type": "manual"}
    return None


def _fixtures(text: str | None) -> list[Any] | None:
    if text is None:
        return None
    parsed = _json_arg("--fixtures", text)
    if not isinstance(parsed, list):
        raise _usage("--fixtures must be a JSON array")
    return parsed


_TRIGGER_OPTIONS = [
    keyword_option("event", EventOpt, None),
    keyword_option("cron", CronOpt, None),
    keyword_option("timezone", TimezoneOpt, "UTC"),
    keyword_option("manual", ManualOpt, False),
    keyword_option("api", ApiOpt, None),
]
#: The trigger options (`--event`, `--cron` and `--timezone`, `--manual`, `--api`), given to
#: a command as `trigger`: the trigger they describe, or None.
trigger_options = grouped("trigger", _TRIGGER_OPTIONS, _trigger)


def _describe_trigger(trigger: Any) -> str:
    kind = trigger.type
    if kind == "event":
        return f"event {trigger.entity_type}:{trigger.event.value}"
    if kind == "cron":
        return f"cron {trigger.expression!r} {trigger.timezone}"
    if kind == "api":
        return (
            f"api {trigger.method} /api/{trigger.path}" if trigger.path else f"api {trigger.name}"
        )
    return "manual"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [
        [str(h) for h in headers],
        *[["" if c is None else str(c) for c in row] for row in rows],
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _summary(verb: str, script: Any) -> None:
    typer.echo(
        f"{verb} {script.name} (id {script.id}, version {script.version}, "
        f"revision {script.revision}, {script.status.value})"
    )


# -- commands -----------------------------------------------------------------------------


@scripts_app.command("list")
@connected()
def list_scripts(
    as_json: AsJson = False,
    status: Annotated[str | None, typer.Option(help="draft, active, disabled or archived.")] = None,
    trigger_type: Annotated[
        str | None, typer.Option("--trigger", help="event, cron, manual or api.")
    ] = None,
    entity_type: Annotated[str | None, typer.Option("--entity-type")] = None,
    event: Annotated[str | None, typer.Option(help="e.g. before_create.")] = None,
    prefix: Annotated[str | None, typer.Option("--prefix", help="Name prefix.")] = None,
    offset: int = 0,
    limit: Annotated[int, typer.Option(help="At most 200.")] = 50,
    *,
    conn: Connection,
) -> None:
    """List scripts (sorted by name)."""
    with _api(conn) as api:
        page = api.list_scripts(
            offset=offset,
            limit=limit,
            status=status,
            trigger_type=trigger_type,
            entity_type=entity_type,
            event=event,
            name_prefix=prefix,
        )
    if as_json:
        _emit_json(page)
        return
    rows = [
        (
            s.id,
            s.name,
            s.status.value,
            _describe_trigger(s.trigger),
            s.version,
            s.priority,
            s.error_count,
        )
        for s in page.items
    ]
    _table(("ID", "NAME", "STATUS", "TRIGGER", "VERSION", "PRIORITY", "ERRORS"), rows)
    shown = f"{page.offset + 1}-{page.offset + len(page.items)}" if page.items else "none"
    typer.echo(f"({shown} of {page.total})")


@scripts_app.command("get")
@connected()
def get_script(
    ref: Ref,
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """Show a script and its source."""
    with _api(conn) as api:
        script = api.resolve(ref)
    if as_json:
        _emit_json(script)
        return
    fields = {
        "id": script.id,
        "name": script.name,
        "tenant": script.tenant_id or "(default)",
        "status": script.status.value,
        "trigger": _describe_trigger(script.trigger),
        "priority": script.priority,
        "on_error": script.on_error.value,
        "version": script.version,
        "revision": script.revision,
        "errors": script.error_count,
        "last_error": script.last_error.message if script.last_error else None,
        "disabled_reason": script.disabled_reason,
        "next_run_at": script.next_run_at.isoformat() if script.next_run_at else None,
        "updated": f"{script.updated_at.isoformat()} by {script.updated_by or '-'}",
        "description": script.description or None,
    }
    for key, value in fields.items():
        if value is not None:
            typer.echo(f"{key + ':':<17}{value}")
    typer.echo("--- source ---")
    typer.echo(script.source.rstrip("\n"))


@scripts_app.command("create")
@connected(writes=True)
@trigger_options
def create_script(
    name: Annotated[str, typer.Argument(help="Unique name (letters, digits, _ . -).")],
    file: SourceFile = None,
    description: DescriptionOpt = None,
    priority: PriorityOpt = None,
    on_error: OnErrorOpt = None,
    fixtures: FixturesOpt = None,
    activate: ActivateOpt = False,
    as_json: AsJson = False,
    *,
    trigger: dict[str, Any] | None,
    conn: Connection,
) -> None:
    """Create a script from a file; the engine validates it first (and, with --activate,
    its fixtures must pass)."""
    if file is None:
        raise _usage("--file is required")
    source = _read_source(file)
    trigger = trigger or {"type": "manual"}
    with _api(conn) as api:
        script = api.create_script(
            name,
            source,
            trigger,
            description=description or "",
            status="active" if activate else "draft",
            priority=priority or 0,
            on_error=on_error or "fail",
            fixtures=_fixtures(fixtures) or [],
        )
    if as_json:
        _emit_json(script)
    else:
        _summary("created", script)


@scripts_app.command("update")
@connected(writes=True)
@trigger_options
def update_script(
    ref: Ref,
    file: SourceFile = None,
    new_name: Annotated[str | None, typer.Option("--name", help="Rename.")] = None,
    description: DescriptionOpt = None,
    priority: PriorityOpt = None,
    on_error: OnErrorOpt = None,
    fixtures: FixturesOpt = None,
    activate: ActivateOpt = False,
    as_json: AsJson = False,
    *,
    trigger: dict[str, Any] | None,
    conn: Connection,
) -> None:
    """Change a script; refused if it changed since it was read (optimistic concurrency),
    or if it is (or becomes) active and a fixture fails."""
    source = _read_source(file) if file is not None else None
    with _api(conn) as api:
        current = api.resolve(ref)
        script = api.update_script(
            current.id,
            revision=current.revision,
            name=new_name,
            source=source,
            trigger=trigger,
            description=description,
            priority=priority,
            on_error=on_error,
            fixtures=_fixtures(fixtures),
            status="active" if activate else None,
        )
    if as_json:
        _emit_json(script)
    else:
        _summary("updated", script)


@scripts_app.command("delete")
@connected()
def delete_script(
    ref: Ref,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """Delete a script and its versions."""
    with _api(conn) as api:
        script = api.resolve(ref)
        if not yes and not typer.confirm(f"Delete script {script.name} ({script.id})?"):
            raise typer.Exit(1)
        api.delete_script(script.id, revision=script.revision)
    if as_json:
        _emit_json({"deleted": script.id, "name": script.name})
    else:
        typer.echo(f"deleted {script.name} (id {script.id})")


@scripts_app.command("run")
@connected(writes=True)
def run_script(
    ref: Ref,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="KEY=VALUE (VALUE parsed as JSON if it can be)."),
    ] = None,
    params: Annotated[
        str | None, typer.Option("--params", help="Params as a JSON object (or @file).")
    ] = None,
    entity: Annotated[
        str | None, typer.Option("--entity", help="Sample entity as JSON (or @file).")
    ] = None,
    entity_type: Annotated[str | None, typer.Option("--entity-type")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="No effects, no log, no failure count.")
    ] = False,
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """Run a script once (manual phase) and print its result."""
    values: dict[str, Any] = {}
    if params is not None:
        parsed = _json_arg("--params", params)
        if not isinstance(parsed, dict):
            raise _usage("--params must be a JSON object")
        values.update(parsed)
    for item in param or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise _usage(f"--param takes KEY=VALUE, not {item!r}")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    sample = _json_arg("--entity", entity) if entity is not None else None
    if sample is not None and not isinstance(sample, dict):
        raise _usage("--entity must be a JSON object")
    with _api(conn) as api:
        kwargs: dict[str, Any] = {
            "params": values,
            "entity": sample,
            "entity_type": entity_type,
            "dry_run": dry_run,
        }
        try:
            outcome = api.run_by_name(ref, **kwargs)
        except ApiError as exc:
            if exc.status != 404:
                raise
            outcome = api.run(ref, **kwargs)
    if as_json:
        _emit_json(outcome)
        return
    result = outcome.result
    typer.echo(f"status: {result.get('status')}")
    for key in ("reason", "error", "changes", "removed", "result", "logs"):
        if result.get(key):
            typer.echo(f"{key}: {json.dumps(result[key], ensure_ascii=False, default=str)}")
    for effect in outcome.effects:
        typer.echo(f"effect: {effect.event_type} {json.dumps(effect.payload, ensure_ascii=False)}")


@scripts_app.command("test")
@connected()
def test_script(
    ref: Ref,
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """Run a script's fixtures (no side effects) and report each case; exit code 1 when one
    fails, so that it can gate a pipeline."""
    with _api(conn) as api:
        report = api.test(api.resolve(ref).id)
    if as_json:
        _emit_json(report)
    else:
        for case in report.cases:
            verdict = "PASS" if case.passed else "FAIL"
            typer.echo(f"{verdict} {case.name} ({case.outcome})")
            for difference in case.differences:
                typer.echo(f"     {difference}")
        failed = sum(not case.passed for case in report.cases)
        typer.echo(f"{len(report.cases) - failed} passed, {failed} failed")
    if not report.passed:
        raise typer.Exit(1)


@scripts_app.command("executions")
@connected()
def executions(
    ref: Ref,
    offset: int = 0,
    limit: Annotated[int, typer.Option(help="At most 200.")] = 20,
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """The script's execution log, newest first."""
    with _api(conn) as api:
        script = api.resolve(ref)
        page = api.executions(script.id, offset=offset, limit=limit)
    if as_json:
        _emit_json(page)
        return
    rows = [
        (
            r.started_at.isoformat(timespec="seconds"),
            r.status.value,
            r.phase.value,
            r.script_version,
            f"{r.duration_ms:.1f}ms",
            r.reason or (json.dumps(r.error, default=str) if r.error else ""),
        )
        for r in page.items
    ]
    _table(("STARTED", "STATUS", "PHASE", "VERSION", "DURATION", "DETAIL"), rows)
    typer.echo(f"({len(page.items)} of {page.total})")


def _lifecycle(
    verb: str,
    ref: str,
    conn: Connection,
    as_json: bool,
    reason: str | None = None,
) -> None:
    with _api(conn) as api:
        script = api.resolve(ref)
        if verb == "activated":
            script = api.activate(script.id)
        elif verb == "disabled":
            script = api.disable(script.id, reason)
        else:
            script = api.reset(script.id)
    if as_json:
        _emit_json(script)
    else:
        _summary(verb, script)


@scripts_app.command("activate")
@connected(writes=True)
def activate(
    ref: Ref,
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """Activate a script."""
    _lifecycle("activated", ref, conn, as_json)


@scripts_app.command("disable")
@connected(writes=True)
def disable(
    ref: Ref,
    reason: Annotated[str | None, typer.Option(help="Why (shown as disabled_reason).")] = None,
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """Disable a script."""
    _lifecycle("disabled", ref, conn, as_json, reason)


@scripts_app.command("reset")
@connected(writes=True)
def reset(
    ref: Ref,
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """Re-enable a script disabled after failures (clears the failure count)."""
    _lifecycle("reset", ref, conn, as_json)


@scripts_app.command("versions")
@connected()
def versions(
    ref: Ref,
    version: Annotated[int | None, typer.Argument(help="Show this version's source.")] = None,
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """List a script's versions, or show one."""
    with _api(conn) as api:
        script = api.resolve(ref)
        if version is not None:
            one = api.get_version(script.id, version)
            if as_json:
                _emit_json(one)
            else:
                when = one.created_at.isoformat(timespec="seconds")
                trigger = _describe_trigger(one.trigger)
                typer.echo(f"version {one.version} ({trigger}), {when} by {one.created_by or '-'}")
                typer.echo("--- source ---")
                typer.echo(one.source.rstrip("\n"))
            return
        listed = api.versions(script.id)
    if as_json:
        _emit_json(listed)
        return
    rows = [
        (
            v.version,
            v.created_at.isoformat(timespec="seconds"),
            v.created_by or "-",
            _describe_trigger(v.trigger),
            f"rollback to {v.rolled_back_from}" if v.rolled_back_from else "",
            "current" if v.version == script.version else "",
        )
        for v in listed.items
    ]
    _table(("VERSION", "CREATED", "BY", "TRIGGER", "NOTE", ""), rows)


@scripts_app.command("rollback")
@connected(writes=True)
def rollback(
    ref: Ref,
    version: Annotated[int, typer.Argument(help="The version to make current again.")],
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """Make an earlier version current again (as a new version)."""
    with _api(conn) as api:
        script = api.resolve(ref)
        script = api.rollback(script.id, version, revision=script.revision)
    if as_json:
        _emit_json(script)
    else:
        _summary(f"rolled back to version {version}:", script)
