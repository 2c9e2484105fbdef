"""`HttpRuns`: a run's HTTP context from the tenant's stored allow-list."""

from __future__ import annotations

import pytest

from alloy_scripting.bridge.http import HttpBridge, HttpCaps, HttpError
from alloy_scripting.bridge.http.helpers import HttpRuns, bind
from alloy_scripting.model.egress import EgressRules
from alloy_scripting.storage import InMemoryStores


class Failing:
    async def get(self, tenant_id: str | None) -> EgressRules:
        raise ConnectionError("database down")


async def test_contexts_follow_the_stored_allow_list_and_are_cached() -> None:
    egress = InMemoryStores().egress
    await egress.put("acme", ["api.example.com", "not an entry"])
    runs = HttpRuns(HttpBridge(HttpCaps()), egress, ttl=60)
    run = runs.run("acme")
    assert run.audit() == []  # no call, no context
    ctx = await run.context()
    assert ctx.allow.as_strings() == ["api.example.com"]  # a bad stored entry denies
    assert await run.context() is ctx
    await egress.put("acme", [])
    assert (await runs.run("acme").context()).allow.as_strings() == ["api.example.com"]  # ttl
    assert (await runs.run("globex").context()).allow.as_strings() == []
    await runs.aclose()


async def test_unreadable_rules_fail_the_call_not_the_service() -> None:
    runs = HttpRuns(HttpBridge(HttpCaps()), Failing())
    with pytest.raises(HttpError) as caught:
        await runs.run("acme").context()
    assert caught.value.reason == "egress_rules_unavailable" and caught.value.status is None
    await runs.aclose()


def test_bind_follows_each_helpers_signature() -> None:
    assert bind("http_get", ("u",), {"timeout": 3}) == ["GET", "u", {"timeout": 3}]
    assert bind("http_post", ("u", {"a": 1}), {}) == ["POST", "u", {"json": {"a": 1}}]
    assert bind("http_request", ("PATCH", "u"), {"data": "x"}) == ["PATCH", "u", {"data": "x"}]
    for name, args, kwargs in [
        ("http_get", (), {}),
        ("http_get", ("u",), {"json": {}}),  # GET takes no body
        ("http_post", ("u",), {"params": {}}),
        ("http_request", ("GET", "u", None, None, None, None, None, None), {}),
    ]:
        with pytest.raises(TypeError, match=name):
            bind(name, args, kwargs)
