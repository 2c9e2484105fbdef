"""Per-script limits stored in and read back from FerretDB (the unit module's deployment)."""

from __future__ import annotations

import pytest

from tests.unit.api.test_limits import (  # noqa: F401
    runtime,
    test_a_request_above_a_maximum_names_it,
    test_a_script_may_ask_for_more_up_to_the_maximum,
)

pytestmark = pytest.mark.integration
