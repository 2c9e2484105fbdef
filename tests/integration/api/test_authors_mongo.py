"""API endpoints, debug runs and fixture gating against MongoDB (FerretDB): the unit
suite's tests, collected again with the `stores` fixture of this directory."""

from __future__ import annotations

import pytest

from tests.unit.api.test_authoring import *  # noqa: F403
from tests.unit.api.test_endpoints import *  # noqa: F403

pytestmark = pytest.mark.integration
