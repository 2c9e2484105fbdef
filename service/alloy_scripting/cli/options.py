"""The command line's shared options, declared once: how to reach the service (REST API,
Kafka) and how to print. `connected` gives a command the REST connection options
(`--url`, `--api-key`, `--tenant`, and `--user` where it writes) as one `Connection`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer

from alloy_scripting.client.rest import DEFAULT_URL

Url = Annotated[
    str, typer.Option("--url", envvar="ALLOY_API_URL", help="Base URL of the REST API.")
]
ApiKey = Annotated[
    str | None, typer.Option("--api-key", envvar="ALLOY_API_KEY", help="API key (Bearer).")
]
Tenant = Annotated[
    str | None, typer.Option("--tenant", envvar="ALLOY_TENANT", help="Act as this tenant.")
]
User = Annotated[
    str | None,
    typer.Option("--user", envvar="ALLOY_USER", help="Recorded as created_by/updated_by."),
]
Bootstrap = Annotated[
    str,
    typer.Option("--bootstrap", envvar="ALLOY_KAFKA_BOOTSTRAP", help="Kafka bootstrap servers."),
]
TopicPrefix = Annotated[str, typer.Option("--topic-prefix", envvar="ALLOY_TOPIC_PREFIX")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the API's JSON.")]


@dataclass(frozen=True)
class Connection:
    """Where the REST API is and who calls it."""

    url: str = DEFAULT_URL
    api_key: str | None = None
    tenant: str | None = None
    user: str | None = None


Command = TypeVar("Command", bound=Callable[..., Any])


def grouped(
    name: str, options: Sequence[inspect.Parameter], make: Callable[..., Any]
) -> Callable[[Command], Command]:
    """Declare `options` on a command taking the keyword `name`: the command receives
    `make(**those options' values)` there instead (one declaration for a group of options
    many commands take)."""

    def declare(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != name]

        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            values = {option.name: kwargs.pop(option.name, option.default) for option in options}
            return command(*args, **{name: make(**values)}, **kwargs)

        run.__signature__ = signature.replace(parameters=[*own, *options])  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return declare


def keyword_option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


_CONNECTION = [
    keyword_option("url", Url, DEFAULT_URL),
    keyword_option("api_key", ApiKey, None),
    keyword_option("tenant", Tenant, None),
]


def connected(*, writes: bool = False) -> Callable[[Command], Command]:
    """Declare the connection options on a command taking `conn: Connection` (keyword);
    `writes` adds `--user`, recorded by the API on what the command changes."""
    options = [*_CONNECTION, keyword_option("user", User, None)] if writes else _CONNECTION
    return grouped("conn", options, Connection)
