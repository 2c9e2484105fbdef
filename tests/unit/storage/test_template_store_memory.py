"""The template store contract against the in-memory twin (as `InMemoryStores` wires it)."""

from __future__ import annotations

import pytest

from alloy_scripting.storage import InMemoryStores
from alloy_scripting.storage.protocols import TemplateStore
from tests.template_store_contract import TemplateStoreContract


class TestInMemoryTemplateStore(TemplateStoreContract):
    @pytest.fixture
    async def templates(self) -> TemplateStore:
        return InMemoryStores().templates
