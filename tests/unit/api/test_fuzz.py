"""Property-based fuzz of the OpenAPI schema (schemathesis): no input yields a 5xx, and
responses conform to the documented schemas. Runs against the in-memory runtime."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alloy_scripting.storage import InMemoryStores
from tests.unit.api.fixtures import (
    FAILING_SOURCE,
    auth,
    client_for,
    make_api,
    make_runtime,
    manual_body,
    script_body,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Not `negative_data_rejection`: unknown query parameters are ignored, as is usual.


def seed_bodies() -> list[dict[str, Any]]:
    """The scripts a fuzzed API starts with, so that generated requests also hit existing ones."""
    return [
        script_body("fuzz_deal", status="active"),
        manual_body("fuzz_manual", status="active"),
        manual_body("fuzz_failing", source=FAILING_SOURCE, status="active"),
    ]


def aiming_at(known: dict[str, str]) -> Callable[..., st.SearchStrategy[dict[str, Any]]]:
    """The schemathesis hook that often aims path parameters at the ``known`` scripts
    (name -> id); register it with ``schema.hook(...)``."""

    def flatmap_path_parameters(
        context: Any, path_parameters: dict[str, Any]
    ) -> st.SearchStrategy[dict[str, Any]]:
        if not path_parameters or context.operation.method.upper() == "DELETE":
            return st.just(path_parameters)  # keep the seeded scripts for the other operations
        options = [path_parameters]
        if "script_id" in path_parameters:
            options += [{**path_parameters, "script_id": sid} for sid in known.values()]
        if "name" in path_parameters:
            options += [{**path_parameters, "name": name} for name in known]
        return st.sampled_from(options)

    return flatmap_path_parameters


async def _seed(app: Any) -> dict[str, str]:
    known: dict[str, str] = {}
    async with client_for(app, auth()) as client:
        for body in seed_bodies():
            created = (await client.post("/scripts", json=body)).json()
            known[created["name"]] = created["id"]
        await client.put(f"/scripts/{known['fuzz_manual']}", json={"source": "log('v2')\n"})
    return known


def _seeded_app() -> tuple[Any, dict[str, str]]:
    """An app with a few scripts, so that generated requests also hit existing ones."""
    app = make_api(make_runtime(InMemoryStores()))
    return app, asyncio.run(_seed(app))


APP, KNOWN = _seeded_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


schema.hook(aiming_at(KNOWN))


@schema.parametrize()
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=auth(), checks=CHECKS)
