"""`alloy-scripting state list|get|delete`: a tenant's state documents (``store.*``)
through the REST API, with the connection options and exit codes of `scripts`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from alloy_scripting.cli.options import AsJson, Connection, connected
from alloy_scripting.cli.remote import _api, _emit_json

state_app = typer.Typer(
    help="Read and delete state documents (store.*) of a tenant through the REST API.",
    no_args_is_help=True,
)
CollectionArg = Annotated[str, typer.Argument(help="Collection name (a-z, 0-9, _).")]
KeyArg = Annotated[str, typer.Argument(help="Document key.")]


@state_app.command("list")
@connected()
def list_state(
    collection: CollectionArg,
    as_json: AsJson = False,
    offset: int = 0,
    limit: Annotated[int, typer.Option(help="At most 200.")] = 50,
    *,
    conn: Connection,
) -> None:
    """List a collection's documents (by key)."""
    with _api(conn) as api:
        page = api.list_state(collection, offset=offset, limit=limit)
    if as_json:
        _emit_json(page)
        return
    for item in page["items"]:
        expires = f"  (expires {item['expires_at']})" if item.get("expires_at") else ""
        doc = json.dumps(item["doc"], ensure_ascii=False)
        typer.echo(f"{item['key']}\t{doc}{expires}")
    shown = len(page["items"])
    typer.echo(f"{offset + 1 if shown else 0}-{offset + shown} of {page['total']}", err=True)


@state_app.command("get")
@connected()
def get_state(
    collection: CollectionArg, key: KeyArg, as_json: AsJson = False, *, conn: Connection
) -> None:
    """Print one document (its JSON; --json adds key and timestamps)."""
    with _api(conn) as api:
        item = api.get_state(collection, key)
    _emit_json(item if as_json else item["doc"])


@state_app.command("delete")
@connected()
def delete_state(collection: CollectionArg, key: KeyArg, *, conn: Connection) -> None:
    """Delete one document."""
    with _api(conn) as api:
        api.delete_state(collection, key)
    typer.echo(f"deleted {collection}/{key}")
