"""`RemoteBackend`: the tools' operations through a running service's REST API (the stdio
bridge). The synchronous `ManagementClient` runs in a worker thread; its `ApiError` carries
the service's problem, which the tools hand on unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread

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
from alloy_scripting.api.template_schemas import TemplateInstantiate, TemplateList, TemplatePublish
from alloy_scripting.client.rest import ManagementClient
from alloy_scripting.model.page import ExecutionPage, ExecutionQuery, ScriptQuery
from alloy_scripting.model.templates import Template

T = TypeVar("T")


class RemoteBackend:
    def __init__(self, client: ManagementClient) -> None:
        self.client = client

    async def _call(self, function: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(function)

    async def list_scripts(self, query: ScriptQuery, offset: int, limit: int) -> ScriptList:
        filters = {k: str(v) for k, v in query.model_dump(exclude_none=True).items()}
        return await self._call(
            lambda: self.client.list_scripts(offset=offset, limit=limit, **filters)
        )

    async def get_script(self, script_id: str | None, name: str | None) -> ScriptOut:
        if script_id is not None:
            return await self._call(lambda: self.client.get_script(script_id))
        assert name is not None
        return await self._call(lambda: self.client.get_script_by_name(name))

    async def create_script(self, body: ScriptCreate) -> ScriptOut:
        fields = body.model_dump(mode="json")
        return await self._call(
            lambda: self.client.create_script(
                fields.pop("name"), fields.pop("source"), fields.pop("trigger"), **fields
            )
        )

    async def update_script(self, script_id: str, body: ScriptUpdate) -> ScriptOut:
        fields: dict[str, Any] = body.model_dump(mode="json", exclude_unset=True)
        revision = fields.pop("revision", None)
        return await self._call(
            lambda: self.client.update_script(script_id, revision=revision, **fields)
        )

    async def delete_script(self, script_id: str, revision: int | None) -> None:
        await self._call(lambda: self.client.delete_script(script_id, revision=revision))

    async def validate(self, body: ValidateIn) -> ValidateOut:
        phase = None if body.phase is None else body.phase.value
        return await self._call(lambda: self.client.validate(body.source, phase))

    async def run(self, script_id: str | None, name: str | None, body: RunIn) -> RunOut:
        options: dict[str, Any] = {
            "params": body.params,
            "entity": body.entity,
            "entity_type": body.entity_type,
            "dry_run": body.dry_run,
        }
        if script_id is not None:
            return await self._call(lambda: self.client.run(script_id, **options))
        assert name is not None
        return await self._call(lambda: self.client.run_by_name(name, **options))

    async def list_executions(
        self, query: ExecutionQuery, offset: int, limit: int
    ) -> ExecutionPage:
        if query.script_id is not None:  # a script that is not the caller's is not found
            await self._call(lambda: self.client.get_script(str(query.script_id)))
        return await self._call(
            lambda: self.client.find_executions(query, offset=offset, limit=limit)
        )

    async def reset(self, script_id: str) -> ScriptOut:
        return await self._call(lambda: self.client.reset(script_id))

    async def replay(self, execution_id: str, body: ReplayIn) -> ReplayOut:
        return await self._call(
            lambda: self.client.replay(execution_id, version=body.version, source=body.source)
        )

    async def rollback(self, script_id: str, body: RollbackIn) -> ScriptOut:
        return await self._call(
            lambda: self.client.rollback(script_id, body.version, revision=body.revision)
        )

    async def start_shadow(self, script_id: str, body: ShadowIn) -> ShadowOut:
        until = body.until.isoformat()
        return await self._call(
            lambda: self.client.start_shadow(
                script_id, body.source, until=until, sample=body.sample
            )
        )

    async def get_shadow(self, script_id: str) -> ShadowOut:
        return await self._call(lambda: self.client.get_shadow(script_id))

    async def stop_shadow(self, script_id: str) -> ShadowOut:
        return await self._call(lambda: self.client.stop_shadow(script_id))

    async def list_templates(self, tag: str | None) -> TemplateList:
        return await self._call(lambda: self.client.list_templates(tag=tag))

    async def get_template(self, template_id: str) -> Template:
        return await self._call(lambda: self.client.get_template(template_id))

    async def instantiate_template(self, template_id: str, body: TemplateInstantiate) -> ScriptOut:
        fields = body.model_dump(mode="json", exclude_none=True)
        return await self._call(
            lambda: self.client.instantiate_template(
                template_id,
                fields["name"],
                params=fields["params"],
                trigger=fields.get("trigger"),
                description=fields.get("description"),
            )
        )

    async def publish_template(self, body: TemplatePublish) -> Template:
        fields = body.model_dump(mode="json", exclude_none=True)
        return await self._call(lambda: self.client.publish_template(fields))

    async def asyncapi(self) -> dict[str, Any]:
        return await self._call(self.client.asyncapi)
