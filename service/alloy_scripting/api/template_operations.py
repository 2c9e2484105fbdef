"""Template operations shared by the REST routes and the MCP tools (`api.operations` style:
each takes the request's `Ctx` and validated input, and raises `ProblemError`).

Built-in templates ship with the package; a tenant's own are in the `TemplateStore` and
visible to that tenant only. Instantiating one makes a *draft* script carrying the
template's fixtures and a `TemplateRef` with the validated parameters: parameters are data
the script reads as `config`, never text pasted into its source.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from alloy_scripting.api.deps import Ctx, refuse_invalid
from alloy_scripting.api.operations import require_fixtures_pass
from alloy_scripting.api.problems import ProblemError, validation_problem
from alloy_scripting.api.template_schemas import TemplateInstantiate, TemplatePublish
from alloy_scripting.model.script import Script
from alloy_scripting.model.template_catalogue import builtin_template, builtin_templates
from alloy_scripting.model.template_ref import MAX_TEMPLATE_ID_LENGTH
from alloy_scripting.model.templates import Template, TemplateParamsInvalid
from alloy_scripting.storage.errors import TemplateConflict

#: Templates one tenant may publish.
MAX_TENANT_TEMPLATES = 200


def _not_found(template_id: str) -> ProblemError:
    return ProblemError("not-found", f"template {template_id[:MAX_TEMPLATE_ID_LENGTH]!r} not found")


async def list_templates(ctx: Ctx, tag: str | None = None) -> list[Template]:
    """The built-in templates, then the caller's tenant's, each by id (only `tag`'s)."""
    found = list(builtin_templates().values())
    if ctx.tenant_id is not None:
        found += await ctx.runtime.stores.templates.list_templates(ctx.tenant_id)
    return [t for t in found if tag is None or tag in t.tags]


async def get_template(ctx: Ctx, template_id: str) -> Template:
    """A built-in template or one of the caller's tenant's; anything else is 404."""
    builtin = builtin_template(template_id)
    if builtin is not None:
        return builtin
    if ctx.tenant_id is not None and len(template_id) <= MAX_TEMPLATE_ID_LENGTH:
        found = await ctx.runtime.stores.templates.get(ctx.tenant_id, template_id)
        if found is not None:
            return found
    raise _not_found(template_id)


def params_problem(exc: TemplateParamsInvalid) -> ProblemError:
    """422 ``template-params-invalid`` listing each schema error with its path."""
    return ProblemError("template-params-invalid", str(exc), errors=exc.errors)


async def instantiate_template(ctx: Ctx, template_id: str, body: TemplateInstantiate) -> Script:
    """A draft script from the template: its source unchanged, its fixtures, the validated
    parameters as `template.params` (the script's `config`), the suggested trigger unless
    `body.trigger` names another (the source is validated for that trigger's phase)."""
    template = await get_template(ctx, template_id)
    try:  # schema checks are bounded (`model.templates`), but off the event loop all the same
        params = await run_in_threadpool(template.params_for, body.params)
        fixtures = await run_in_threadpool(template.instance_fixtures)
    except TemplateParamsInvalid as exc:
        raise params_problem(exc) from None
    trigger = body.trigger.to_model() if body.trigger is not None else template.trigger
    await refuse_invalid(ctx.runtime, template.source, trigger)
    script = Script.new(
        body.name,
        template.source,
        trigger,
        tenant_id=ctx.tenant_id,
        description=template.description if body.description is None else body.description,
        created_by=ctx.caller.actor,
        fixtures=fixtures,
    )
    script.template = template.ref(params)
    saved = await ctx.scripts.save(script)
    await ctx.changed()
    return saved


def _builtin_refused(template_id: str, action: str) -> ProblemError:
    return ProblemError(
        "template-builtin",
        f"{template_id!r} is a built-in template id: it cannot be {action}",
        template_id=template_id,
    )


async def publish_template(ctx: Ctx, body: TemplatePublish) -> Template:
    """Publish (or publish a new version of) a template of the caller's tenant."""
    tenant = ctx.tenant_id
    if tenant is None:
        raise ProblemError(
            "validation",
            "publishing a template needs a tenant (X-Tenant-Id or a key bound to one)",
            errors=[{"loc": ["header", "X-Tenant-Id"], "msg": "required", "type": "missing"}],
        )
    if builtin_template(body.id) is not None:
        raise _builtin_refused(body.id, "overwritten")
    data = {
        **body.model_dump(exclude={"trigger", "fixtures"}),
        "trigger": body.trigger.to_model(),
        "fixtures": body.fixtures,
        "owner": tenant,
        "created_by": ctx.caller.actor,
    }
    try:
        template = await run_in_threadpool(Template.model_validate, data)
    except ValidationError as exc:
        problem = validation_problem(
            [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors()]
        )
        raise problem from None
    await refuse_invalid(ctx.runtime, template.source, template.trigger)
    try:
        fixtures = await run_in_threadpool(template.instance_fixtures)
        example = await run_in_threadpool(template.params_for, template.example_params)
    except TemplateParamsInvalid as exc:  # within the budget at validation, not now
        raise params_problem(exc) from None
    trial = Script.new(
        template.id, template.source, template.trigger, tenant_id=tenant, fixtures=fixtures
    )
    trial.template = template.ref(example)
    await require_fixtures_pass(ctx.runtime, trial)
    store = ctx.runtime.stores.templates
    if (
        await store.get(tenant, template.id) is None
        and len(await store.list_templates(tenant)) >= MAX_TENANT_TEMPLATES
    ):
        raise ProblemError(
            "conflict",
            f"a tenant may publish at most {MAX_TENANT_TEMPLATES} templates; delete one",
        )
    try:
        return await store.publish(template)
    except TemplateConflict as exc:
        raise ProblemError("conflict", str(exc)) from None


async def delete_template(ctx: Ctx, template_id: str) -> Template:
    """Delete one of the caller's tenant's templates (scripts made from it keep working)."""
    if builtin_template(template_id) is not None:
        raise _builtin_refused(template_id, "deleted")
    if ctx.tenant_id is None or len(template_id) > MAX_TEMPLATE_ID_LENGTH:
        raise _not_found(template_id)
    store = ctx.runtime.stores.templates
    found = await store.get(ctx.tenant_id, template_id)
    if found is None or not await store.delete(ctx.tenant_id, template_id):
        raise _not_found(template_id)
    return found
