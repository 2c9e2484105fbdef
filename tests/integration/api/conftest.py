"""The API suite against the real MongoDB-wire server: only `stores` differs from the unit run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from alloy_scripting.storage import MongoStores
from alloy_scripting.storage.protocols import Stores
from tests.unit.api.fixtures import anon, app, changes, client, runtime

__all__ = ["anon", "app", "changes", "client", "runtime", "stores"]


@pytest.fixture
async def stores(mongo_db: Any) -> AsyncIterator[Stores]:
    mongo = MongoStores(mongo_db)
    await mongo.ensure_indexes()
    yield mongo
