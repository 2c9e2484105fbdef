"""``/templates``: the catalogue, instantiation into draft scripts (parameters validated and
kept as data), tenants' own templates, isolated per tenant."""

from __future__ import annotations

from typing import Any

import httpx

from alloy_scripting.model.template_catalogue import builtin_templates
from tests.unit.api.fixtures import assert_problem

A = {"X-Tenant-Id": "tenant-a"}
B = {"X-Tenant-Id": "tenant-b"}
HOSTILE = "'); __import__('os').system('id') #\n\"\"\"\nabort('x')"

DISCOUNT_SOURCE = (
    'if entity.get("amount", 0) >= config["from_amount"]:\n'
    '    entity["discount"] = config["percent"]\n'
)


def discount_template(template_id: str = "acme-discount", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": template_id,
        "name": "Volume discount",
        "description": "A discount above an amount.",
        "source": DISCOUNT_SOURCE,
        "params_schema": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "from_amount": {"type": "number", "minimum": 0, "default": 1000},
                "percent": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
            },
        },
        "trigger": {"type": "event", "entity_type": "deal", "event": "before_create"},
        "fixtures": [
            {
                "name": "big",
                "entity": {"amount": 2000},
                "expect": {"outcome": "continue", "changes": {"discount": 5}},
            },
            {
                "name": "small",
                "entity": {"amount": 10},
                "expect": {"outcome": "continue", "changes": {}},
            },
        ],
        "tags": ["deals"],
    }
    body.update(fields)
    return body


async def test_the_catalogue_is_listed_and_readable(client: httpx.AsyncClient) -> None:
    listed = (await client.get("/templates")).json()
    ids = [item["id"] for item in listed["items"]]
    assert ids == sorted(builtin_templates())
    assert listed["total"] == len(ids) >= 8
    assert all(item["builtin"] and item["owner"] is None for item in listed["items"])
    assert "source" not in listed["items"][0]
    one = (await client.get("/templates/deal-amount-approval")).json()
    assert one["source"].startswith("field = config")
    assert one["params_schema"]["properties"]["min_amount"]["default"] == 100
    assert one["trigger"] == {"type": "event", "entity_type": "deal", "event": "before_create"}
    assert len(one["fixtures"]) >= 2
    by_tag = (await client.get("/templates", params={"tag": "webhook"})).json()
    assert [item["id"] for item in by_tag["items"]] == ["webhook-on-create"]


async def test_unknown_templates_are_not_found(client: httpx.AsyncClient) -> None:
    for path in ("/templates/nope", "/templates/" + "x" * 300, "/templates/..%2f..%2fetc"):
        assert_problem(await client.get(path), 404, "not-found")
    response = await client.post("/templates/nope/instantiate", json={"name": "n"})
    assert_problem(response, 404, "not-found")


async def test_instantiate_makes_a_draft_with_fixtures_and_params(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/templates/deal-amount-approval/instantiate",
        json={"name": "deal_rules", "params": {"min_amount": 250, "approval_status": HOSTILE}},
        headers=A,
    )
    assert response.status_code == 201, response.text
    script = response.json()
    assert response.headers["Location"] == f"/scripts/{script['id']}"
    assert script["status"] == "draft" and script["tenant_id"] == "tenant-a"
    template = builtin_templates()["deal-amount-approval"]
    assert script["source"] == template.source  # never built from the parameters
    assert script["template"]["id"] == "deal-amount-approval"
    assert script["template"]["version"] == template.version
    assert script["template"]["params"]["min_amount"] == 250
    assert script["template"]["params"]["approval_status"] == HOSTILE
    assert script["template"]["params"]["approval_threshold"] == 100000  # default
    assert len(script["fixtures"]) == len(template.fixtures)

    sid = script["id"]
    report = (await client.post(f"/scripts/{sid}/test", headers=A)).json()
    assert report["passed"] is True, report
    # the instance's own parameters are what it runs with
    big = await client.post(f"/scripts/{sid}/debug", json={"entity": {"amount": 10**6}}, headers=A)
    assert big.json()["result"]["changes"] == {"status": HOSTILE}
    small = await client.post(f"/scripts/{sid}/debug", json={"entity": {"amount": 200}}, headers=A)
    assert small.json()["result"]["status"] == "aborted"
    assert "Minimum deal amount is 250" in small.json()["result"]["reason"]
    activated = await client.post(f"/scripts/{sid}/activate", headers=A)
    assert activated.status_code == 200, activated.text


async def test_instantiate_with_another_trigger(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/templates/required-fields/instantiate",
        json={
            "name": "lead_fields",
            "params": {"fields": ["company"]},
            "trigger": {"type": "event", "entity_type": "lead", "event": "before_update"},
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["trigger"]["entity_type"] == "lead"
    # a trigger whose phase lacks the template's helpers is refused
    refused = await client.post(
        "/templates/webhook-on-create/instantiate",
        json={
            "name": "hook_before",
            "params": {"url": "https://hooks.example.com/x"},
            "trigger": {"type": "event", "entity_type": "deal", "event": "before_create"},
        },
    )
    assert_problem(refused, 422, "script-invalid")


async def test_invalid_params_list_each_error_path(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/templates/webhook-on-create/instantiate",
        json={
            "name": "hook",
            "params": {"url": "http://insecure.example", "timeout_seconds": 99, "fields": [1]},
        },
    )
    problem = assert_problem(response, 422, "template-params-invalid")
    locs = {tuple(error["loc"]) for error in problem["errors"]}
    assert {("params", "url"), ("params", "timeout_seconds"), ("params", "fields", 0)} <= locs
    missing = await client.post("/templates/webhook-on-create/instantiate", json={"name": "h"})
    problem = assert_problem(missing, 422, "template-params-invalid")
    assert problem["errors"][0]["type"] == "required"
    dollar = await client.post(
        "/templates/required-fields/instantiate",
        json={"name": "h", "params": {"fields": ["a"], "$where": "1"}},
    )
    problem = assert_problem(dollar, 422, "template-params-invalid")
    assert problem["errors"][0]["loc"] == ["params", "$where"]
    # nothing was created
    assert (await client.get("/scripts")).json()["total"] == 0


async def test_a_tenant_publishes_and_instantiates_its_own(client: httpx.AsyncClient) -> None:
    response = await client.post("/templates", json=discount_template(), headers=A)
    assert response.status_code == 201, response.text
    published = response.json()
    assert published["owner"] == "tenant-a" and published["version"] == 1
    assert response.headers["Location"] == "/templates/acme-discount"

    ids = [item["id"] for item in (await client.get("/templates", headers=A)).json()["items"]]
    assert "acme-discount" in ids and "deal-amount-approval" in ids
    made = await client.post(
        "/templates/acme-discount/instantiate",
        json={"name": "discounts", "params": {"percent": 7}},
        headers=A,
    )
    assert made.status_code == 201, made.text
    assert made.json()["template"] == {
        "id": "acme-discount",
        "version": 1,
        "owner": "tenant-a",
        "params": {"from_amount": 1000, "percent": 7},
    }
    again = await client.post("/templates", json=discount_template(description="v2"), headers=A)
    assert again.status_code == 201 and again.json()["version"] == 2
    assert again.json()["created_at"] == published["created_at"]

    assert (await client.delete("/templates/acme-discount", headers=A)).status_code == 204
    assert_problem(await client.get("/templates/acme-discount", headers=A), 404, "not-found")
    # the script made from it keeps working
    sid = made.json()["id"]
    assert (await client.post(f"/scripts/{sid}/test", headers=A)).json()["passed"] is True


async def test_tenant_templates_are_isolated(client: httpx.AsyncClient) -> None:
    assert (await client.post("/templates", json=discount_template(), headers=A)).status_code == 201
    for headers in (B, {}):
        ids = [i["id"] for i in (await client.get("/templates", headers=headers)).json()["items"]]
        assert "acme-discount" not in ids
        assert_problem(
            await client.get("/templates/acme-discount", headers=headers), 404, "not-found"
        )
        made = await client.post(
            "/templates/acme-discount/instantiate", json={"name": "stolen"}, headers=headers
        )
        assert_problem(made, 404, "not-found")
        assert_problem(
            await client.delete("/templates/acme-discount", headers=headers), 404, "not-found"
        )
    # B may publish the same id: its own template, A's untouched
    other = discount_template(description="B's")
    assert (await client.post("/templates", json=other, headers=B)).status_code == 201
    a_view = (await client.get("/templates/acme-discount", headers=A)).json()
    assert a_view["owner"] == "tenant-a" and a_view["description"] == "A discount above an amount."


async def test_built_in_ids_cannot_be_overwritten_or_deleted(client: httpx.AsyncClient) -> None:
    body = discount_template("deal-amount-approval")
    assert_problem(await client.post("/templates", json=body, headers=A), 409, "template-builtin")
    assert_problem(
        await client.delete("/templates/deal-amount-approval", headers=A), 409, "template-builtin"
    )
    assert (await client.get("/templates/deal-amount-approval", headers=A)).json()["owner"] is None


async def test_publishing_checks_schema_source_and_fixtures(client: httpx.AsyncClient) -> None:
    bad_schema = discount_template(params_schema={"type": "object", "properties": {"a": 5}})
    problem = assert_problem(
        await client.post("/templates", json=bad_schema, headers=A), 422, "validation"
    )
    assert problem["errors"][0]["loc"][:2] == ["body", "params_schema"]
    remote = discount_template(params_schema={"type": "object", "$ref": "http://x.example/s"})
    assert_problem(await client.post("/templates", json=remote, headers=A), 422, "validation")
    invalid = discount_template(source="import os\n")
    assert_problem(await client.post("/templates", json=invalid, headers=A), 422, "script-invalid")
    wrong_phase = discount_template(source='emit("x", {})\n')
    assert_problem(
        await client.post("/templates", json=wrong_phase, headers=A), 422, "script-invalid"
    )
    failing = discount_template(
        fixtures=[
            {
                "name": "wrong",
                "entity": {"amount": 2000},
                "expect": {"outcome": "continue", "changes": {"discount": 99}},
            }
        ]
    )
    problem = assert_problem(
        await client.post("/templates", json=failing, headers=A), 409, "fixtures-failing"
    )
    assert problem["failing"][0]["name"] == "wrong"
    no_fixtures = discount_template(fixtures=[])
    assert_problem(await client.post("/templates", json=no_fixtures, headers=A), 422, "validation")
    bad_example = discount_template(example_params={"percent": 500})
    assert_problem(await client.post("/templates", json=bad_example, headers=A), 422, "validation")
    bad_id = discount_template("Has Spaces")
    assert_problem(await client.post("/templates", json=bad_id, headers=A), 422, "validation")
    no_tenant = await client.post("/templates", json=discount_template())
    assert_problem(no_tenant, 422, "validation")
    assert (await client.get("/templates", headers=A)).json()["total"] == len(builtin_templates())


async def test_templates_need_a_key(anon: httpx.AsyncClient) -> None:
    assert_problem(await anon.get("/templates"), 401, "unauthorized")


# -- GraphQL ---------------------------------------------------------------------------------

GQL_INSTANTIATE = """mutation($id: ID!, $name: String!, $params: JSON, $trigger: TriggerInput) {
  instantiateTemplate(id: $id, name: $name, params: $params, trigger: $trigger) {
    id name status source trigger { type entityType event } } }"""


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_graphql_templates(client: httpx.AsyncClient) -> None:
    listed = await gql(client, "{ templates { id builtin owner trigger { type } } }")
    ids = [item["id"] for item in listed["data"]["templates"]]
    assert ids == sorted(builtin_templates())
    one = await gql(client, '{ template(id: "sla-escalation") { paramsSchema fixtures version } }')
    template = one["data"]["template"]
    assert template["paramsSchema"]["properties"]["escalate_to"]["default"] == "tier2"
    assert len(template["fixtures"]) == len(builtin_templates()["sla-escalation"].fixtures)

    made = await gql(
        client,
        GQL_INSTANTIATE,
        {
            "id": "sla-escalation",
            "name": "ticket_sla",
            "params": {"escalate_to": HOSTILE},
            "trigger": {"type": "EVENT", "entityType": "case", "event": "BEFORE_UPDATE"},
        },
        **A,
    )
    script = made["data"]["instantiateTemplate"]
    assert script["status"] == "DRAFT" and script["trigger"]["entityType"] == "case"
    assert script["source"] == builtin_templates()["sla-escalation"].source
    stored = (await client.get(f"/scripts/{script['id']}", headers=A)).json()
    assert stored["template"]["params"]["escalate_to"] == HOSTILE

    bad = await gql(
        client, GQL_INSTANTIATE, {"id": "sla-escalation", "name": "x", "params": {"sla_hours": 5}}
    )
    error = bad["errors"][0]["extensions"]
    assert error["type"].endswith("/template-params-invalid")
    assert error["errors"][0]["loc"] == ["params", "sla_hours"]


async def test_graphql_tenant_templates_are_isolated(client: httpx.AsyncClient) -> None:
    assert (await client.post("/templates", json=discount_template(), headers=A)).status_code == 201
    mine = await gql(client, '{ template(id: "acme-discount") { owner } }', **A)
    assert mine["data"]["template"]["owner"] == "tenant-a"
    theirs = await gql(client, '{ template(id: "acme-discount") { owner } }', **B)
    assert theirs["errors"][0]["extensions"]["type"].endswith("/not-found")
    listed = await gql(client, "{ templates { id } }", **B)
    assert "acme-discount" not in [item["id"] for item in listed["data"]["templates"]]
    stolen = await gql(client, GQL_INSTANTIATE, {"id": "acme-discount", "name": "s"}, **B)
    assert stolen["errors"][0]["extensions"]["type"].endswith("/not-found")
