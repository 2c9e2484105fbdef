"""The helper catalogue is the helper registry; entity types come from the scripts."""

from __future__ import annotations

import inspect

from alloy_scripting.api.catalogue import entity_types, helper_catalogue
from alloy_scripting.bridge.registry import REGISTRY
from alloy_scripting.model import Event, EventType, Manual, Script
from alloy_scripting.storage import InMemoryStores

SRC = "x = 1\n"


def test_every_registry_helper_is_listed_with_its_phases() -> None:
    catalogue = helper_catalogue()
    assert [h.name for h in catalogue] == list(REGISTRY)
    for info in catalogue:
        spec = REGISTRY[info.name]
        assert set(info.phases) == set(spec.phases)
        assert info.available is not spec.reserved
        assert info.signature.startswith(info.name + "(") and info.description


def test_signatures_leave_out_the_host_the_engine_binds() -> None:
    by_name = {h.name: h for h in helper_catalogue()}
    assert by_name["validate_pattern"].signature == "validate_pattern(value, pattern)"
    assert by_name["validate_length"].signature == "validate_length(value, min=None, max=None)"
    first = inspect.getdoc(REGISTRY["validate_email"].function)
    assert first is not None and by_name["validate_email"].description.startswith(first[:20])


def test_reserved_http_helpers_are_not_advertised_as_usable() -> None:
    reserved = {h.name for h in helper_catalogue() if not h.available}
    assert reserved == {"http_get", "http_post", "http_request"}


async def test_entity_types_of_the_tenant() -> None:
    stores = InMemoryStores()
    scripts = stores.scripts.for_tenant("acme")
    deal = Script.new("a", SRC, Event("deal", EventType.AFTER_CREATE), tenant_id="acme")
    deal.activate()
    await scripts.save(deal)
    await scripts.save(
        Script.new("b", SRC, Event("deal", EventType.BEFORE_CREATE), tenant_id="acme")
    )
    await scripts.save(
        Script.new("c", SRC, Event("contact", EventType.ON_COMMIT_DELETE), tenant_id="acme")
    )
    await scripts.save(Script.new("d", SRC, Manual(), tenant_id="acme"))
    await stores.scripts.for_tenant("other").save(
        Script.new("e", SRC, Event("invoice", EventType.AFTER_UPDATE), tenant_id="other")
    )

    listing = await entity_types(scripts.find_paginated)
    assert [(e.name, e.events, e.scripts, e.active_scripts) for e in listing.entity_types] == [
        ("contact", [EventType.ON_COMMIT_DELETE], 1, 0),
        ("deal", [EventType.BEFORE_CREATE, EventType.AFTER_CREATE], 2, 1),
    ]
    assert listing.accepted_events == list(EventType)
