"""``/state`` against MongoDB: the unit tests again, with the runtime's state store on a
fresh database."""

from __future__ import annotations

from typing import Any

import pytest

from alloy_scripting.runner.service import Runtime
from alloy_scripting.storage.mongo.state import MongoStateStore
from alloy_scripting.storage.protocols import Stores
from tests.unit.api.fixtures import make_runtime
from tests.unit.api.test_state_routes import *  # noqa: F403

pytestmark = pytest.mark.integration


@pytest.fixture
async def runtime(stores: Stores, mongo_db: Any) -> Runtime:
    runtime = make_runtime(stores)
    runtime.state = MongoStateStore(mongo_db)
    await runtime.state.ensure_indexes()
    return runtime
