"""``/templates`` against FerretDB: the unit suite's tests, collected again here with the
`stores` fixture of this directory (MongoStores on a fresh database)."""

from __future__ import annotations

import pytest

from tests.unit.api.test_templates import *  # noqa: F403

pytestmark = pytest.mark.integration
