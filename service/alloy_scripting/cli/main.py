"""The `alloy-scripting` command: `serve`, `demo`, `asyncapi export`, and the `script`
(local sandbox), `scripts`, `egress`, `state`, `templates` and `executions` (REST API)
command groups."""

from __future__ import annotations

import typer

from alloy_scripting.cli.egress import egress_app
from alloy_scripting.cli.executions import executions_app
from alloy_scripting.cli.options import ApiKey, Bootstrap, Tenant, TopicPrefix, Url
from alloy_scripting.cli.remote import scripts_app
from alloy_scripting.cli.sandbox import script_app
from alloy_scripting.cli.shadow import shadow_app
from alloy_scripting.cli.state import state_app
from alloy_scripting.cli.templates import templates_app
from alloy_scripting.client.rest import DEFAULT_URL

app = typer.Typer(
    help="alloy-scripting: sandboxed business scripts over Kafka.", no_args_is_help=True
)
app.add_typer(script_app, name="script")
scripts_app.add_typer(shadow_app, name="shadow")
app.add_typer(scripts_app, name="scripts")
app.add_typer(egress_app, name="egress")
app.add_typer(state_app, name="state")
app.add_typer(templates_app, name="templates")
app.add_typer(executions_app, name="executions")
asyncapi_app = typer.Typer(help="The AsyncAPI contract of the Kafka surface.", no_args_is_help=True)
app.add_typer(asyncapi_app, name="asyncapi")


@app.command()
def serve() -> None:
    """Run the service: Kafka hooks, REST API and scheduler."""
    import asyncio

    from alloy_scripting.serve import run_service

    asyncio.run(run_service())


@asyncapi_app.command("export")
def asyncapi_export(
    output: str | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of stdout."
    ),
) -> None:
    """Print (or write) the AsyncAPI 3.0 document generated from the FastStream app."""
    from alloy_scripting.messaging.contract import asyncapi_yaml

    text = asyncapi_yaml()
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        typer.echo(text, nl=False)


@app.command()
def mcp(
    url: str = typer.Option(
        "http://127.0.0.1:8080", "--url", envvar="ALLOY_API_URL", help="The service's REST API."
    ),
    api_key: str | None = typer.Option(None, "--api-key", envvar="ALLOY_API_KEY"),
    tenant: str | None = typer.Option(None, "--tenant", envvar="ALLOY_TENANT"),
    user: str | None = typer.Option(None, "--user", envvar="ALLOY_USER", help="Acting user."),
) -> None:
    """MCP server over stdio (for a desktop agent), acting through the service's REST API."""
    from alloy_scripting.api.mcp.stdio import run_stdio

    run_stdio(url, api_key=api_key, tenant=tenant, user=user)


@app.command()
def demo(
    url: Url = DEFAULT_URL,
    bootstrap: Bootstrap = "127.0.0.1:9092",
    topic_prefix: TopicPrefix = "",
    api_key: ApiKey = None,
    tenant: Tenant = None,
) -> None:
    """The seed's scenario against a running service: create `validate_deal`, send two deals."""
    from alloy_scripting.demo import main as run_demo

    try:
        lines = run_demo(
            url=url, bootstrap=bootstrap, topic_prefix=topic_prefix, api_key=api_key, tenant=tenant
        )
    except Exception as error:  # a demo should say what is missing, not dump a traceback
        typer.echo(f"demo failed: {error.__class__.__name__}: {error}", err=True)
        typer.echo("is the service running? start it with `make run`", err=True)
        raise typer.Exit(code=1) from None
    for line in lines:
        typer.echo(line)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
