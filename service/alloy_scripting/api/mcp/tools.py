"""The tools (names as in the seed's MCP crate).

Each tool validates its arguments with the REST API's own field types and request bodies,
then calls the caller's `ScriptBackend`; failures come back as tool errors carrying the REST
problem (`server.AlloyMCPServer`, `errors`).
"""

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ToolAnnotations
from pydantic import AwareDatetime, Field

from alloy_scripting.api.catalogue import entity_types
from alloy_scripting.api.mcp.backend import BackendFor
from alloy_scripting.api.mcp.models import Deleted, EntityTypes, HelperCatalogue, RunReport
from alloy_scripting.api.problems import ProblemError
from alloy_scripting.api.replay_schemas import ReplayIn, ReplayOut
from alloy_scripting.api.schemas import (
    MAX_LIMIT,
    MAX_OFFSET,
    Name,
    Priority,
    Revision,
    RollbackIn,
    RunIn,
    ScriptCreate,
    ScriptList,
    ScriptOut,
    ScriptUpdate,
    TriggerIn,
    ValidateIn,
    ValidateOut,
    VersionNumber,
)
from alloy_scripting.api.shadow_schemas import ShadowIn, ShadowOut
from alloy_scripting.api.template_schemas import (
    TemplateInstantiate,
    TemplateList,
    TemplatePublish,
)
from alloy_scripting.model.enums import EventType, ExecutionPhase, ExecutionStatus, ScriptStatus
from alloy_scripting.model.fixtures import MAX_FIXTURES, Fixture
from alloy_scripting.model.page import ExecutionPage, ExecutionQuery, ScriptQuery
from alloy_scripting.model.script import (
    MAX_DESCRIPTION_LENGTH,
    MAX_ENTITY_TYPE_LENGTH,
    OnErrorPolicy,
    ScriptSource,
    TriggerType,
)
from alloy_scripting.model.template_ref import MAX_TEMPLATE_ID_LENGTH, TEMPLATE_ID_PATTERN
from alloy_scripting.model.templates import MAX_TAG_LENGTH, MAX_TAGS, Template

ScriptId = Annotated[str, Field(min_length=1, max_length=64, description="The script's id.")]
OptionalId = Annotated[
    Annotated[str, Field(min_length=1, max_length=64)] | None,
    Field(description="The script's id (or give `name`)."),
]
OptionalName = Annotated[Name | None, Field(description="The script's name (or `script_id`).")]
OptionalScriptFilter = Annotated[
    Annotated[str, Field(min_length=1, max_length=64)] | None,
    Field(description="Only this script's records (its id)."),
]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET, description="Items to skip.")]
Limit = Annotated[int, Field(ge=0, le=MAX_LIMIT, description=f"At most {MAX_LIMIT}.")]
Source = Annotated[
    ScriptSource,
    Field(description="Python-subset source; `alloy_script_helpers` lists what it may call."),
]
Trigger = Annotated[
    TriggerIn,
    Field(
        description="When it runs: {type: event, entity_type, event} | {type: cron, expression, "
        "timezone} | {type: manual} | {type: api, name}."
    ),
]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION_LENGTH)]
TemplateId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_TEMPLATE_ID_LENGTH,
        pattern=TEMPLATE_ID_PATTERN,
        description="The template's id (see `alloy_list_templates`).",
    ),
]
JsonObject = dict[str, Any]

_READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
_DESTROY = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)


def _one_of(script_id: str | None, name: str | None) -> None:
    if (script_id is None) == (name is None):
        raise ProblemError(
            "validation",
            "give exactly one of script_id and name",
            errors=[{"loc": ["script_id"], "msg": "exactly one of script_id, name", "type": ""}],
        )


def register(server: MCPServer, backend_for: BackendFor) -> None:
    """Add every tool to `server`; `backend_for` gives each call the caller's backend."""

    @server.tool(annotations=_READ)
    async def alloy_list_scripts(
        ctx: Context,
        status: Annotated[ScriptStatus | None, Field(description="Only this status.")] = None,
        trigger_type: Annotated[TriggerType | None, Field(description="Only this trigger.")] = None,
        entity_type: Annotated[
            str | None,
            Field(
                min_length=1,
                max_length=MAX_ENTITY_TYPE_LENGTH,
                pattern=r"^[^\x00-\x1f]+$",
                description="Only scripts bound to this entity type.",
            ),
        ] = None,
        event: Annotated[EventType | None, Field(description="Only scripts on this event.")] = None,
        name_prefix: Annotated[
            str | None, Field(max_length=128, pattern=r"^[A-Za-z0-9_.-]*$")
        ] = None,
        offset: Offset = 0,
        limit: Limit = 50,
    ) -> ScriptList:
        """List the scripts of your tenant, sorted by name, with the total number of matches."""
        query = ScriptQuery(
            status=status,
            trigger_type=trigger_type,
            entity_type=entity_type,
            event=event,
            name_prefix=name_prefix or None,
        )
        return await backend_for(ctx).list_scripts(query, offset, limit)

    @server.tool(annotations=_READ)
    async def alloy_get_script(
        ctx: Context, script_id: OptionalId = None, name: OptionalName = None
    ) -> ScriptOut:
        """Read one script (source, trigger, status, revision, error count) by id or by name."""
        _one_of(script_id, name)
        return await backend_for(ctx).get_script(script_id, name)

    @server.tool(annotations=_WRITE)
    async def alloy_create_script(
        ctx: Context,
        name: Annotated[Name, Field(description="Unique in your tenant: letters, digits, _.-")],
        source: Source,
        trigger: Trigger,
        description: Description = "",
        status: Annotated[
            ScriptStatus, Field(description="`active` to enable at once; `draft` by default.")
        ] = ScriptStatus.DRAFT,
        priority: Annotated[Priority, Field(description="Lower runs first.")] = 0,
        on_error: Annotated[
            OnErrorPolicy,
            Field(description="`fail`: a failing before-hook rejects; `continue`: ignore it."),
        ] = OnErrorPolicy.FAIL,
    ) -> ScriptOut:
        """Create a script. It is validated first for the phase of its trigger: a source with
        errors is refused (problem type `script-invalid`, with the diagnostics)."""
        body = ScriptCreate(
            name=name,
            source=source,
            trigger=trigger,
            description=description,
            status=status,
            priority=priority,
            on_error=on_error,
        )
        return await backend_for(ctx).create_script(body)

    @server.tool(annotations=_WRITE)
    async def alloy_update_script(
        ctx: Context,
        script_id: ScriptId,
        revision: Annotated[
            Revision,
            Field(description="The revision you read; a stale one is a `conflict` problem."),
        ],
        name: Annotated[Name | None, Field(description="A new name.")] = None,
        source: Annotated[ScriptSource | None, Field(description="A new source.")] = None,
        trigger: Annotated[TriggerIn | None, Field(description="A new trigger.")] = None,
        description: Annotated[str | None, Field(max_length=MAX_DESCRIPTION_LENGTH)] = None,
        status: Annotated[ScriptStatus | None, Field(description="A new status.")] = None,
        priority: Annotated[Priority | None, Field(description="A new priority.")] = None,
        on_error: Annotated[OnErrorPolicy | None, Field(description="A new policy.")] = None,
    ) -> ScriptOut:
        """Change the given fields of a script (omitted ones keep their value). A new source or
        trigger is validated first (`script-invalid` with diagnostics when it has errors)."""
        fields = {
            "name": name,
            "source": source,
            "trigger": trigger,
            "description": description,
            "status": status,
            "priority": priority,
            "on_error": on_error,
        }
        body = ScriptUpdate(revision=revision, **{k: v for k, v in fields.items() if v is not None})
        return await backend_for(ctx).update_script(script_id, body)

    @server.tool(annotations=_DESTROY)
    async def alloy_delete_script(
        ctx: Context,
        script_id: ScriptId,
        revision: Annotated[
            Revision | None, Field(description="The revision you read (stale: `conflict`).")
        ] = None,
    ) -> Deleted:
        """Delete a script and its versions (its execution records are kept)."""
        await backend_for(ctx).delete_script(script_id, revision)
        return Deleted(script_id=script_id)

    @server.tool(annotations=_READ)
    async def alloy_validate_script(
        ctx: Context,
        source: Source,
        phase: Annotated[
            ExecutionPhase | None,
            Field(description="Also check the helpers of this phase (e.g. `before`)."),
        ] = None,
    ) -> ValidateOut:
        """Check a source without saving it: diagnostics with severity, message, line and
        column; `ok` is false when there is an error."""
        return await backend_for(ctx).validate(ValidateIn(source=source, phase=phase))

    @server.tool(annotations=_WRITE)
    async def alloy_run_script(
        ctx: Context,
        script_id: OptionalId = None,
        name: OptionalName = None,
        params: Annotated[JsonObject, Field(description="The script's `params`.")] = {},  # noqa: B006
        entity: Annotated[
            JsonObject | None, Field(description="A sample entity (the script's `entity`).")
        ] = None,
        entity_type: Annotated[
            str | None, Field(min_length=1, max_length=MAX_ENTITY_TYPE_LENGTH)
        ] = None,
        dry_run: Annotated[
            bool,
            Field(description="Run without effects, execution record or failure count."),
        ] = True,
    ) -> RunReport:
        """Run a script once by hand (phase `manual`, or `api` for API scripts): status,
        duration, changes, logs, error. A dry run (the default) has no lasting effect;
        disabled scripts run only dry."""
        _one_of(script_id, name)
        body = RunIn(params=params, entity=entity, entity_type=entity_type, dry_run=dry_run)
        out = await backend_for(ctx).run(script_id, name, body)
        return RunReport.of(out, dry_run=dry_run)

    @server.tool(annotations=_READ)
    async def alloy_list_executions(
        ctx: Context,
        script_id: OptionalScriptFilter = None,
        status: ExecutionStatus | None = None,
        phase: ExecutionPhase | None = None,
        entity_type: Annotated[str | None, Field(min_length=1, max_length=128)] = None,
        entity_id: Annotated[str | None, Field(min_length=1, max_length=256)] = None,
        since: Annotated[AwareDatetime | None, Field(description="Started at or after.")] = None,
        until: Annotated[AwareDatetime | None, Field(description="Started before.")] = None,
        offset: Offset = 0,
        limit: Limit = 20,
    ) -> ExecutionPage:
        """Your tenant's execution log, newest first (status, duration, error, changes,
        logs), narrowed by any of script, status, phase, entity and start time."""
        query = ExecutionQuery(
            script_id=script_id,
            status=status,
            phase=phase,
            entity_type=entity_type,
            entity_id=entity_id,
            since=since,
            until=until,
        )
        return await backend_for(ctx).list_executions(query, offset, limit)

    @server.tool(annotations=_READ)
    async def alloy_replay_execution(
        ctx: Context,
        execution_id: Annotated[
            str, Field(min_length=1, max_length=64, description="The execution record's id.")
        ],
        version: Annotated[
            VersionNumber | None,
            Field(description="Replay this stored version (default: the current one)."),
        ] = None,
        source: Annotated[
            ScriptSource | None,
            Field(description="Replay an unsaved source instead (validated first)."),
        ] = None,
    ) -> ReplayOut:
        """Run a recorded run's input again as a debug run (no side effects: nothing
        emitted, no HTTP call, no state write, nothing logged) and compare: the new result
        and its diff against the recorded one (outcome, status, changes per key, removed
        fields, emitted events). A record whose input was not kept is `not-replayable`."""
        body = ReplayIn(version=version, source=source)
        return await backend_for(ctx).replay(execution_id, body)

    @server.tool(annotations=_WRITE)
    async def alloy_reset_script(ctx: Context, script_id: ScriptId) -> ScriptOut:
        """Re-enable a script disabled after repeated failures: active, error count 0."""
        return await backend_for(ctx).reset(script_id)

    @server.tool(annotations=_WRITE)
    async def alloy_rollback_script(
        ctx: Context,
        script_id: ScriptId,
        version: Annotated[VersionNumber, Field(description="The version to make current.")],
        revision: Annotated[
            Revision | None, Field(description="The revision you read (stale: `conflict`).")
        ] = None,
    ) -> ScriptOut:
        """Make an earlier version current again (as a new version)."""
        body = RollbackIn(version=version, revision=revision)
        return await backend_for(ctx).rollback(script_id, body)

    @server.tool(annotations=_WRITE)
    async def alloy_start_shadow(
        ctx: Context,
        script_id: ScriptId,
        source: Annotated[Source, Field(description="The candidate version's source.")],
        until: Annotated[
            AwareDatetime,
            Field(description="When it stops by itself (ISO 8601 with offset, <= 30 days on)."),
        ],
        sample: Annotated[
            float, Field(ge=0.0, le=1.0, description="Share of live events it also runs.")
        ] = 1.0,
    ) -> ShadowOut:
        """Run a candidate version beside an active event script on live events (sampled),
        after each answer and without side effects, recording how its results differ.
        Promote it with `alloy_update_script` once `alloy_get_shadow` looks right."""
        body = ShadowIn(source=source, sample=sample, until=until)
        return await backend_for(ctx).start_shadow(script_id, body)

    @server.tool(annotations=_READ)
    async def alloy_get_shadow(ctx: Context, script_id: ScriptId) -> ShadowOut:
        """A script's shadow run: candidate, sample, until, and the comparisons so far (runs,
        same, different, errors, skipped, latest examples)."""
        return await backend_for(ctx).get_shadow(script_id)

    @server.tool(annotations=_DESTROY)
    async def alloy_stop_shadow(ctx: Context, script_id: ScriptId) -> ShadowOut:
        """End a script's shadow run; returns its final summary."""
        return await backend_for(ctx).stop_shadow(script_id)

    @server.tool(annotations=_READ)
    async def alloy_list_entity_types(ctx: Context) -> EntityTypes:
        """The entity types your event scripts are bound to (with their events), and every
        event name the service accepts with its phase."""
        return EntityTypes.of(await entity_types(backend_for(ctx).list_scripts))

    @server.tool(annotations=_READ)
    async def alloy_list_templates(
        ctx: Context,
        tag: Annotated[
            str | None, Field(min_length=1, max_length=MAX_TAG_LENGTH, description="Only these.")
        ] = None,
    ) -> TemplateList:
        """Ready-made scripts: the built-in templates and your tenant's (id, name,
        description, tags, suggested trigger). `alloy_get_template` shows one in full."""
        return await backend_for(ctx).list_templates(tag)

    @server.tool(annotations=_READ)
    async def alloy_get_template(ctx: Context, template_id: TemplateId) -> Template:
        """One template: its source (which reads its parameters as `config`), the JSON Schema
        of its parameters (types, defaults, bounds), suggested trigger and fixtures."""
        return await backend_for(ctx).get_template(template_id)

    @server.tool(annotations=_WRITE)
    async def alloy_instantiate_template(
        ctx: Context,
        template_id: TemplateId,
        name: Annotated[Name, Field(description="Name of the new script (unique in your tenant).")],
        params: Annotated[
            JsonObject,
            Field(
                description="Parameters, checked against the template's schema (defaults fill "
                "the rest); the script reads them as `config`."
            ),
        ] = {},  # noqa: B006
        trigger: Annotated[
            TriggerIn | None, Field(description="Another trigger than the suggested one.")
        ] = None,
        description: Annotated[str | None, Field(max_length=MAX_DESCRIPTION_LENGTH)] = None,
    ) -> ScriptOut:
        """Create a draft script from a template, with the template's fixtures. Invalid
        parameters are a `template-params-invalid` problem listing each error's path."""
        body = TemplateInstantiate(
            name=name, params=params, trigger=trigger, description=description
        )
        return await backend_for(ctx).instantiate_template(template_id, body)

    @server.tool(annotations=_WRITE)
    async def alloy_publish_template(
        ctx: Context,
        template_id: TemplateId,
        name: Annotated[str, Field(min_length=1, max_length=128)],
        source: Source,
        params_schema: Annotated[
            JsonObject,
            Field(
                description='JSON Schema (draft 2020-12) of the parameters: {"type": "object", '
                '"properties": {...}}; no remote $ref, no patternProperties.'
            ),
        ],
        trigger: Trigger,
        fixtures: Annotated[
            list[Fixture],
            Field(
                min_length=1,
                max_length=MAX_FIXTURES,
                description="Test cases; all must pass "
                "(run with `example_params` unless a case gives its own `config`).",
            ),
        ],
        example_params: Annotated[
            JsonObject, Field(description="Parameters the fixtures run with.")
        ] = {},  # noqa: B006
        description: Description = "",
        tags: Annotated[
            list[Annotated[str, Field(max_length=MAX_TAG_LENGTH)]], Field(max_length=MAX_TAGS)
        ] = [],  # noqa: B006
    ) -> Template:
        """Publish a template for your tenant (again: a new version). Refused unless the
        schema is valid, the source validates for the trigger's phase and every fixture
        passes; built-in ids cannot be taken (`template-builtin`)."""
        body = TemplatePublish(
            id=template_id,
            name=name,
            description=description,
            source=source,
            params_schema=params_schema,
            example_params=example_params,
            trigger=trigger,
            fixtures=fixtures,
            tags=tags,
        )
        return await backend_for(ctx).publish_template(body)

    @server.tool(annotations=_READ)
    async def alloy_script_helpers() -> HelperCatalogue:
        """Every helper a script may call: signature, description, the phases it is available
        in, and whether it is usable yet (reserved names fail on every call)."""
        return HelperCatalogue.of_registry()
