"""The template store contract against the real MongoDB-wire server (FerretDB)."""

from __future__ import annotations

from typing import Any

import pytest

from alloy_scripting.storage import MongoStores
from alloy_scripting.storage.protocols import TemplateStore
from tests.template_store_contract import TemplateStoreContract

pytestmark = pytest.mark.integration


class TestMongoTemplateStore(TemplateStoreContract):
    @pytest.fixture
    async def templates(self, mongo_db: Any) -> TemplateStore:
        return MongoStores(mongo_db).templates
