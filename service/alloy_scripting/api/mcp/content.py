"""The server's resources (script sources, the AsyncAPI contract, the helper reference) and
its prompt for writing a before-hook. Helpers and limits are read from the code that
enforces them (`api.catalogue`, `EngineConfig`), never restated by hand."""

import json
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import Field

from alloy_scripting.api.catalogue import HelperInfo, helper_catalogue
from alloy_scripting.api.mcp.backend import BackendFor, Contract
from alloy_scripting.api.mcp.errors import problem_of
from alloy_scripting.engine.config import EngineConfig
from alloy_scripting.model.enums import EventType, ExecutionPhase

SCRIPT_URI = "alloy://scripts/{script_id}"
ASYNCAPI_URI = "alloy://contracts/asyncapi"
HELPERS_URI = "alloy://reference/helpers"

GLOBALS = """\
- `entity`: the entity being written (a dict; read and write). Your changes are the top-level
  fields whose value differs at the end; deleted fields are reported as removed.
- `ctx`: phase, event, entity_type, entity_id, tenant_id, user_id, script, now.
- `abort(reason)`: reject the operation (the hook answers `rejected` with the reason).
- `log(...)`, `warn(...)`, `error(...)`: captured in the run's logs.
- A toolbox: `json`, `math`, `re` (time-bounded), `datetime`, `date`, `timedelta`,
  `timezone`, `Decimal`, `b64encode`/`b64decode`, `sha256`, `uuid4`, and the usual builtins
  (`len`, `range`, `sorted`, `min`, `max`, `sum`, `zip`, `enumerate`, ...).
- Refused: imports, classes, `with`, generators, `match`, dunder names and attributes; an
  undefined name is a validation error."""

EXAMPLE = """\
if entity["amount"] < 100:
    abort("Minimum deal amount is 100")
if not validate_email(entity.get("contact_email")):
    abort("contact_email is not a valid address")
if entity["amount"] > 100000:
    entity["status"] = "needs_approval"
"""


def helper_reference(helpers: list[HelperInfo]) -> str:
    """The catalogue as a Markdown table."""
    lines = [
        "# Script helpers",
        "",
        "Generated from the helper registry. A helper used outside its phases is a "
        "validation error naming the phase.",
        "",
        "| helper | phases | usable | description |",
        "|---|---|---|---|",
    ]
    for helper in helpers:
        phases = ", ".join(phase.value for phase in helper.phases)
        usable = "yes" if helper.available else "no (reserved)"
        lines.append(f"| `{helper.typed_signature}` | {phases} | {usable} | {helper.description} |")
    return "\n".join(lines) + "\n"


def _limits(config: EngineConfig) -> str:
    return (
        f"- at most {config.max_operations:,} operations (loop iterations, calls), call depth "
        f"{config.max_call_depth}, {config.timeout * 1000:.0f} ms wall time\n"
        f"- strings up to {config.max_string_size // 1024} KiB, collections up to "
        f"{config.max_array_size:,} items, integers up to {config.max_int_bits} bits\n"
        f"- {config.max_log_entries} log lines; source up to {config.max_source_size // 1024} KiB\n"
        "- a breach ends the run (`limit_exceeded` or `timeout`); `abort` and limit breaches "
        "cannot be caught by `try/except`"
    )


def before_hook_prompt(entity_type: str, event: EventType, requirement: str) -> str:
    helpers = [h for h in helper_catalogue() if h.available and ExecutionPhase.BEFORE in h.phases]
    helper_lines = "\n".join(f"- `{h.typed_signature}`: {h.description}" for h in helpers)
    return f"""\
Write an alloy-scripting before-hook for entity type `{entity_type}` on `{event.value}`.

Requirement: {requirement or "(ask the user what the hook must enforce)"}

A before-hook runs synchronously while the entity is being written: it may change `entity`
or reject the write with `abort(reason)`. If it fails (an error, a breached limit) the write
is rejected too, unless the script's `on_error` is `continue`.

What the script sees:
{GLOBALS}

Helpers available in the `before` phase (others, such as `emit`, are validation errors here):
{helper_lines}

Limits (per run):
{_limits(EngineConfig())}

Example:
```python
{EXAMPLE}```

Steps: write the source; check it with `alloy_validate_script` (phase `before`) and fix every
error diagnostic (line and column given); create it with `alloy_create_script` and trigger
{{"type": "event", "entity_type": "{entity_type}", "event": "{event.value}"}}; try it with
`alloy_run_script` (`dry_run`, a sample `entity`) on an accepted and a rejected case; set
status `active` when it behaves.
"""


def register(server: MCPServer, backend_for: BackendFor, contract: Contract) -> None:
    @server.resource(
        SCRIPT_URI,
        name="script-source",
        title="Script source",
        description="The source of one of your scripts, by id.",
        mime_type="text/x-python",
    )
    async def script_source(script_id: str, ctx: Context) -> str:
        try:
            script = await backend_for(ctx).get_script(script_id, None)
        except Exception as exc:
            problem = problem_of(exc)
            if problem is None:
                raise
            if problem.get("status") == 404:
                raise ResourceNotFoundError(str(problem.get("detail", "not found"))) from exc
            raise ResourceError(json.dumps(problem, default=str)) from exc
        return script.source

    @server.resource(
        ASYNCAPI_URI,
        name="asyncapi",
        title="AsyncAPI contract",
        description="The Kafka surface (topics, EntityEvent, HookOutcome) as AsyncAPI 3.0 JSON.",
        mime_type="application/json",
    )
    async def asyncapi() -> str:
        return json.dumps(await contract(), indent=2)

    @server.resource(
        HELPERS_URI,
        name="helper-reference",
        title="Script helper reference",
        description="Every helper with its signature, phases and description (Markdown).",
        mime_type="text/markdown",
    )
    def helpers() -> str:
        return helper_reference(helper_catalogue())

    @server.prompt(
        name="write_before_hook",
        title="Write a before-hook",
        description="Guides writing a before-hook: globals, helpers, limits, an example.",
    )
    def write_before_hook(
        entity_type: Annotated[str, Field(description="The entity type, e.g. `deal`.")],
        event: Annotated[
            str, Field(description="before_create (default), before_update or before_delete.")
        ] = EventType.BEFORE_CREATE.value,
        requirement: Annotated[str, Field(description="What the hook must enforce.")] = "",
    ) -> str:
        before = [e.value for e in EventType if e.phase is ExecutionPhase.BEFORE]
        if event not in before or not entity_type.strip() or len(entity_type) > 128:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"entity_type must be 1 to 128 characters and event one of {before}",
            )
        return before_hook_prompt(entity_type, EventType(event), requirement)
