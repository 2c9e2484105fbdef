"""What the tools act on: `ScriptBackend`, with two implementations that both end in
`api.operations` — `LocalBackend` calls them in-process for one caller (the `/mcp` endpoint,
tests), `RemoteBackend` (module `remote`) goes through a running service's REST API (stdio).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from mcp.server.mcpserver import Context

from alloy_scripting.api import operations, shadow_operations, template_operations
from alloy_scripting.api.deps import Ctx, run_out, script_list, script_out
from alloy_scripting.api.replay import replay_execution
from alloy_scripting.api.replay_schemas import ReplayIn, ReplayOut
from alloy_scripting.api.schemas import (
    RollbackIn,
    RunIn,
    RunOut,
    ScriptCreate,
    ScriptList,
    ScriptOut,
    ScriptUpdate,
    ValidateIn,
    ValidateOut,
)
from alloy_scripting.api.shadow_schemas import ShadowIn, ShadowOut
from alloy_scripting.api.template_schemas import (
    TemplateInstantiate,
    TemplateList,
    TemplatePublish,
    TemplateSummary,
)
from alloy_scripting.model.page import ExecutionPage, ExecutionQuery, ScriptQuery
from alloy_scripting.model.script import Script
from alloy_scripting.model.templates import Template


class ScriptBackend(Protocol):
    """The script operations, for one caller (tenant, actor)."""

    async def list_scripts(self, query: ScriptQuery, offset: int, limit: int) -> ScriptList: ...

    async def get_script(self, script_id: str | None, name: str | None) -> ScriptOut: ...

    async def create_script(self, body: ScriptCreate) -> ScriptOut: ...

    async def update_script(self, script_id: str, body: ScriptUpdate) -> ScriptOut: ...

    async def delete_script(self, script_id: str, revision: int | None) -> None: ...

    async def validate(self, body: ValidateIn) -> ValidateOut: ...

    async def run(self, script_id: str | None, name: str | None, body: RunIn) -> RunOut: ...

    async def list_executions(
        self, query: ExecutionQuery, offset: int, limit: int
    ) -> ExecutionPage: ...

    async def reset(self, script_id: str) -> ScriptOut: ...

    async def replay(self, execution_id: str, body: ReplayIn) -> ReplayOut: ...

    async def rollback(self, script_id: str, body: RollbackIn) -> ScriptOut: ...

    async def start_shadow(self, script_id: str, body: ShadowIn) -> ShadowOut: ...

    async def get_shadow(self, script_id: str) -> ShadowOut: ...

    async def stop_shadow(self, script_id: str) -> ShadowOut: ...
    async def list_templates(self, tag: str | None) -> TemplateList: ...

    async def get_template(self, template_id: str) -> Template: ...

    async def instantiate_template(
        self, template_id: str, body: TemplateInstantiate
    ) -> ScriptOut: ...

    async def publish_template(self, body: TemplatePublish) -> Template: ...


class LocalBackend:
    """The operations in this process, as the caller of `ctx`."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    async def _load(self, script_id: str | None, name: str | None) -> Script:
        if script_id is not None:
            return await self.ctx.load(script_id)
        assert name is not None
        return await self.ctx.load_by_name(name)

    async def list_scripts(self, query: ScriptQuery, offset: int, limit: int) -> ScriptList:
        return script_list(
            await operations.list_scripts(self.ctx, query, offset, limit), offset, limit
        )

    async def get_script(self, script_id: str | None, name: str | None) -> ScriptOut:
        return script_out(await self._load(script_id, name))

    async def create_script(self, body: ScriptCreate) -> ScriptOut:
        return script_out(await operations.create_script(self.ctx, body))

    async def update_script(self, script_id: str, body: ScriptUpdate) -> ScriptOut:
        return script_out(await operations.update_script(self.ctx, script_id, body))

    async def delete_script(self, script_id: str, revision: int | None) -> None:
        await operations.delete_script(self.ctx, script_id, revision=revision)

    async def validate(self, body: ValidateIn) -> ValidateOut:
        return await operations.validate_source(self.ctx, body.source, body.phase)

    async def run(self, script_id: str | None, name: str | None, body: RunIn) -> RunOut:
        ran = await operations.run_script(self.ctx, await self._load(script_id, name), body)
        return run_out(ran.script, ran.result, ran.effects)

    async def list_executions(
        self, query: ExecutionQuery, offset: int, limit: int
    ) -> ExecutionPage:
        if query.script_id is not None:  # a script that is not the caller's is not found
            return await operations.list_executions(self.ctx, query.script_id, offset, limit, query)
        return await operations.find_executions(self.ctx, query, offset, limit)

    async def reset(self, script_id: str) -> ScriptOut:
        return script_out(await operations.reset_script(self.ctx, script_id))

    async def replay(self, execution_id: str, body: ReplayIn) -> ReplayOut:
        return await replay_execution(self.ctx, execution_id, body)

    async def rollback(self, script_id: str, body: RollbackIn) -> ScriptOut:
        saved = await operations.rollback_script(self.ctx, script_id, body.version, body.revision)
        return script_out(saved)

    async def start_shadow(self, script_id: str, body: ShadowIn) -> ShadowOut:
        return await shadow_operations.start_shadow(self.ctx, script_id, body)

    async def get_shadow(self, script_id: str) -> ShadowOut:
        return await shadow_operations.get_shadow(self.ctx, script_id)

    async def stop_shadow(self, script_id: str) -> ShadowOut:
        return await shadow_operations.stop_shadow(self.ctx, script_id)

    async def list_templates(self, tag: str | None) -> TemplateList:
        found = await template_operations.list_templates(self.ctx, tag)
        return TemplateList(items=[TemplateSummary.of(t) for t in found], total=len(found))

    async def get_template(self, template_id: str) -> Template:
        return await template_operations.get_template(self.ctx, template_id)

    async def instantiate_template(self, template_id: str, body: TemplateInstantiate) -> ScriptOut:
        return script_out(
            await template_operations.instantiate_template(self.ctx, template_id, body)
        )

    async def publish_template(self, body: TemplatePublish) -> Template:
        return await template_operations.publish_template(self.ctx, body)


BackendFor = Callable[[Context], ScriptBackend]
"""The backend acting for the caller of one request."""
Contract = Callable[[], Awaitable[dict[str, Any]]]
"""The service's AsyncAPI document."""
