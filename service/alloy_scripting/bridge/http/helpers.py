"""`http_get`, `http_post`, `http_request`: the HTTP helper family, as scripts see it.

`HELPERS` declares them for the registry (the phases of `emit`). They are host functions of
the worker tier (`bridge.host_calls`):

the script's call is bound to the helper's signature and turned into plain data inside
the worker (`prepare`: ``[method, url, options]``, bounded like every value leaving the
sandbox); the service makes the call on its event loop with the run's `HttpContext`
(`handle`) and answers plain data. `HttpRuns` builds a run's context lazily, on its first
call, from the tenant's stored allow-list (cached for a few seconds across runs), so runs
that make no HTTP call cost nothing.

Inline execution (``ALLOY_EXECUTION_MODE=inline``, `script run`) has no service loop to
make the call on: there the registry's functions refuse with `HelperNotConfiguredError`.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from alloy_scripting.bridge.host import (
    EFFECT_PHASES,
    HelperHost,
    HelperNotConfiguredError,
    HelperSpec,
)
from alloy_scripting.bridge.http.allowlist import AllowList, AllowListError
from alloy_scripting.bridge.http.errors import HttpError, InvalidHttpRequest
from alloy_scripting.model.egress import EgressRules

if TYPE_CHECKING:  # the service side; worker processes import this module without httpx
    from alloy_scripting.bridge.http.caps import HttpCaps
    from alloy_scripting.bridge.http.context import HttpBridge, HttpContext
    from alloy_scripting.settings import Settings

log = logging.getLogger("alloy.http")


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


#: Bytes the arguments of one call may take when they leave the sandbox (the service then
#: applies the exact request-body cap, a catchable error).
MAX_ARGUMENT_BYTES = 4 * 1024 * 1024
OPTIONS = ("headers", "params", "json", "data", "timeout")
ALLOW_LIST_TTL_SECONDS = 5.0


def _refusal(name: str) -> HelperNotConfiguredError:
    return HelperNotConfiguredError(
        f"{name}() is made by the service for scripts running in its worker processes; "
        "inline execution has no HTTP"
    )


# What scripts call (signatures and descriptions for binding and the helper catalogue). Run
# in a worker, the call goes to the service (`bridge.host_calls`); these bodies only run
# where no service loop can make it (inline execution), and refuse.


def http_get(url: Any, headers: Any = None, params: Any = None, timeout: Any = None) -> Any:
    """GET `url` (an allowed host, see `PUT /egress`); returns a dict with `status`,
    `headers`, `text` and `json` (parsed, or None). Raises `HttpError` (status >= 400 in
    `args[1]`, or a failed connection) or `EgressDenied` (the rule in `args[1]`)."""
    raise _refusal("http_get")


def http_post(
    url: Any, json: Any = None, data: Any = None, headers: Any = None, timeout: Any = None
) -> Any:
    """POST `json` (or `data`: text or form fields) to `url`; returns and raises as
    `http_get`."""
    raise _refusal("http_post")


def http_request(
    method: Any,
    url: Any,
    headers: Any = None,
    params: Any = None,
    json: Any = None,
    data: Any = None,
    timeout: Any = None,
) -> Any:
    """`method` (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS) `url`; returns and raises as
    `http_get`."""
    raise _refusal("http_request")


#: helper name -> (its signature as scripts call it, the method it implies)
SIGNATURES: dict[str, tuple[inspect.Signature, str | None]] = {
    "http_get": (inspect.signature(http_get), "GET"),
    "http_post": (inspect.signature(http_post), "POST"),
    "http_request": (inspect.signature(http_request), None),
}


def _fixture_answer(fixture: Any) -> dict[str, Any]:
    """A debug run's fixture as the bridge answers (`status`, `headers`, `text`, `json`);
    a status of 400 or more raises `HttpError` as a real call would."""
    body = fixture.body
    text = body if isinstance(body, str) else json_text(body)
    parsed = body if not isinstance(body, str) else None
    answer = {
        "status": fixture.status,
        "headers": dict(fixture.headers),
        "text": text,
        "json": parsed,
    }
    if fixture.status >= 400:
        raise HttpError(f"HTTP {fixture.status}", fixture.status, response=answer)
    return answer


def _in_process(documented: Callable[..., Any]) -> Callable[..., Any]:
    """What the registry binds for in-process runs, where no service loop makes the call: a
    debug run (`host.effects`) records the call as an intent and answers it from its
    `http_fixtures`; any other in-process run refuses. Worker runs never reach it (the call
    is a host call, `bridge.host_calls`)."""
    name = documented.__name__

    def call(host: HelperHost, *args: Any, **kwargs: Any) -> Any:
        effects = host.effects
        if effects is None:
            raise _refusal(name)
        method, url, options = bind(name, args, kwargs)
        return _fixture_answer(effects.http(method, url, options.get("json", options.get("data"))))

    call.__name__ = name
    call.__doc__ = documented.__doc__
    parameters = [
        inspect.Parameter("host", inspect.Parameter.POSITIONAL_ONLY),
        *inspect.signature(documented).parameters.values(),
    ]
    call.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return call


#: The family for the registry (the phases of `emit`).
HELPERS = (
    HelperSpec("http_get", _in_process(http_get), EFFECT_PHASES, needs_host=True),
    HelperSpec("http_post", _in_process(http_post), EFFECT_PHASES, needs_host=True),
    HelperSpec("http_request", _in_process(http_request), EFFECT_PHASES, needs_host=True),
)


def bind(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """The call as ``[method, url, options]`` (options without the ones left at None);
    `TypeError` for arguments the helper does not take, as Python would say it."""
    signature, method = SIGNATURES[name]
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{name}() {error}") from None
    values = dict(bound.arguments)
    method = values.pop("method", method)
    url = values.pop("url")
    return [method, url, {key: value for key, value in values.items() if value is not None}]


def prepare_for(
    name: str,
) -> Callable[[HelperHost, tuple[Any, ...], dict[str, Any]], list[Any]]:
    """The worker side of `name`: bind, then make every argument plain and bounded."""

    def prepare(run: HelperHost, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        call = bind(name, args, kwargs)
        plain: list[Any] = run.plain_arguments(call, MAX_ARGUMENT_BYTES, f"{name}() arguments")
        return plain

    prepare.__name__ = f"prepare_{name}"
    return prepare


async def handle(context: HttpContext, arguments: list[Any]) -> dict[str, Any]:
    """The service side: the arguments are a worker's, so hostile; their shape is checked
    here, their content by `http_request`."""
    if len(arguments) != 3 or not isinstance(arguments[2], Mapping):
        raise InvalidHttpRequest("an HTTP call is [method, url, options]")
    method, url, options = arguments
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise InvalidHttpRequest(f"unknown HTTP call options: {', '.join(sorted(unknown))[:200]}")
    from alloy_scripting.bridge.http.call import http_request

    return await http_request(context, method, url, **options)


class EgressRulesSource(Protocol):
    async def get(self, tenant_id: str | None) -> EgressRules: ...


class HttpRun:
    """One run's access to HTTP: the context, made on the first call."""

    def __init__(self, runs: HttpRuns, tenant_id: str | None) -> None:
        self._runs = runs
        self._tenant_id = tenant_id
        self._context: HttpContext | None = None

    async def context(self) -> HttpContext:
        """The run's context; `HttpError` (``egress_rules_unavailable``) when the tenant's
        allow-list cannot be read: the call fails, the service does not."""
        if self._context is None:
            try:
                allow = await self._runs.allow_list(self._tenant_id)
            except Exception as error:
                log.warning("egress rules of tenant %r unavailable: %s", self._tenant_id, error)
                raise HttpError(
                    "the tenant's egress rules cannot be read now; retry later",
                    reason="egress_rules_unavailable",
                ) from None
            self._context = self._runs.bridge.context(allow, tenant_id=self._tenant_id)
        return self._context

    def audit(self) -> list[dict[str, Any]]:
        """The run's calls for the execution record (none if it made none)."""
        return [] if self._context is None else self._context.audit()


class HttpRuns:
    """The service's HTTP side for script runs: the bridge and the tenants' allow-lists."""

    def __init__(
        self,
        bridge: HttpBridge,
        rules: EgressRulesSource,
        *,
        ttl: float = ALLOW_LIST_TTL_SECONDS,
    ) -> None:
        self.bridge = bridge
        self._rules = rules
        self._ttl = ttl
        self._cache: dict[str | None, tuple[float, AllowList]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, rules: EgressRulesSource) -> HttpRuns:
        """The service's HTTP side: caps and private networks from settings, allow-lists
        from the egress store (``stores.egress``)."""
        from alloy_scripting.bridge.http.caps import HttpCaps
        from alloy_scripting.bridge.http.context import HttpBridge

        return cls(HttpBridge(HttpCaps.from_settings(settings)), rules)

    @classmethod
    def from_caps(cls, caps: HttpCaps, rules: EgressRulesSource) -> HttpRuns:
        from alloy_scripting.bridge.http.context import HttpBridge

        return cls(HttpBridge(caps), rules)

    def run(self, tenant_id: str | None) -> HttpRun:
        return HttpRun(self, tenant_id)

    async def allow_list(self, tenant_id: str | None) -> AllowList:
        """The tenant's allow-list; a stored entry that no longer parses is dropped (deny)."""
        now = time.monotonic()
        cached = self._cache.get(tenant_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        rules = await self._rules.get(tenant_id)
        try:
            allow = AllowList.parse(rules.allow)
        except AllowListError as error:
            bad = {index for index, _ in error.errors}
            allow = AllowList.parse([e for i, e in enumerate(rules.allow) if i not in bad])
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[tenant_id] = (now, allow)
        return allow

    async def aclose(self) -> None:
        await self.bridge.aclose()
