"""What every script route shares: the request context, preconditions, engine validation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from alloy_scripting.api.auth import Caller, CallerDep
from alloy_scripting.api.problems import ProblemError
from alloy_scripting.api.schemas import DiagnosticOut, RunOut, ScriptList, ScriptOut
from alloy_scripting.model.enums import ExecutionPhase
from alloy_scripting.model.events import SideEffect
from alloy_scripting.model.page import ScriptPage
from alloy_scripting.model.result import ExecutionResult
from alloy_scripting.model.script import (
    MAX_NAME_LENGTH,
    NAME_PATTERN,
    ApiTrigger,
    CronTrigger,
    EventTrigger,
    ManualTrigger,
    Script,
)
from alloy_scripting.runner.scheduler import (  # served as the scheduler fires them
    next_run_at as next_run_at,
)
from alloy_scripting.runner.service import Runtime
from alloy_scripting.storage.errors import ScriptNotFound, VersionConflict
from alloy_scripting.storage.protocols import ExecutionLog, ScriptRegistry

AnyTrigger = EventTrigger | CronTrigger | ManualTrigger | ApiTrigger

_ID = re.compile(r"^[^\x00-\x1f\x7f/]{1,64}$")
_NAME = re.compile(NAME_PATTERN)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@dataclass(frozen=True)
class Ctx:
    """The runtime and the caller of one request, with the caller's tenant-scoped stores."""

    runtime: Runtime
    caller: Caller

    @property
    def tenant_id(self) -> str | None:
        return self.caller.tenant_id

    @property
    def scripts(self) -> ScriptRegistry:
        return self.runtime.stores.scripts.for_tenant(self.caller.tenant_id)

    @property
    def executions(self) -> ExecutionLog:
        return self.runtime.stores.executions.for_tenant(self.caller.tenant_id)

    async def load(self, script_id: str) -> Script:
        """The caller's script; malformed ids are simply not found."""
        if not _ID.match(script_id):
            raise ScriptNotFound(script_id[:64], tenant_id=self.tenant_id)
        return await self.scripts.get(script_id)

    async def load_by_name(self, name: str) -> Script:
        if len(name) > MAX_NAME_LENGTH or not _NAME.match(name):
            raise ScriptNotFound(name[:MAX_NAME_LENGTH], by="name", tenant_id=self.tenant_id)
        return await self.scripts.get_by_name(name)

    async def changed(self) -> None:
        """Every script mutation ends here: trigger caches drop on every instance."""
        await self.runtime.orchestrator.scripts_changed(self.caller.tenant_id)


def get_ctx(request: Request, caller: CallerDep) -> Ctx:
    return Ctx(get_runtime(request), caller)


CtxDep = Annotated[Ctx, Depends(get_ctx)]
IfMatch = Annotated[
    str | None,
    Header(description="The script's ETag (or its revision number); a stale one gives 412."),
]


# -- responses -----------------------------------------------------------------------------


def script_out(script: Script, response: Response | None = None) -> ScriptOut:
    if response is not None:
        response.headers["ETag"] = script.etag
    return ScriptOut.model_validate({**dict(script), "next_run_at": next_run_at(script)})


def script_list(page: ScriptPage, offset: int, limit: int) -> ScriptList:
    return ScriptList(
        items=[script_out(s) for s in page.items], total=page.total, offset=offset, limit=limit
    )


def run_out(script: Script, result: ExecutionResult, effects: list[SideEffect]) -> RunOut:
    """A manual run as REST (and the MCP run tool) answer it, with its execution record id."""
    return RunOut(
        script_id=script.id,
        version=script.version,
        execution_id=result.execution_id,
        result=result.to_dict(),
        effects=effects,
    )


# -- optimistic concurrency -----------------------------------------------------------------


def _matches(if_match: str, script: Script) -> bool:
    for tag in (t.strip() for t in if_match.split(",")):
        if tag == "*" or tag == script.etag or tag.strip('"') == str(script.revision):
            return True
    return False


def check_preconditions(script: Script, if_match: str | None, revision: int | None = None) -> None:
    """``If-Match`` must name the current ETag (412); a ``revision`` must be current (409)."""
    if if_match is not None and not _matches(if_match, script):
        raise ProblemError(
            "precondition-failed",
            f"If-Match does not match the current ETag {script.etag}",
            etag=script.etag,
            revision=script.revision,
        )
    if revision is not None and revision != script.revision:
        raise VersionConflict(script.id, revision, script.revision)


@contextmanager
def conflicts_as(if_match: str | None) -> Iterator[None]:
    """A concurrent write detected by the storage: 412 when the caller sent If-Match."""
    try:
        yield
    except VersionConflict as exc:
        if if_match is None:
            raise
        raise ProblemError("precondition-failed", str(exc), revision=exc.actual) from exc


# -- engine validation ----------------------------------------------------------------------


def phase_for(trigger: AnyTrigger) -> ExecutionPhase:
    """The phase a script with `trigger` runs in (its helpers are checked for it)."""
    return trigger.phase


async def diagnose(
    runtime: Runtime, source: str, phase: ExecutionPhase | None
) -> list[DiagnosticOut]:
    found = await run_in_threadpool(runtime.engine.validate, source, phase)
    return [DiagnosticOut.model_validate(d.to_dict()) for d in found]


def has_errors(diagnostics: list[DiagnosticOut]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


async def refuse_invalid(runtime: Runtime, source: str, trigger: AnyTrigger) -> None:
    """422 ``script-invalid`` with the diagnostics when the engine finds errors."""
    await refuse_invalid_in(runtime, source, phase_for(trigger))


async def refuse_invalid_in(runtime: Runtime, source: str, phase: ExecutionPhase) -> None:
    """`refuse_invalid` for a source that runs in `phase`."""
    diagnostics = await diagnose(runtime, source, phase)
    if has_errors(diagnostics):
        errors = [d for d in diagnostics if d.severity == "error"]
        first = errors[0]
        where = f" (line {first.line})" if first.line else ""
        raise ProblemError(
            "script-invalid",
            f"{len(errors)} error(s); first: {first.message}{where}",
            diagnostics=[d.model_dump(mode="json") for d in diagnostics],
        )
