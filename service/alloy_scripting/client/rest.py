"""`ManagementClient`: a typed, synchronous client of the management REST API (httpx).

    with ManagementClient("http://127.0.0.1:8080", api_key="...", tenant="acme") as api:
        script = api.create_script("validate_deal", source, {"type": "event", ...}, status="active")
        outcome = api.run(script.id, entity={"amount": 50}, dry_run=True)

Every non-2xx answer raises `ApiError` carrying the RFC 9457 problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from alloy_scripting.api.authoring_schemas import DebugOut, TestOut
from alloy_scripting.api.replay_schemas import ReplayOut
from alloy_scripting.api.schemas import (
    EgressOut,
    RunOut,
    ScriptList,
    ScriptOut,
    ValidateOut,
    VersionList,
)
from alloy_scripting.api.shadow_schemas import ShadowOut
from alloy_scripting.api.template_schemas import TemplateList
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.page import ExecutionPage, ExecutionQuery
from alloy_scripting.model.script import ScriptVersion
from alloy_scripting.model.templates import Template

DEFAULT_URL = "http://127.0.0.1:8080"

M = TypeVar("M", bound=BaseModel)
_SCRIPT_ID = re.compile(r"^[0-9a-f]{32}$")


class ApiError(Exception):
    """A problem answer (or an unexpected non-problem error) from the API."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.problem = dict(problem)
        super().__init__(self.describe())

    @property
    def type(self) -> str:
        return str(self.problem.get("type", "about:blank"))

    @property
    def kind(self) -> str:
        """The last segment of ``type``: ``not-found``, ``conflict``, ``script-invalid``, ..."""
        return self.type.rstrip("/").rsplit("/", 1)[-1]

    @property
    def title(self) -> str:
        return str(self.problem.get("title", ""))

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail", ""))

    def describe(self) -> str:
        text = f"{self.status} {self.title or 'error'}"
        return f"{text}: {self.detail}" if self.detail else text


class ManagementClient:
    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        tenant: str | None = None,
        user: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        if tenant:
            headers["X-Tenant-Id"] = tenant
        if user:
            headers["X-User-Id"] = user
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> ManagementClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing -------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        if_match: str | None = None,
    ) -> httpx.Response:
        headers = {"If-Match": if_match} if if_match is not None else None
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        response = self._http.request(method, path, json=json, params=clean, headers=headers)
        if response.status_code >= 400:
            raise ApiError(response.status_code, _problem(response))
        return response

    def _model(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        return model.model_validate(self._request(method, path, **kwargs).json())

    @staticmethod
    def _script(script_id: str, suffix: str = "") -> str:
        return f"/scripts/{quote(script_id, safe='')}{suffix}"

    # -- scripts --------------------------------------------------------------------------

    def list_scripts(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        status: str | None = None,
        trigger_type: str | None = None,
        entity_type: str | None = None,
        event: str | None = None,
        name_prefix: str | None = None,
    ) -> ScriptList:
        params = {
            "offset": offset,
            "limit": limit,
            "status": status,
            "trigger_type": trigger_type,
            "entity_type": entity_type,
            "event": event,
            "name_prefix": name_prefix,
        }
        return self._model(ScriptList, "GET", "/scripts", params=params)

    def iter_scripts(self, *, page_size: int = 200, **filters: str | None) -> Iterator[ScriptOut]:
        """Every matching script, page by page."""
        offset = 0
        while True:
            page = self.list_scripts(offset=offset, limit=page_size, **filters)
            yield from page.items
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return

    def get_script(self, script_id: str) -> ScriptOut:
        return self._model(ScriptOut, "GET", self._script(script_id))

    def get_script_by_name(self, name: str) -> ScriptOut:
        return self._model(ScriptOut, "GET", f"/scripts/name/{quote(name, safe='')}")

    def resolve(self, ref: str) -> ScriptOut:
        """A script by id (32 hex digits) or else by name."""
        if _SCRIPT_ID.match(ref):
            try:
                return self.get_script(ref)
            except ApiError as exc:
                if exc.status != 404:
                    raise
        return self.get_script_by_name(ref)

    def create_script(
        self,
        name: str,
        source: str,
        trigger: Mapping[str, Any] | BaseModel,
        *,
        description: str = "",
        status: str = "draft",
        priority: int = 0,
        on_error: str = "fail",
        fixtures: list[Any] | None = None,
        limits: Mapping[str, Any] | BaseModel | None = None,
    ) -> ScriptOut:
        body = {
            "name": name,
            "source": source,
            "trigger": _plain(trigger),
            "description": description,
            "status": status,
            "priority": priority,
            "on_error": on_error,
            "fixtures": [_plain(item) for item in fixtures or []],
        }
        if limits is not None:
            body["limits"] = _plain(limits)
        return self._model(ScriptOut, "POST", "/scripts", json=body)

    def update_script(
        self,
        script_id: str,
        *,
        if_match: str | None = None,
        revision: int | None = None,
        **fields: Any,
    ) -> ScriptOut:
        """Change the given fields (``name``, ``source``, ``trigger``, ``description``,
        ``status``, ``priority``, ``on_error``); None values are left out."""
        body = {k: _plain(v) for k, v in fields.items() if v is not None}
        if revision is not None:
            body["revision"] = revision
        return self._model(ScriptOut, "PUT", self._script(script_id), json=body, if_match=if_match)

    def delete_script(
        self, script_id: str, *, if_match: str | None = None, revision: int | None = None
    ) -> None:
        self._request(
            "DELETE", self._script(script_id), params={"revision": revision}, if_match=if_match
        )

    def validate(self, source: str, phase: str | None = None) -> ValidateOut:
        body: dict[str, Any] = {"source": source}
        if phase is not None:
            body["phase"] = phase
        return self._model(ValidateOut, "POST", "/scripts/validate", json=body)

    # -- runs -----------------------------------------------------------------------------

    def run(
        self,
        script_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        entity: Mapping[str, Any] | None = None,
        entity_type: str | None = None,
        dry_run: bool = False,
    ) -> RunOut:
        body = _run_body(params, entity, entity_type, dry_run)
        return self._model(RunOut, "POST", self._script(script_id, "/run"), json=body)

    def run_by_name(
        self,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        entity: Mapping[str, Any] | None = None,
        entity_type: str | None = None,
        dry_run: bool = False,
    ) -> RunOut:
        body = _run_body(params, entity, entity_type, dry_run)
        return self._model(RunOut, "POST", f"/scripts/name/{quote(name, safe='')}/run", json=body)

    def test(self, script_id: str) -> TestOut:
        """Run the script's fixtures (debug runs: no side effects)."""
        return self._model(TestOut, "POST", self._script(script_id, "/test"))

    def debug(self, script_id: str, sample: Mapping[str, Any] | None = None) -> DebugOut:
        """A debug run of a stored script against `sample` (event, entity, params, ...)."""
        return self._model(
            DebugOut, "POST", self._script(script_id, "/debug"), json=dict(sample or {})
        )

    def executions(self, script_id: str, *, offset: int = 0, limit: int = 50) -> ExecutionPage:
        params = {"offset": offset, "limit": limit}
        return self._model(
            ExecutionPage, "GET", self._script(script_id, "/executions"), params=params
        )

    def find_executions(
        self, query: ExecutionQuery, *, offset: int = 0, limit: int = 50
    ) -> ExecutionPage:
        """`GET /executions`: the tenant's records matching `query`, newest first."""
        params = {
            **query.model_dump(mode="json", exclude_none=True),
            "offset": offset,
            "limit": limit,
        }
        return self._model(ExecutionPage, "GET", "/executions", params=params)

    def execution(self, execution_id: str) -> ExecutionRecord:
        return self._model(ExecutionRecord, "GET", f"/executions/{quote(execution_id, safe='')}")

    def replay(
        self, execution_id: str, *, version: int | None = None, source: str | None = None
    ) -> ReplayOut:
        """Replay a record's input as a debug run (no side effects) with the current
        version, `version` or an unsaved `source`; the answer has the diff."""
        body = {"version": version, "source": source}
        return self._model(
            ReplayOut,
            "POST",
            f"/executions/{quote(execution_id, safe='')}/replay",
            json={k: v for k, v in body.items() if v is not None},
        )

    # -- state ----------------------------------------------------------------------------

    @staticmethod
    def _state(collection: str, key: str | None = None) -> str:
        path = f"/state/{quote(collection, safe='')}"
        return path if key is None else f"{path}/{quote(key, safe='')}"

    def list_state(self, collection: str, *, offset: int = 0, limit: int = 50) -> dict[str, Any]:
        """One page of a state collection: ``items`` (key, doc, expires_at...), ``total``."""
        params = {"offset": offset, "limit": limit}
        page: dict[str, Any] = self._request("GET", self._state(collection), params=params).json()
        return page

    def get_state(self, collection: str, key: str) -> dict[str, Any]:
        item: dict[str, Any] = self._request("GET", self._state(collection, key)).json()
        return item

    def delete_state(self, collection: str, key: str) -> None:
        self._request("DELETE", self._state(collection, key))

    # -- lifecycle and versions -----------------------------------------------------------

    def activate(self, script_id: str, *, if_match: str | None = None) -> ScriptOut:
        return self._model(
            ScriptOut, "POST", self._script(script_id, "/activate"), if_match=if_match
        )

    def disable(
        self, script_id: str, reason: str | None = None, *, if_match: str | None = None
    ) -> ScriptOut:
        body = {"reason": reason} if reason else None
        path = self._script(script_id, "/disable")
        return self._model(ScriptOut, "POST", path, json=body, if_match=if_match)

    def reset(self, script_id: str, *, if_match: str | None = None) -> ScriptOut:
        return self._model(ScriptOut, "POST", self._script(script_id, "/reset"), if_match=if_match)

    def versions(self, script_id: str) -> VersionList:
        return self._model(VersionList, "GET", self._script(script_id, "/versions"))

    def get_version(self, script_id: str, version: int) -> ScriptVersion:
        return self._model(ScriptVersion, "GET", self._script(script_id, f"/versions/{version}"))

    def rollback(
        self,
        script_id: str,
        version: int,
        *,
        revision: int | None = None,
        if_match: str | None = None,
    ) -> ScriptOut:
        body: dict[str, Any] = {"version": version}
        if revision is not None:
            body["revision"] = revision
        path = self._script(script_id, "/rollback")
        return self._model(ScriptOut, "POST", path, json=body, if_match=if_match)

    # -- egress ---------------------------------------------------------------------------

    # -- shadow runs ----------------------------------------------------------------------

    def start_shadow(
        self, script_id: str, source: str, *, until: str, sample: float = 1.0
    ) -> ShadowOut:
        body = {"source": source, "sample": sample, "until": until}
        return self._model(ShadowOut, "POST", self._script(script_id, "/shadow"), json=body)

    def get_shadow(self, script_id: str) -> ShadowOut:
        return self._model(ShadowOut, "GET", self._script(script_id, "/shadow"))

    def stop_shadow(self, script_id: str) -> ShadowOut:
        return self._model(ShadowOut, "DELETE", self._script(script_id, "/shadow"))

    def get_egress(self) -> EgressOut:
        """The tenant's egress allow-list."""
        return self._model(EgressOut, "GET", "/egress")

    def set_egress(self, allow: list[str]) -> EgressOut:
        """Replace the tenant's egress allow-list (entries come back canonical)."""
        return self._model(EgressOut, "PUT", "/egress", json={"allow": allow})

    # -- templates ------------------------------------------------------------------------

    @staticmethod
    def _template(template_id: str, suffix: str = "") -> str:
        return f"/templates/{quote(template_id, safe='')}{suffix}"

    def list_templates(self, *, tag: str | None = None) -> TemplateList:
        """The built-in templates and the tenant's."""
        return self._model(TemplateList, "GET", "/templates", params={"tag": tag})

    def get_template(self, template_id: str) -> Template:
        return self._model(Template, "GET", self._template(template_id))

    def instantiate_template(
        self,
        template_id: str,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        trigger: Mapping[str, Any] | BaseModel | None = None,
        description: str | None = None,
    ) -> ScriptOut:
        """A draft script from the template; `params` are checked against its schema."""
        body: dict[str, Any] = {"name": name, "params": dict(params or {})}
        if trigger is not None:
            body["trigger"] = _plain(trigger)
        if description is not None:
            body["description"] = description
        path = self._template(template_id, "/instantiate")
        return self._model(ScriptOut, "POST", path, json=body)

    def publish_template(self, template: Mapping[str, Any] | BaseModel) -> Template:
        """Publish a template of the tenant (again: a new version)."""
        return self._model(Template, "POST", "/templates", json=_plain(template))

    def delete_template(self, template_id: str) -> None:
        self._request("DELETE", self._template(template_id))

    # -- operations -----------------------------------------------------------------------

    def asyncapi(self) -> dict[str, Any]:
        """The AsyncAPI document the service serves (``/asyncapi``)."""
        body: dict[str, Any] = self._request("GET", "/asyncapi").json()
        return body

    def health(self) -> dict[str, Any]:
        """``/health/ready`` as a dict (a 503 answer is returned, not raised)."""
        response = self._http.get("/health/ready")
        body: dict[str, Any] = response.json()
        return body


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _run_body(
    params: Mapping[str, Any] | None,
    entity: Mapping[str, Any] | None,
    entity_type: str | None,
    dry_run: bool,
) -> dict[str, Any]:
    body: dict[str, Any] = {"params": dict(params or {}), "dry_run": dry_run}
    if entity is not None:
        body["entity"] = dict(entity)
    if entity_type is not None:
        body["entity_type"] = entity_type
    return body


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {
        "title": response.reason_phrase,
        "status": response.status_code,
        "detail": response.text[:500],
    }
