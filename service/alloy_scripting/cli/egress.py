"""`alloy-scripting egress get|set`: the tenant's egress allow-list through the REST API.

Same connection options and exit codes as `alloy-scripting scripts` (``--url``,
``--api-key``, ``--tenant``, ``--json``; 0 done, 1 refused by the API, 2 usage or
unreachable).
"""

from __future__ import annotations

from typing import Annotated

import typer

from alloy_scripting.api.schemas import EgressOut
from alloy_scripting.cli.options import AsJson, Connection, connected
from alloy_scripting.cli.remote import _api, _emit_json

egress_app = typer.Typer(
    help="The tenant's egress allow-list: which hosts its scripts' HTTP calls may reach.",
    no_args_is_help=True,
)


def _show(rules: EgressOut, as_json: bool) -> None:
    if as_json:
        _emit_json(rules)
        return
    if not rules.allow:
        typer.echo("no entries: every HTTP call of this tenant's scripts is refused")
    for entry in rules.allow:
        typer.echo(entry)


@egress_app.command("get")
@connected()
def egress_get(as_json: AsJson = False, *, conn: Connection) -> None:
    """Print the allow-list, one entry per line."""
    with _api(conn) as api:
        _show(api.get_egress(), as_json)


@egress_app.command("set")
@connected(writes=True)
def egress_set(
    entries: Annotated[
        list[str] | None,
        typer.Argument(help="host, host:port or *.domain; none clears the list."),
    ] = None,
    as_json: AsJson = False,
    *,
    conn: Connection,
) -> None:
    """Replace the allow-list with ENTRIES (printed back in canonical form)."""
    with _api(conn) as api:
        _show(api.set_egress(list(entries or [])), as_json)
