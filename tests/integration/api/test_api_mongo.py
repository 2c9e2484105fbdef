"""Every row of the API table against MongoDB: the unit suite's tests, collected again here
with the `stores` fixture of this directory (MongoStores on a fresh database)."""

from __future__ import annotations

import pytest

from tests.unit.api.test_errors import (  # noqa: F401
    test_bad_strings_are_refused,
    test_malformed_json,
    test_odd_ids_are_not_found,
    test_unknown_route_and_method,
    test_wrong_types_list_field_errors,
)
from tests.unit.api.test_executions import *  # noqa: F403
from tests.unit.api.test_health import test_live, test_not_ready_names_the_failing_checks  # noqa: F401
from tests.unit.api.test_lifecycle import *  # noqa: F403
from tests.unit.api.test_replay import *  # noqa: F403
from tests.unit.api.test_runs import *  # noqa: F403
from tests.unit.api.test_scripts_crud import *  # noqa: F403
from tests.unit.api.test_tenancy import *  # noqa: F403

pytestmark = pytest.mark.integration
