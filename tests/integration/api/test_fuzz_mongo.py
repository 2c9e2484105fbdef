"""The OpenAPI fuzz against MongoDB: a real uvicorn server (its own event loop, its own Mongo
client on a fresh database) in a thread; schemathesis calls it over HTTP. No 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from alloy_scripting.storage import InMemoryStores
from tests.unit.api.fixtures import auth, make_api, make_runtime
from tests.unit.api.test_fuzz import CHECKS, aiming_at, seed_bodies
from tests.uvicorn_servers import MongoBackedApi, in_thread

pytestmark = pytest.mark.integration

KNOWN: dict[str, str] = {}
schema = schemathesis.openapi.from_dict(make_api(make_runtime(InMemoryStores())).openapi())


@pytest.fixture(scope="module")
def server_url(mongodb_url: str) -> Iterator[str]:
    api = MongoBackedApi(mongodb_url, "t_fuzz_")
    with in_thread(api, lifespan="on", start_within=30, stop_within=15) as url:
        with httpx.Client(base_url=url, headers=auth()) as client:
            for body in seed_bodies():
                created = client.post("/scripts", json=body).json()
                KNOWN[created["name"]] = created["id"]
        yield url


schema.hook(aiming_at(KNOWN))


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_on_mongo(case: schemathesis.Case, server_url: str) -> None:
    case.call_and_validate(base_url=server_url, headers=auth(), checks=CHECKS)
