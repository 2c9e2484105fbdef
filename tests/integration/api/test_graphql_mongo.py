"""GraphQL over real HTTP: the REST app served by uvicorn on a free port, MongoStores on a fresh
FerretDB database behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from alloy_scripting.api.app import create_api
from alloy_scripting.bridge.registry import REGISTRY
from alloy_scripting.storage import MongoStores
from tests.unit.api.fixtures import (
    ACME_KEY,
    FAILING_SOURCE,
    INVALID_SOURCE,
    KEY,
    MANUAL_SOURCE,
    SEED_SOURCE,
    auth,
    make_runtime,
)
from tests.uvicorn_servers import in_loop

pytestmark = pytest.mark.integration

PROBLEMS = "https://alloy-scripting.dev/problems/"

SCRIPT_FIELDS = """id name status version revision source createdBy updatedBy tenantId
  trigger { type entityType event expression timezone name }"""
CREATE = f"""mutation($input: CreateScriptInput!) {{
  createScript(input: $input) {{ {SCRIPT_FIELDS} }} }}"""
RUN = """mutation($id: ID, $name: String, $params: JSON, $entity: JSON, $dryRun: Boolean! = false) {
  runScript(id: $id, name: $name, params: $params, entity: $entity, dryRun: $dryRun) {
    executionId scriptId scriptVersion dryRun status phase durationMs operations changes
    removed entity reason limit error { type message line } logs { level message }
    effects { eventId eventType payload } } }"""
EXECUTIONS = """query($id: ID!, $status: ExecutionStatus, $since: DateTime, $until: DateTime,
                 $offset: Int! = 0, $limit: Int! = 50) {
  executions(scriptId: $id, status: $status, since: $since, until: $until,
             offset: $offset, limit: $limit) {
    total offset limit hasMore
    items { id scriptId scriptName scriptVersion userId tenantId phase status durationMs
            logs error reason startedAt } } }"""


class Gql:
    """A GraphQL client over HTTP for one key and tenant."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await self.http.post("/graphql", json=body, headers=self.headers)

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        """The `data` of a query that must succeed."""
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def error(self, query: str, kind: str, status: int, **variables: Any) -> dict[str, Any]:
        """The single error of a query that must fail with the REST problem `kind`."""
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        return only_error(response.json(), kind, status)


def only_error(body: dict[str, Any], kind: str, status: int) -> dict[str, Any]:
    assert body.get("data") is None, body
    errors = body["errors"]
    assert len(errors) == 1, errors
    error: dict[str, Any] = errors[0]
    assert error["extensions"]["type"] == PROBLEMS + kind, error
    assert error["extensions"]["status"] == status, error
    assert error["message"], error
    return error


@asynccontextmanager
async def serving(stores: MongoStores, **settings: Any) -> AsyncIterator[str]:
    """The app on 127.0.0.1 and a free port, in this event loop."""
    async with in_loop(create_api(make_runtime(stores, **settings)), start_polls=500) as url:
        yield url


@pytest.fixture
async def mongo_stores(mongo_db: Any) -> MongoStores:
    stores = MongoStores(mongo_db)
    await stores.ensure_indexes()
    return stores


@pytest.fixture
async def url(mongo_stores: MongoStores) -> AsyncIterator[str]:
    async with serving(mongo_stores) as base:
        yield base


@pytest.fixture
async def http(url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> Callable[..., Gql]:
    def make(key: str = KEY, **headers: str) -> Gql:
        return Gql(http, auth(key, **headers))

    return make


def manual_input(name: str = "greeter", **fields: Any) -> dict[str, Any]:
    return {"name": name, "source": MANUAL_SOURCE, "trigger": {"type": "MANUAL"}, **fields}


def deal_input(name: str = "validate_deal", **fields: Any) -> dict[str, Any]:
    trigger = {"type": "EVENT", "entityType": "deal", "event": "BEFORE_CREATE"}
    return {"name": name, "source": SEED_SOURCE, "trigger": trigger, **fields}


# -- queries and mutations ------------------------------------------------------------------


async def test_create_read_list_update_and_validate(gql: Callable[..., Gql]) -> None:
    client = gql(**{"X-User-Id": "alice"})
    created = (await client.data(CREATE, input=deal_input(status="ACTIVE")))["createScript"]
    assert created["status"] == "ACTIVE" and created["revision"] == 1
    assert created["createdBy"] == "alice"
    assert created["trigger"] == {
        "type": "EVENT",
        "entityType": "deal",
        "event": "BEFORE_CREATE",
        "expression": None,
        "timezone": None,
        "name": None,
    }
    await client.data(CREATE, input=manual_input())

    by_id = await client.data("query($id: ID!) { script(id: $id) { name } }", id=created["id"])
    assert by_id["script"]["name"] == "validate_deal"
    by_name = await client.data('{ script(name: "validate_deal") { id } }')
    assert by_name["script"]["id"] == created["id"]

    listed = await client.data("{ scripts { total hasMore items { name } } }")
    assert listed["scripts"]["total"] == 2
    assert [s["name"] for s in listed["scripts"]["items"]] == ["greeter", "validate_deal"]
    filtered = await client.data(
        '{ scripts(status: ACTIVE, trigger: EVENT, name: "valid", limit: 1)'
        " { total limit items { name } } }"
    )
    assert filtered["scripts"] == {"total": 1, "limit": 1, "items": [{"name": "validate_deal"}]}
    drafts = await client.data("{ scripts(status: DRAFT) { total items { name } } }")
    assert drafts["scripts"] == {"total": 1, "items": [{"name": "greeter"}]}

    update = f"""mutation($id: ID!, $input: UpdateScriptInput!, $rev: Int) {{
      updateScript(id: $id, input: $input, expectedRevision: $rev) {{ {SCRIPT_FIELDS} }} }}"""
    new_source = SEED_SOURCE.replace("100000", "5000")
    updated = (await client.data(update, id=created["id"], input={"source": new_source}, rev=1))[
        "updateScript"
    ]
    assert updated["source"] == new_source
    assert updated["version"] == 2 and updated["revision"] == 2
    stale = await client.error(
        update, "conflict", 409, id=created["id"], input={"description": "x"}, rev=1
    )
    assert stale["extensions"]["revision"] == 2
    refused = await client.error(
        update, "script-invalid", 422, id=created["id"], input={"source": INVALID_SOURCE}
    )
    assert refused["extensions"]["diagnostics"][0]["line"] == 1

    validate = """mutation($source: String!, $phase: ExecutionPhase) {
      validateScript(source: $source, phase: $phase) {
        ok diagnostics { severity message line column } } }"""
    bad = (await client.data(validate, source="x = 1\ny = undefined_thing\n"))["validateScript"]
    assert bad["ok"] is False
    assert bad["diagnostics"][0]["line"] == 2 and bad["diagnostics"][0]["column"] == 5
    assert "undefined_thing" in bad["diagnostics"][0]["message"]
    wrong_phase = (await client.data(validate, source='emit("x", {})\n', phase="BEFORE"))[
        "validateScript"
    ]
    assert wrong_phase["ok"] is False and "before" in wrong_phase["diagnostics"][0]["message"]
    good = (await client.data(validate, source=SEED_SOURCE, phase="BEFORE"))["validateScript"]
    assert good == {"ok": True, "diagnostics": []}

    invalid_create = await client.error(CREATE, "validation", 422, input=manual_input("bad name!"))
    assert invalid_create["extensions"]["errors"][0]["loc"] == ["name"]
    await client.error(CREATE, "conflict", 409, input=manual_input())  # duplicate name


async def test_run_script_by_id_and_name_and_its_executions(gql: Callable[..., Gql]) -> None:
    client = gql(**{"X-User-Id": "alice"})
    script = (await client.data(CREATE, input=manual_input(status="ACTIVE")))["createScript"]
    before = datetime.now(UTC) - timedelta(seconds=1)

    ran = (await client.data(RUN, id=script["id"], params={"who": "bob"}))["runScript"]
    assert ran["status"] == "SUCCESS" and ran["phase"] == "MANUAL" and ran["dryRun"] is False
    assert ran["executionId"] and ran["scriptId"] == script["id"]
    assert ran["logs"] == [{"level": "info", "message": "hello"}]
    assert [(e["eventType"], e["payload"]) for e in ran["effects"]] == [("greeted", {"who": "bob"})]
    assert ran["durationMs"] >= 0 and ran["operations"] > 0

    by_name = (await client.data(RUN, name="greeter", entity={"amount": 5}))["runScript"]
    assert by_name["status"] == "SUCCESS" and by_name["entity"] == {"amount": 5}
    dry = (await client.data(RUN, name="greeter", dryRun=True))["runScript"]
    assert dry["dryRun"] is True and dry["executionId"] is None

    failing = (await client.data(CREATE, input=manual_input("failing", source=FAILING_SOURCE)))[
        "createScript"
    ]
    failed = (await client.data(RUN, id=failing["id"]))["runScript"]
    assert failed["status"] == "ERROR" and failed["error"]["type"] == "ValueError"
    assert failed["error"]["message"] == "boom" and failed["error"]["line"] == 1

    page = (await client.data(EXECUTIONS, id=script["id"]))["executions"]
    assert page["total"] == 2  # the dry run keeps no record
    assert [r["id"] for r in page["items"]] == [by_name["executionId"], ran["executionId"]]
    newest = page["items"][0]
    assert newest["userId"] == "alice" and newest["status"] == "SUCCESS"
    assert newest["scriptName"] == "greeter" and newest["phase"] == "MANUAL"
    assert newest["logs"] == ["info: hello"]

    one = (await client.data(EXECUTIONS, id=script["id"], limit=1, offset=1))["executions"]
    assert [r["id"] for r in one["items"]] == [ran["executionId"]]
    assert one["hasMore"] is False and one["total"] == 2
    errors = (await client.data(EXECUTIONS, id=failing["id"], status="ERROR"))["executions"]
    assert errors["total"] == 1 and errors["items"][0]["error"]["message"] == "boom"
    assert (await client.data(EXECUTIONS, id=failing["id"], status="SUCCESS"))["executions"][
        "total"
    ] == 0
    window = {"since": before.isoformat(), "until": (before + timedelta(hours=1)).isoformat()}
    inside = (await client.data(EXECUTIONS, id=script["id"], **window))["executions"]
    assert inside["total"] == 2
    later = (before + timedelta(hours=1)).isoformat()
    assert (await client.data(EXECUTIONS, id=script["id"], since=later))["executions"]["total"] == 0
    assert (await client.data(EXECUTIONS, id=script["id"], until=before.isoformat()))["executions"][
        "total"
    ] == 0
    await client.error(EXECUTIONS, "validation", 422, id=script["id"], since="2026-01-01T00:00:00")
    await client.error(EXECUTIONS, "not-found", 404, id="no-such-script")


async def test_lifecycle_mutations(gql: Callable[..., Gql]) -> None:
    client = gql()
    script = (await client.data(CREATE, input=manual_input(status="ACTIVE")))["createScript"]
    sid = script["id"]

    disabled = await client.data(
        'mutation($id: ID!) { disableScript(id: $id, reason: "paused") { status disabledReason } }',
        id=sid,
    )
    assert disabled["disableScript"] == {"status": "DISABLED", "disabledReason": "paused"}
    refused = await client.error(RUN, "conflict", 409, id=sid)
    assert "disabled" in refused["message"]
    assert (await client.data(RUN, id=sid, dryRun=True))["runScript"]["status"] == "SUCCESS"

    reset = await client.data(
        "mutation($id: ID!) { resetScript(id: $id) { status errorCount } }", id=sid
    )
    assert reset["resetScript"] == {"status": "ACTIVE", "errorCount": 0}
    await client.data("mutation($id: ID!) { disableScript(id: $id) { status } }", id=sid)
    activated = await client.data(
        "mutation($id: ID!) { activateScript(id: $id) { status disabledReason } }", id=sid
    )
    assert activated["activateScript"] == {"status": "ACTIVE", "disabledReason": None}

    changed = await client.data(
        "mutation($id: ID!, $input: UpdateScriptInput!) {"
        " updateScript(id: $id, input: $input) { version revision } }",
        id=sid,
        input={"source": 'log("v2")\n'},
    )
    assert changed["updateScript"]["version"] == 2
    rollback = """mutation($id: ID!, $version: Int!, $rev: Int) {
      rollbackScript(id: $id, version: $version, expectedRevision: $rev) {
        version source revision } }"""
    rev = changed["updateScript"]["revision"]
    await client.error(rollback, "conflict", 409, id=sid, version=1, rev=rev - 1)
    await client.error(rollback, "not-found", 404, id=sid, version=9)
    rolled = (await client.data(rollback, id=sid, version=1, rev=rev))["rollbackScript"]
    assert rolled["version"] == 3 and rolled["source"] == MANUAL_SOURCE

    delete = "mutation($id: ID!, $rev: Int) { deleteScript(id: $id, expectedRevision: $rev) }"
    await client.error(delete, "conflict", 409, id=sid, rev=rolled["revision"] - 1)
    assert (await client.data(delete, id=sid, rev=rolled["revision"]))["deleteScript"] == sid
    await client.error("query($id: ID!) { script(id: $id) { id } }", "not-found", 404, id=sid)
    await client.error(delete, "not-found", 404, id=sid)


async def test_helpers_come_from_the_registry_and_entity_types_from_the_scripts(
    gql: Callable[..., Gql],
) -> None:
    client = gql()
    helpers = (await client.data("{ helpers { name signature description phases available } }"))[
        "helpers"
    ]
    assert [h["name"] for h in helpers] == list(REGISTRY)
    by_name = {h["name"]: h for h in helpers}
    for name in ("http_get", "http_post", "http_request"):
        assert by_name[name]["available"] is True  # backed by the HTTP bridge
        assert by_name[name]["signature"].startswith(f"{name}(")
        assert "http_get" in by_name[name]["description"] or "GET" in by_name[name]["description"]
    assert by_name["emit"]["available"] is True
    assert by_name["emit"]["signature"] == "emit(event_type, payload=None)"
    assert "BEFORE" not in by_name["emit"]["phases"]
    assert by_name["validate_length"]["phases"] == ["BEFORE", "MANUAL", "SCHEDULED", "API"]

    await client.data(CREATE, input=deal_input(status="ACTIVE"))
    after = deal_input("notify_deal")
    after["trigger"] = {**after["trigger"], "event": "AFTER_CREATE"}
    after["source"] = 'emit("deal.created", {})\n'
    await client.data(CREATE, input=after)
    await client.data(CREATE, input=manual_input())
    listing = (
        await client.data(
            "{ entityTypes { entityTypes { name events scripts activeScripts } acceptedEvents } }"
        )
    )["entityTypes"]
    assert listing["entityTypes"] == [
        {
            "name": "deal",
            "events": ["BEFORE_CREATE", "AFTER_CREATE"],
            "scripts": 2,
            "activeScripts": 1,
        }
    ]
    assert len(listing["acceptedEvents"]) == 9 and "ON_COMMIT_DELETE" in listing["acceptedEvents"]


# -- audit, tenancy, auth -----------------------------------------------------------------------


async def test_run_script_record_carries_user_and_tenant(
    gql: Callable[..., Gql], mongo_stores: MongoStores
) -> None:
    acme = gql(ACME_KEY, **{"X-User-Id": "alice@acme"})  # the key is bound to tenant acme
    script = (await acme.data(CREATE, input=manual_input(status="ACTIVE")))["createScript"]
    assert script["tenantId"] == "acme"
    ran = (await acme.data(RUN, id=script["id"], params={"who": "carol"}))["runScript"]

    stored = await mongo_stores.executions.for_tenant("acme").find_by_script(script["id"])
    assert stored.total == 1
    record = stored.items[0]
    assert record.id == ran["executionId"]
    assert record.user_id == "alice@acme" and record.tenant_id == "acme"
    assert record.status.value == "success" and record.logs == ["info: hello"]
    listed = (await acme.data(EXECUTIONS, id=script["id"]))["executions"]["items"]
    assert [(r["id"], r["userId"], r["tenantId"]) for r in listed] == [
        (ran["executionId"], "alice@acme", "acme")
    ]

    anonymous_user = gql(**{"X-Tenant-Id": "globex"})  # no X-User-Id: the key's label
    other = (await anonymous_user.data(CREATE, input=manual_input()))["createScript"]
    await anonymous_user.data(RUN, id=other["id"])
    record = (await mongo_stores.executions.for_tenant("globex").find_by_script(other["id"])).items[
        0
    ]
    assert record.tenant_id == "globex" and record.user_id is not None
    assert record.user_id.startswith("key-")


async def test_tenant_b_never_sees_tenant_a(gql: Callable[..., Gql]) -> None:
    tenant_a = gql(**{"X-Tenant-Id": "tenant-a"})
    tenant_b = gql(**{"X-Tenant-Id": "tenant-b"})
    script = (await tenant_a.data(CREATE, input=deal_input(status="ACTIVE")))["createScript"]
    manual = (await tenant_a.data(CREATE, input=manual_input(status="ACTIVE")))["createScript"]
    await tenant_a.data(RUN, id=manual["id"])

    assert (await tenant_b.data("{ scripts { total items { id } } }"))["scripts"] == {
        "total": 0,
        "items": [],
    }
    listing = await tenant_b.data("{ entityTypes { entityTypes { name } } }")
    assert listing["entityTypes"]["entityTypes"] == []
    by_id = "query($id: ID!) { script(id: $id) { id } }"
    await tenant_b.error(by_id, "not-found", 404, id=script["id"])
    await tenant_b.error('{ script(name: "validate_deal") { id } }', "not-found", 404)
    await tenant_b.error(EXECUTIONS, "not-found", 404, id=manual["id"])
    await tenant_b.error(RUN, "not-found", 404, id=manual["id"])
    await tenant_b.error(RUN, "not-found", 404, name="greeter")
    for mutation in ("activateScript", "disableScript", "resetScript"):
        await tenant_b.error(
            f"mutation($id: ID!) {{ {mutation}(id: $id) {{ id }} }}",
            "not-found",
            404,
            id=script["id"],
        )
    await tenant_b.error(
        "mutation($id: ID!) { deleteScript(id: $id) }", "not-found", 404, id=script["id"]
    )
    await tenant_b.error(
        'mutation($id: ID!) { updateScript(id: $id, input: {description: "x"}) { id } }',
        "not-found",
        404,
        id=script["id"],
    )
    # B may use the same name: names are per tenant.
    await tenant_b.data(CREATE, input=deal_input())
    assert (await tenant_a.data(by_id, id=script["id"]))["script"]["id"] == script["id"]
    assert (await tenant_a.data("{ scripts { total } }"))["scripts"]["total"] == 2

    # A key bound to a tenant may not act for another one: HTTP 403 before anything runs.
    response = await gql(ACME_KEY, **{"X-Tenant-Id": "tenant-a"}).post("{ scripts { total } }")
    assert response.status_code == 403
    only_error(response.json(), "forbidden", 403)


async def test_401_without_a_valid_key(http: httpx.AsyncClient, gql: Callable[..., Gql]) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic abc"}):
        response = await http.post(
            "/graphql",
            json={"query": CREATE, "variables": {"input": manual_input("sneaky")}},
            headers=headers,
        )
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Bearer")
        only_error(response.json(), "unauthorized", 401)
    assert (await gql().data("{ scripts { total } }"))["scripts"]["total"] == 0


# -- limits and bad input -----------------------------------------------------------------------


async def test_depth_limit_refuses_deep_queries(mongo_stores: MongoStores) -> None:
    async with (
        serving(mongo_stores, graphql_max_depth=2) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        client = Gql(http, auth())
        assert (await client.data("{ scripts { total } }"))["scripts"]["total"] == 0
        deep = await client.error(
            "{ scripts { items { trigger { type } } } }", "malformed-request", 400
        )
        assert "depth" in deep["message"]
        via_fragment = await client.error(
            "query { scripts { ...Page } } "
            "fragment Page on ScriptPage { items { trigger { type } } }",
            "malformed-request",
            400,
        )
        assert "depth" in via_fragment["message"]


async def test_complexity_aliases_and_limit_cap(gql: Callable[..., Gql]) -> None:
    client = gql()
    page = "scripts(limit: 200) { items { id name source description trigger { type name } } }"
    heavy = "{ " + " ".join(f"p{i}: {page}" for i in range(8)) + " }"
    too_complex = await client.error(heavy, "malformed-request", 400)
    assert "complex" in too_complex["message"]
    by_variable = await client.error(
        "query($n: Int!) { a: scripts(limit: $n) { items { id name source description "
        "trigger { type name } } } b: scripts(limit: $n) { items { id name source description "
        "trigger { type name } } } }",
        "malformed-request",
        400,
        n=100_000,
    )
    assert "complex" in by_variable["message"]
    aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"
    assert "aliases" in (await client.error(aliases, "malformed-request", 400))["message"]
    capped = await client.error("{ scripts(limit: 201) { total } }", "validation", 422)
    assert capped["extensions"]["errors"][0]["loc"] == ["argument", "limit"]
    await client.error("{ scripts(offset: -1) { total } }", "validation", 422)
    assert (await client.data("{ scripts(limit: 200) { total limit } }"))["scripts"]["limit"] == 200


async def test_introspection_can_be_turned_off(
    gql: Callable[..., Gql], mongo_stores: MongoStores
) -> None:
    on = await gql().data("{ __schema { queryType { name } } }")
    assert on["__schema"]["queryType"]["name"] == "Query"
    async with (
        serving(mongo_stores, graphql_introspection=False) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        client = Gql(http, auth())
        for query in ("{ __schema { types { name } } }", '{ __type(name: "Script") { name } }'):
            response = await client.post(query)
            assert response.status_code == 200
            body = response.json()
            assert body.get("data") is None and body["errors"]
            for error in body["errors"]:
                assert error["extensions"]["type"] == PROBLEMS + "malformed-request"
                assert "introspection has been disabled" in error["message"]
        assert (await client.data("{ __typename }"))["__typename"] == "Query"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{ scripts {", "application/json"),
        (b'{"query": "{ scripts { total "}', "application/json"),
        (b'{"query": "{ nope }"}', "application/json"),
        (b'{"query": "{ scripts(limit: \\"x\\") { total } }"}', "application/json"),
        (b'{"query": "{ scripts { total } }", "variables": [1]}', "application/json"),
        (b'{"query": "query($n: Int!) { scripts(limit: $n) { total } }"}', "application/json"),
        (
            b'{"query": "query($n: Int!) { scripts(limit: $n) { total } }", '
            b'"variables": {"n": 99999999999}}',
            "application/json",
        ),
        (b'{"query": "{ scripts(offset: ' + b"9" * 5000 + b') { total } }"}', "application/json"),
        (b'{"query": "{ scripts(limit: ' + b"9" * 5000 + b') { total } }"}', "application/json"),
        (b'{"query": "{ a }", "variables": {"n": ' + b"9" * 5000 + b"}}", "application/json"),
        (b'{"query": "{ __typename }", "variables": {"x": NaN}}', "application/json"),
        (b'{"query": 42}', "application/json"),
        (b'{"query": "{ scripts { total } }", "operationName": "Other"}', "application/json"),
        (b'{"query": "mutation { helpers { name } }"}', "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"text"', "application/json"),
        (b"{}", "application/json"),
        (b"", "application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b"query { scripts { total } }", "text/plain"),
        (b'{"query": "{ scripts { total } }"}', "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_requests_get_graphql_errors_never_a_500(
    http: httpx.AsyncClient, body: bytes, content_type: str
) -> None:
    response = await http.post(
        "/graphql", content=body, headers={**auth(), "Content-Type": content_type}
    )
    assert response.status_code in (200, 400), response.text
    payload = response.json()
    assert payload.get("data") is None
    assert payload["errors"], payload
    for error in payload["errors"]:
        assert error["extensions"]["type"] == PROBLEMS + "malformed-request", error
        assert error["extensions"]["status"] == 400


async def test_run_input_follows_the_rest_rules(gql: Callable[..., Gql]) -> None:
    client = gql()
    script = (await client.data(CREATE, input=manual_input(status="ACTIVE")))["createScript"]
    nested: Any = 1
    for _ in range(40):
        nested = [nested]
    await client.error(RUN, "validation", 422, id=script["id"], params={"deep": nested})
    await client.error(RUN, "validation", 422, id=script["id"], params={"big": 2**70})
    both = await client.error(RUN, "validation", 422, id=script["id"], name="greeter")
    assert "exactly one" in both["message"]


async def test_body_over_the_cap_is_refused_as_rest_does(http: httpx.AsyncClient) -> None:
    query = "{ scripts { total } }" + " " * (1024 * 1024)
    response = await http.post("/graphql", json={"query": query}, headers=auth())
    assert response.status_code == 413
    assert response.json()["type"] == PROBLEMS + "payload-too-large"


async def test_rest_and_graphql_share_the_scripts_and_the_log(
    http: httpx.AsyncClient, gql: Callable[..., Gql]
) -> None:
    client = gql(**{"X-Tenant-Id": "shared", "X-User-Id": "dana"})
    rest_headers = auth(**{"X-Tenant-Id": "shared", "X-User-Id": "erin"})
    created = (await client.data(CREATE, input=manual_input(status="ACTIVE")))["createScript"]
    via_rest = await http.get(f"/scripts/{created['id']}", headers=rest_headers)
    assert via_rest.status_code == 200
    assert via_rest.json()["name"] == "greeter" and via_rest.json()["created_by"] == "dana"
    assert via_rest.headers["etag"] and via_rest.json()["revision"] == created["revision"]

    run = await http.post(f"/scripts/{created['id']}/run", json={}, headers=rest_headers)
    assert run.status_code == 200
    graphql_run = (await client.data(RUN, id=created["id"]))["runScript"]
    page = (await client.data(EXECUTIONS, id=created["id"]))["executions"]
    assert [r["userId"] for r in page["items"]] == ["dana", "erin"]
    rest_log = await http.get(f"/scripts/{created['id']}/executions", headers=rest_headers)
    assert rest_log.json()["total"] == 2
    assert rest_log.json()["items"][0]["id"] == graphql_run["executionId"]
