"""``/templates``: the built-in catalogue and the caller's tenant's templates; instantiate
one as a draft script, publish and delete the tenant's own (`template_operations`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from alloy_scripting.api import template_operations as ops
from alloy_scripting.api.deps import CtxDep, script_out
from alloy_scripting.api.schemas import ScriptOut
from alloy_scripting.api.template_schemas import (
    TemplateInstantiate,
    TemplateList,
    TemplatePublish,
    TemplateSummary,
)
from alloy_scripting.model.templates import MAX_TAG_LENGTH, Template

router = APIRouter(prefix="/templates", tags=["templates"])


@router.get("", summary="List templates")
async def list_templates(
    ctx: CtxDep,
    tag: Annotated[str | None, Query(min_length=1, max_length=MAX_TAG_LENGTH)] = None,
) -> TemplateList:
    """The built-in templates and your tenant's, each by id."""
    found = await ops.list_templates(ctx, tag)
    return TemplateList(items=[TemplateSummary.of(t) for t in found], total=len(found))


@router.post("", status_code=201, summary="Publish a template of your tenant")
async def publish_template(body: TemplatePublish, ctx: CtxDep, response: Response) -> Template:
    """Refused unless the schema is a JSON Schema of an object (422 `validation`), the source
    validates for the trigger's phase (422 `script-invalid`) and every fixture passes (409
    `fixtures-failing`). A built-in id is 409 `template-builtin`. Publishing an id again
    makes a new version."""
    saved = await ops.publish_template(ctx, body)
    response.headers["Location"] = f"/templates/{saved.id}"
    return saved


@router.get("/{template_id}", summary="Read a template")
async def get_template(template_id: str, ctx: CtxDep) -> Template:
    return await ops.get_template(ctx, template_id)


@router.post(
    "/{template_id}/instantiate", status_code=201, summary="Create a draft script from a template"
)
async def instantiate_template(
    template_id: str, body: TemplateInstantiate, ctx: CtxDep, response: Response
) -> ScriptOut:
    """`params` are checked against the template's schema (422 `template-params-invalid`
    listing each error's path) and stored as data: the script reads them as `config`."""
    saved = await ops.instantiate_template(ctx, template_id, body)
    response.headers["Location"] = f"/scripts/{saved.id}"
    return script_out(saved, response)


@router.delete("/{template_id}", status_code=204, summary="Delete a template of your tenant")
async def delete_template(template_id: str, ctx: CtxDep) -> Response:
    """Built-in templates cannot be deleted (409 `template-builtin`)."""
    await ops.delete_template(ctx, template_id)
    return Response(status_code=204)
