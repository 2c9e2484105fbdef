"""The template tools, as checks on a connected SDK `Client` (in memory in the unit suite,
over HTTP and stdio in the integration suite)."""

from __future__ import annotations

from mcp import Client

from alloy_scripting.model.template_catalogue import builtin_templates
from tests.unit.api.mcp_flows import fresh, ok, problem
from tests.unit.api.test_templates import HOSTILE, discount_template


async def check_templates(client: Client) -> None:
    """list -> get -> instantiate (params as data) -> invalid params -> publish -> use."""
    listed = await ok(client, "alloy_list_templates")
    ids = [item["id"] for item in listed["items"]]
    assert set(builtin_templates()) <= set(ids)
    assert [i["id"] for i in (await ok(client, "alloy_list_templates", tag="sla"))["items"]] == [
        "sla-escalation"
    ]
    got = await ok(client, "alloy_get_template", template_id="required-fields")
    assert got["params_schema"]["required"] == ["fields"] and got["owner"] is None

    name = fresh("contact_fields")
    made = await ok(
        client,
        "alloy_instantiate_template",
        template_id="required-fields",
        name=name,
        params={"fields": ["email"], "message": HOSTILE},
    )
    assert made["status"] == "draft" and made["name"] == name
    assert made["source"] == builtin_templates()["required-fields"].source
    assert made["template"]["params"] == {"fields": ["email"], "message": HOSTILE}
    run = await ok(client, "alloy_run_script", script_id=made["id"], entity={})
    assert run["status"] == "aborted" and run["reason"] == HOSTILE + ": email"

    bad = await problem(
        client,
        "alloy_instantiate_template",
        "template-params-invalid",
        template_id="required-fields",
        name=fresh("x"),
        params={"fields": [], "extra": 1},
    )
    assert {tuple(e["loc"]) for e in bad["errors"]} >= {("params", "fields"), ("params",)}
    await problem(client, "alloy_get_template", "not-found", template_id="no-such-template")
    await problem(
        client,
        "alloy_instantiate_template",
        "not-found",
        template_id="no-such-template",
        name=fresh("x"),
    )

    body = discount_template(fresh("mcp-discount").replace("_", "-"))
    template_id = body.pop("id")
    published = await ok(client, "alloy_publish_template", template_id=template_id, **body)
    assert published["version"] == 1 and published["owner"] is not None
    mine = await ok(
        client,
        "alloy_instantiate_template",
        template_id=template_id,
        name=fresh("discounts"),
        params={"percent": 9},
    )
    assert mine["template"]["owner"] == published["owner"]
    failing = dict(body, source='entity["discount"] = 1\n')
    await problem(
        client, "alloy_publish_template", "fixtures-failing", template_id=template_id, **failing
    )
    await problem(
        client,
        "alloy_publish_template",
        "template-builtin",
        template_id="required-fields",
        **body,
    )


async def check_template_isolation(owner: Client, other: Client) -> None:
    """A template `owner` publishes is invisible to `other` and cannot be instantiated by it."""
    body = discount_template(fresh("private").replace("_", "-"))
    template_id = body.pop("id")
    await ok(owner, "alloy_publish_template", template_id=template_id, **body)
    listed = await ok(other, "alloy_list_templates")
    assert template_id not in [item["id"] for item in listed["items"]]
    await problem(other, "alloy_get_template", "not-found", template_id=template_id)
    await problem(
        other,
        "alloy_instantiate_template",
        "not-found",
        template_id=template_id,
        name=fresh("stolen"),
    )
