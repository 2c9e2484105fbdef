"""The command line's shared options, declared once: how to reach the service (REST API,
Kafka) and how to print. `connected` gives a command the REST connection options
(`--url`, `--api-key`, `--tenant`, and `--user` where it writes) as one `Connection`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
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

_KEYWORD = inspect.Parameter.KEYWORD_ONLY
_CONNECTION = [
    inspect.Parameter("url", _KEYWORD, default=DEFAULT_URL, annotation=Url),
    inspect.Parameter("api_key", _KEYWORD, default=None, annotation=ApiKey),
    inspect.Parameter("tenant", _KEYWORD, default=None, annotation=Tenant),
]
_USER = inspect.Parameter("user", _KEYWORD, default=None, annotation=User)


def connected(*, writes: bool = False) -> Callable[[Command], Command]:
    """Declare the connection options on a command taking `conn: Connection` (keyword);
    `writes` adds `--user`, recorded by the API on what the command changes."""

    def declare(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "conn"]
        options = [*_CONNECTION, _USER] if writes else _CONNECTION

        @functools.wraps(command)
        def run(
            *args: Any,
            url: str = DEFAULT_URL,
            api_key: str | None = None,
            tenant: str | None = None,
            user: str | None = None,
            **kwargs: Any,
        ) -> Any:
            return command(*args, conn=Connection(url, api_key, tenant, user), **kwargs)

        run.__signature__ = signature.replace(parameters=[*own, *options])  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return declare
