"""`alloy-scripting templates list|show|instantiate|publish|delete`: the template catalogue
through the REST API, with the connection options and exit codes of `scripts` (0 done, 1
refused by the API, 2 usage or unreachable)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from alloy_scripting.cli.options import AsJson, Connection, connected
from alloy_scripting.cli.remote import (
    _api,
    _describe_trigger,
    _emit_json,
    _json_arg,
    _read_source,
    _summary,
    _table,
    _usage,
    trigger_options,
)
from alloy_scripting.model.templates import Template

templates_app = typer.Typer(
    help="Ready-made scripts: list, show and instantiate templates (built-in and your "
    "tenant's), publish and delete your tenant's own, through the REST API.",
    no_args_is_help=True,
)
TemplateArg = Annotated[str, typer.Argument(help="Template id.")]


@templates_app.command("list")
@connected()
def list_templates(
    tag: Annotated[str | None, typer.Option(help="Only templates with this tag.")] = None,
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """The built-in templates and your tenant's."""
    with _api(conn) as api:
        found = api.list_templates(tag=tag)
    if as_json:
        _emit_json(found)
        return
    rows = [
        [
            item.id,
            "built-in" if item.builtin else item.owner,
            item.version,
            _describe_trigger(item.trigger),
            item.name,
        ]
        for item in found.items
    ]
    _table(["ID", "OWNER", "VERSION", "TRIGGER", "NAME"], rows)


def _parameter_lines(template: Template) -> list[str]:
    schema = template.params_schema
    required = set(schema.get("required", []))
    lines = []
    for name, spec in (schema.get("properties") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        kind = spec.get("type", "enum" if "enum" in spec else "any")
        parts = [f"  {name} ({kind}{', required' if name in required else ''})"]
        if "default" in spec:
            parts.append(f"default {json.dumps(spec['default'], ensure_ascii=False)}")
        if spec.get("description"):
            parts.append(str(spec["description"]))
        lines.append(" - ".join(parts))
    return lines


@templates_app.command("show")
@connected()
def show_template(template_id: TemplateArg, as_json: AsJson = False, *, conn: Connection) -> None:
    """A template: description, trigger, parameters (type, default), fixtures and source."""
    with _api(conn) as api:
        template = api.get_template(template_id)
    if as_json:
        _emit_json(template)
        return
    owner = "built-in" if template.builtin else f"tenant {template.owner}"
    typer.echo(f"{template.id} v{template.version} ({owner}): {template.name}")
    if template.description:
        typer.echo(template.description)
    typer.echo(f"trigger: {_describe_trigger(template.trigger)}")
    typer.echo("parameters:")
    for line in _parameter_lines(template) or ["  (none)"]:
        typer.echo(line)
    typer.echo(f"fixtures: {', '.join(f.name for f in template.fixtures) or '(none)'}")
    typer.echo("source:")
    typer.echo(template.source.rstrip("\n"))


@templates_app.command("instantiate")
@connected(writes=True)
@trigger_options
def instantiate_template(
    template_id: TemplateArg,
    name: Annotated[str, typer.Argument(help="Name of the new (draft) script.")],
    params: Annotated[
        str | None,
        typer.Option("--params", help="Parameters, a JSON object (or @file)."),
    ] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    as_json: AsJson = False,
    *,
    trigger: dict[str, Any] | None,
    conn: Connection,
) -> None:
    """Create a draft script from a template (its trigger unless one is given)."""
    values = {} if params is None else _json_arg("--params", params)
    if not isinstance(values, dict):
        raise _usage("--params must be a JSON object")
    with _api(conn) as api:
        script = api.instantiate_template(
            template_id, name, params=values, trigger=trigger, description=description
        )
    if as_json:
        _emit_json(script)
        return
    _summary("created", script)
    typer.echo(f"from template {template_id}; `scripts test {script.name}` runs its fixtures")


@templates_app.command("publish")
@connected(writes=True)
def publish_template(
    file: Annotated[
        Path, typer.Argument(help="The template, YAML or JSON ('-' reads stdin).", allow_dash=True)
    ],
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """Publish a template of your tenant (id, name, source, params_schema, trigger,
    fixtures, ...); publishing an id again makes a new version."""
    try:
        body = yaml.safe_load(_read_source(file))
    except yaml.YAMLError as exc:
        raise _usage(f"{file} is neither YAML nor JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _usage(f"{file} must hold an object")
    with _api(conn) as api:
        template = api.publish_template(body)
    if as_json:
        _emit_json(template)
        return
    typer.echo(f"published {template.id} version {template.version} for tenant {template.owner}")


@templates_app.command("delete")
@connected(writes=True)
def delete_template(template_id: TemplateArg, *, conn: Connection) -> None:
    """Delete a template of your tenant (scripts made from it are kept)."""
    with _api(conn) as api:
        api.delete_template(template_id)
    typer.echo(f"deleted template {template_id}")
