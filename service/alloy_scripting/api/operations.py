"""The script authors' operations, shared by every surface (REST routes today; MCP and
GraphQL later): debug runs, fixture runs and the activation checks, API endpoint lookup
and calls. Routes only translate HTTP to these functions and back."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from alloy_scripting.api.problems import ProblemError
from alloy_scripting.model.debug import DebugSample
from alloy_scripting.model.enums import ExecutionPhase, ExecutionStatus, ScriptStatus
from alloy_scripting.model.fixtures import CaseReport
from alloy_scripting.model.page import ScriptQuery
from alloy_scripting.model.script import ApiTrigger, Script, ScriptTrigger
from alloy_scripting.runner.debugger import DebugReport, debug_run, run_fixtures
from alloy_scripting.runner.executor import describe_failure
from alloy_scripting.runner.service import Runtime
from alloy_scripting.storage.protocols import MAX_PAGE_LIMIT, ScriptRegistry

logger = logging.getLogger("alloy.api")

#: Failing cases listed in a 409 (the report of `POST /scripts/{id}/test` has them all).
MAX_LISTED_FAILURES = 20


# -- debug runs and fixtures -------------------------------------------------------------------


async def debug_source(
    runtime: Runtime,
    source: str,
    sample: DebugSample,
    *,
    trigger: ScriptTrigger | None = None,
    phase: ExecutionPhase | None = None,
    tenant_id: str | None = None,
) -> DebugReport:
    """A debug run of an unsaved source (no side effects; see `runner.debugger`)."""
    return await run_in_threadpool(
        lambda: debug_run(
            runtime.engine, source, sample, trigger=trigger, phase=phase, tenant_id=tenant_id
        )
    )


async def debug_script(runtime: Runtime, script: Script, sample: DebugSample) -> DebugReport:
    """A debug run of a stored script in its own phase."""
    return await run_in_threadpool(
        lambda: debug_run(
            runtime.engine,
            script.source,
            sample,
            trigger=script.trigger,
            script_name=script.name,
            tenant_id=script.tenant_id,
        )
    )


async def test_script(runtime: Runtime, script: Script) -> list[CaseReport]:
    """Every fixture of `script`, run as debug runs."""
    return await run_in_threadpool(run_fixtures, runtime.engine, script)


async def require_fixtures_pass(runtime: Runtime, script: Script) -> None:
    """409 ``fixtures-failing`` listing the failing cases, if any."""
    if not script.fixtures:
        return
    failing = [case for case in await test_script(runtime, script) if not case.passed]
    if failing:
        raise ProblemError(
            "fixtures-failing",
            f"{len(failing)} of {len(script.fixtures)} fixture(s) fail; first: "
            f"{failing[0].name}: {'; '.join(failing[0].differences)[:500]}",
            failing=[
                {"name": case.name, "outcome": case.outcome, "differences": case.differences}
                for case in failing[:MAX_LISTED_FAILURES]
            ],
        )


# -- API endpoints -----------------------------------------------------------------------------


async def api_scripts(registry: ScriptRegistry, *, active_only: bool = True) -> list[Script]:
    """The tenant's API-triggered scripts (active ones by default), by name."""
    query = ScriptQuery(trigger_type="api", status=ScriptStatus.ACTIVE if active_only else None)
    found: list[Script] = []
    offset = 0
    while True:
        page = await registry.find_paginated(query, offset, MAX_PAGE_LIMIT)
        found.extend(page.items)
        offset += MAX_PAGE_LIMIT
        if not page.items or offset >= page.total:
            return found


def route_of(script: Script) -> tuple[str, str] | None:
    trigger = script.trigger
    return trigger.route if isinstance(trigger, ApiTrigger) else None


async def find_endpoint(registry: ScriptRegistry, method: str, path: str) -> Script | None:
    """The active script bound to ``method /api/path`` in the registry's tenant."""
    wanted = (method, path)
    matches = [s for s in await api_scripts(registry) if route_of(s) == wanted]
    if len(matches) > 1:  # two activations raced past the uniqueness check
        logger.warning("endpoint %s /api/%s has %d active scripts", method, path, len(matches))
    return matches[0] if matches else None


async def require_endpoint_free(registry: ScriptRegistry, script: Script) -> None:
    """409 ``endpoint-taken`` when another active script of the tenant has the route."""
    route = route_of(script)
    if route is None:
        return
    for other in await api_scripts(registry):
        if other.id != script.id and route_of(other) == route:
            raise ProblemError(
                "endpoint-taken",
                f"{route[0]} /api/{route[1]} is served by the active script {other.name!r}",
                script_id=other.id,
            )


async def check_activation(runtime: Runtime, registry: ScriptRegistry, script: Script) -> None:
    """What must hold before `script` is saved active: its endpoint is free, its fixtures
    pass."""
    await require_endpoint_free(registry, script)
    await require_fixtures_pass(runtime, script)


@dataclass(frozen=True, slots=True)
class EndpointAnswer:
    """What an API endpoint answers: `body` None with status 204 means no content."""

    status: int
    body: Any
    headers: dict[str, str]


async def call_endpoint(
    runtime: Runtime,
    script: Script,
    *,
    body: Any,
    query: dict[str, Any],
    tenant_id: str | None,
    user_id: str | None,
) -> EndpointAnswer:
    """Run `script` in the ``api`` phase (a real run: logged, counted, effects published)
    with ``params = {"body": ..., "query": ...}``; failures are `ProblemError`s."""
    _, result, _ = await runtime.orchestrator.run_manual(
        script.id,
        params={"body": body, "query": query},
        tenant_id=tenant_id,
        user_id=user_id,
        phase=ExecutionPhase.API,
    )
    status = result.status
    if status is ExecutionStatus.SUCCESS:
        if result.response is None:
            return EndpointAnswer(204, None, {})
        response = result.response
        return EndpointAnswer(response.status, response.body, dict(response.headers))
    if status is ExecutionStatus.ABORTED:
        raise ProblemError("script-aborted", result.reason or "aborted", script=script.name)
    if status is ExecutionStatus.TIMEOUT:
        raise ProblemError("script-timeout", describe_failure(result), script=script.name)
    raise ProblemError(
        "script-failed", describe_failure(result), script=script.name, limit=result.limit
    )
