"""What every MCP transport must do, as checks on a connected SDK `Client`: the unit suite
runs them in memory, the integration suite over HTTP (FerretDB behind) and over stdio."""

from __future__ import annotations

import json
import uuid
from typing import Any

from mcp import Client

from alloy_scripting.api.problems import type_uri
from alloy_scripting.bridge.registry import REGISTRY
from alloy_scripting.model.enums import ExecutionPhase
from tests.unit.api.fixtures import INVALID_SOURCE, MANUAL_SOURCE, SEED_SOURCE

TOOLS = {
    # the seed's nine
    "alloy_list_scripts",
    "alloy_get_script",
    "alloy_create_script",
    "alloy_update_script",
    "alloy_delete_script",
    "alloy_validate_script",
    "alloy_run_script",
    "alloy_list_entity_types",
    "alloy_script_helpers",
    # beyond the seed
    "alloy_list_executions",
    "alloy_reset_script",
    "alloy_rollback_script",
    "alloy_replay_execution",
    # shadow runs
    "alloy_start_shadow",
    "alloy_get_shadow",
    "alloy_stop_shadow",
    # templates
    "alloy_list_templates",
    "alloy_get_template",
    "alloy_instantiate_template",
    "alloy_publish_template",
}
DEAL_TRIGGER = {"type": "event", "entity_type": "deal", "event": "before_create"}


def fresh(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


async def ok(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, (tool, result.content)
    assert isinstance(result.structured_content, dict), result
    return result.structured_content


async def problem(client: Client, tool: str, kind: str, **arguments: Any) -> dict[str, Any]:
    """The tool fails with the REST problem `kind`, as structured content and as JSON text."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, (tool, result)
    found = result.structured_content
    assert isinstance(found, dict), result
    assert found["type"] == type_uri(kind), found
    assert isinstance(found["title"], str) and found["title"]
    assert json.loads(result.content[0].text) == found  # type: ignore[union-attr]
    return found


async def check_tool_list(client: Client) -> None:
    listed = (await client.list_tools()).tools
    assert {tool.name for tool in listed} == TOOLS
    for tool in listed:
        assert tool.description and len(tool.description) > 30, tool.name
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None, tool.name
    by_name = {tool.name: tool for tool in listed}
    update = by_name["alloy_update_script"].input_schema
    assert set(update["required"]) == {"script_id", "revision"}
    assert "description" in update["properties"]["revision"]
    assert by_name["alloy_delete_script"].annotations.destructive_hint is True  # type: ignore[union-attr]
    assert by_name["alloy_list_scripts"].annotations.read_only_hint is True  # type: ignore[union-attr]


async def check_lifecycle(client: Client) -> None:
    """create -> validate -> run -> list executions -> update -> rollback -> delete."""
    invalid = await ok(client, "alloy_validate_script", source=INVALID_SOURCE)
    assert invalid["ok"] is False
    first = invalid["diagnostics"][0]
    assert first["severity"] == "error" and first["line"] == 1 and first["col"] >= 1
    assert "undefined_thing" in first["message"]
    emit_in_before = await ok(
        client, "alloy_validate_script", source='emit("x", {})\n', phase="before"
    )
    assert emit_in_before["ok"] is False and "before" in emit_in_before["diagnostics"][0]["message"]
    assert (await ok(client, "alloy_validate_script", source=MANUAL_SOURCE))["ok"] is True

    name = fresh("greeter")
    created = await ok(
        client,
        "alloy_create_script",
        name=name,
        source=MANUAL_SOURCE,
        trigger={"type": "manual"},
        status="active",
        description="says hello",
    )
    script_id = created["id"]
    assert created["name"] == name and created["version"] == 1 and created["status"] == "active"

    listed = await ok(client, "alloy_list_scripts", name_prefix=name)
    assert [s["id"] for s in listed["items"]] == [script_id] and listed["total"] == 1

    ran = await ok(client, "alloy_run_script", name=name, params={"who": "ada"}, dry_run=False)
    assert ran["status"] == "success" and ran["script_id"] == script_id and not ran["dry_run"]
    assert ran["emitted"] == [{"event_type": "greeted", "payload": {"who": "ada"}}]
    assert [entry["message"] for entry in ran["logs"]] == ["hello"]
    assert ran["duration_ms"] >= 0 and ran["error"] is None
    dry = await ok(client, "alloy_run_script", script_id=script_id)
    assert dry["dry_run"] is True and dry["status"] == "success" and dry["execution_id"] is None

    executions = await ok(client, "alloy_list_executions", script_id=script_id)
    assert executions["total"] == 1  # the dry run kept no record
    assert executions["items"][0]["status"] == "success"
    assert executions["items"][0]["script_id"] == script_id
    assert executions["items"][0]["id"] == ran["execution_id"]

    same = await ok(client, "alloy_replay_execution", execution_id=ran["execution_id"])
    assert same["diff"]["same"] is True and same["version"] == 1
    other = 'emit("greeted", {"who": "bob"})\n'
    changed = await ok(
        client, "alloy_replay_execution", execution_id=ran["execution_id"], source=other
    )
    assert changed["diff"]["emitted"] == {
        "added": [{"event_type": "greeted", "payload": {"who": "bob"}}],
        "removed": [{"event_type": "greeted", "payload": {"who": "ada"}}],
    }
    await problem(
        client, "alloy_replay_execution", "script-invalid",
        execution_id=ran["execution_id"], source=INVALID_SOURCE,
    )  # fmt: skip
    after_replays = await ok(client, "alloy_list_executions", script_id=script_id)
    assert after_replays["total"] == 1  # a replay keeps no record

    stale = created["revision"] + 7
    conflict = await problem(
        client,
        "alloy_update_script",
        "conflict",
        script_id=script_id,
        revision=stale,
        source='log("bye")\n',
    )
    assert conflict["revision"] == created["revision"]
    updated = await ok(
        client,
        "alloy_update_script",
        script_id=script_id,
        revision=created["revision"],
        source='log("bye")\n',
    )
    assert updated["version"] == 2 and updated["source"] == 'log("bye")\n'
    assert updated["description"] == "says hello"  # omitted fields keep their value
    refused = await problem(
        client,
        "alloy_update_script",
        "script-invalid",
        script_id=script_id,
        revision=updated["revision"],
        source=INVALID_SOURCE,
    )
    assert refused["diagnostics"][0]["line"] == 1

    rolled = await ok(client, "alloy_rollback_script", script_id=script_id, version=1)
    assert rolled["version"] == 3 and rolled["source"] == MANUAL_SOURCE
    again = await ok(client, "alloy_get_script", script_id=script_id)
    assert again["source"] == MANUAL_SOURCE and again["revision"] == rolled["revision"]
    reset = await ok(client, "alloy_reset_script", script_id=script_id)
    assert reset["status"] == "active" and reset["error_count"] == 0

    assert await ok(client, "alloy_delete_script", script_id=script_id) == {
        "script_id": script_id,
        "deleted": True,
    }
    await problem(client, "alloy_get_script", "not-found", script_id=script_id)
    await problem(client, "alloy_list_executions", "not-found", script_id=script_id)


async def check_tenant_isolation(a: Client, b: Client) -> None:
    """A script of tenant A: B never lists, reads, runs, changes nor deletes it."""
    name = fresh("acme_only")
    created = await ok(
        a, "alloy_create_script", name=name, source=SEED_SOURCE, trigger=DEAL_TRIGGER
    )
    script_id = created["id"]
    assert (await ok(b, "alloy_list_scripts", name_prefix=name))["total"] == 0
    await problem(b, "alloy_get_script", "not-found", script_id=script_id)
    await problem(b, "alloy_get_script", "not-found", name=name)
    await problem(b, "alloy_run_script", "not-found", script_id=script_id)
    await problem(
        b, "alloy_update_script", "not-found", script_id=script_id, revision=0, source="x = 1\n"
    )
    await problem(b, "alloy_delete_script", "not-found", script_id=script_id)
    await problem(b, "alloy_list_executions", "not-found", script_id=script_id)
    ran = await ok(a, "alloy_run_script", script_id=script_id, entity={"amount": 5}, dry_run=False)
    await problem(b, "alloy_replay_execution", "not-found", execution_id=ran["execution_id"])
    assert name not in json.dumps(await ok(b, "alloy_list_entity_types"))
    still = await ok(a, "alloy_get_script", script_id=script_id)
    assert still["source"] == SEED_SOURCE and still["revision"] == created["revision"]
    await ok(a, "alloy_delete_script", script_id=script_id)


async def check_invalid_input(client: Client) -> None:
    """Bad arguments are tool errors with the REST problem types, never crashes."""
    bad_name = await problem(
        client,
        "alloy_create_script",
        "validation",
        name="no spaces allowed",
        source=SEED_SOURCE,
        trigger=DEAL_TRIGGER,
    )
    assert bad_name["errors"][0]["loc"] == ["name"]
    await problem(
        client,
        "alloy_create_script",
        "validation",
        name=fresh("x"),
        source=SEED_SOURCE,
        trigger={"type": "event", "entity_type": "deal", "event": "before_lunch"},
    )
    await problem(client, "alloy_get_script", "validation")  # neither id nor name
    await problem(client, "alloy_get_script", "validation", script_id="a", name="b")
    await problem(client, "alloy_list_scripts", "validation", limit=10_000)
    await problem(client, "alloy_list_scripts", "validation", entity_type="de\x00al")
    await problem(client, "alloy_run_script", "validation", name="x", params={"n": 2**70})
    invalid = await problem(
        client,
        "alloy_create_script",
        "script-invalid",
        name=fresh("broken"),
        source=INVALID_SOURCE,
        trigger=DEAL_TRIGGER,
    )
    assert invalid["diagnostics"][0]["message"].startswith("undefined name")
    await problem(client, "alloy_get_script", "not-found", script_id="../../etc/passwd")
    unknown = await client.call_tool("alloy_no_such_tool", {})
    assert unknown.is_error


async def check_catalogue(client: Client) -> None:
    """The helper tool equals the helper registry: names, phases, availability."""
    helpers = (await ok(client, "alloy_script_helpers"))["helpers"]
    assert [h["name"] for h in helpers] == list(REGISTRY)
    for helper in helpers:
        spec = REGISTRY[helper["name"]]
        assert {ExecutionPhase(p) for p in helper["phases"]} == set(spec.phases)
        assert helper["available"] is (not spec.reserved)
        assert helper["signature"].startswith(helper["name"] + "(")
        assert helper["description"]
    unavailable = {h["name"] for h in helpers if not h["available"]}
    assert unavailable == set()  # the HTTP helpers are backed by the HTTP bridge
    by_name = {h["name"]: h for h in helpers}
    assert (
        by_name["validate_length"]["signature"]
        == "validate_length(value, min=None, max=None) -> bool"
    )
    assert by_name["validate_pattern"]["signature"] == "validate_pattern(value, pattern) -> bool"

    listing = await ok(client, "alloy_list_entity_types")
    assert [e["name"] for e in listing["events"]][:3] == [
        "before_create",
        "before_update",
        "before_delete",
    ]
    assert len(listing["events"]) == 9


async def check_resources_and_prompt(client: Client) -> None:
    name = fresh("res")
    created = await ok(
        client, "alloy_create_script", name=name, source=SEED_SOURCE, trigger=DEAL_TRIGGER
    )
    source = await client.read_resource(f"alloy://scripts/{created['id']}")
    assert source.contents[0].text == SEED_SOURCE  # type: ignore[union-attr]
    assert source.contents[0].mime_type == "text/x-python"
    templates = (await client.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["alloy://scripts/{script_id}"]
    static = {str(r.uri) for r in (await client.list_resources()).resources}
    assert static == {"alloy://contracts/asyncapi", "alloy://reference/helpers"}

    contract = json.loads(
        (await client.read_resource("alloy://contracts/asyncapi")).contents[0].text  # type: ignore[union-attr]
    )
    assert contract["asyncapi"].startswith("3.") and "EntityEvent" in json.dumps(contract)
    reference = (await client.read_resource("alloy://reference/helpers")).contents[0].text  # type: ignore[union-attr]
    for helper_name in REGISTRY:
        assert f"`{helper_name}(" in reference
    assert "no (reserved)" not in reference

    prompts = (await client.list_prompts()).prompts
    assert [p.name for p in prompts] == ["write_before_hook"]
    rendered = await client.get_prompt(
        "write_before_hook", {"entity_type": "deal", "requirement": "amount at least 100"}
    )
    text = rendered.messages[0].content.text  # type: ignore[union-attr]
    assert "`deal`" in text and "amount at least 100" in text and "abort(" in text
    assert "validate_email(value)" in text and "50,000 operations" in text
    assert "emit(event_type" not in text and "http_get" not in text
    await ok(client, "alloy_delete_script", script_id=created["id"])
