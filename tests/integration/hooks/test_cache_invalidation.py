"""A script change drops the trigger cache on every instance, not just the one that made it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from alloy_scripting.model import EventType
from alloy_scripting.model.outcomes import Continue
from alloy_scripting.model.script import Event, Script

from .conftest import make_settings, start_service

pytestmark = pytest.mark.integration


async def test_change_on_one_instance_invalidates_the_other(
    kafka_bootstrap: str, mongodb_url: str, mongo_db: Any, unique_name: str
) -> None:
    settings = make_settings(kafka_bootstrap, mongodb_url, unique_name)
    first = await start_service(settings, mongo_db)
    second = await start_service(settings, mongo_db)
    try:
        assert first.runtime.instance_id != second.runtime.instance_id
        script = Script.new("mark", 'entity["v"] = 1', Event("deal", EventType.BEFORE_CREATE))
        script = await first.stores.scripts.save(script.activate())
        await first.runtime.orchestrator.scripts_changed(None)

        async def second_sees() -> dict[str, Any]:
            outcome = await second.runtime.orchestrator.run_before("deal", "before_create", {})
            assert isinstance(outcome, Continue)
            return outcome.changes

        async with asyncio.timeout(20):
            while await second_sees() != {"v": 1}:
                await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # let the creation's own broadcast arrive and be handled
        assert await second_sees() == {"v": 1}

        script.source = 'entity["v"] = 2'
        await first.stores.scripts.save(script)
        # Without a broadcast the second instance keeps serving its cached lookup ...
        cache = second.runtime.orchestrator.cache
        hits = cache.hits
        assert await second_sees() == {"v": 1}
        assert cache.hits == hits + 1
        # ... and the broadcast on alloy.scripts.changed makes it read the change.
        await first.runtime.orchestrator.scripts_changed(None)

        async with asyncio.timeout(10):
            while await second_sees() != {"v": 2}:
                await asyncio.sleep(0.1)
        # well within the cache's 60 s TTL: the broadcast did it
    finally:
        await second.edge.stop()
        await first.edge.stop()
