"""The state bridge: ``store.get/find/put/delete/incr`` for scripts, run by the parent
against the tenant's `StateStore` (see `helpers` for phases and budgets)."""

from alloy_scripting.bridge.state.context import (
    StateBudget,
    StateCall,
    StateContext,
    StateLimits,
    quotas_from,
)
from alloy_scripting.bridge.state.helpers import (
    OPERATIONS,
    READ_PHASES,
    WRITE_PHASES,
    StateOperation,
    delete,
    find,
    get,
    incr,
    put,
)

__all__ = [
    "OPERATIONS",
    "READ_PHASES",
    "WRITE_PHASES",
    "StateBudget",
    "StateCall",
    "StateContext",
    "StateLimits",
    "StateOperation",
    "delete",
    "find",
    "get",
    "incr",
    "put",
    "quotas_from",
]
