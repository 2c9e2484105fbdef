"""Storage: the script registry, the execution log, processed events and scheduler ticks.

Protocols in `protocols`; in-memory twins in `memory`; MongoDB (PyMongo async) in `mongo/`,
one module per store.
"""

from alloy_scripting.storage.errors import (
    DuplicateScriptName,
    ScriptNotFound,
    StorageError,
    TenantMismatch,
    VersionConflict,
    VersionNotFound,
)
from alloy_scripting.storage.memory import (
    InMemoryEgressStore,
    InMemoryExecutionLog,
    InMemoryProcessedEvents,
    InMemoryStorage,
    InMemoryStores,
    InMemoryTickLedger,
)
from alloy_scripting.storage.mongo import (
    MongoEgressStore,
    MongoExecutionLog,
    MongoProcessedEvents,
    MongoStorage,
    MongoStores,
    MongoTickLedger,
)
from alloy_scripting.storage.protocols import (
    MAX_PAGE_LIMIT,
    EgressStore,
    ExecutionLog,
    ProcessedEvents,
    ScriptRegistry,
    Stores,
    TickLedger,
)

__all__ = [
    "MAX_PAGE_LIMIT",
    "DuplicateScriptName",
    "EgressStore",
    "ExecutionLog",
    "InMemoryEgressStore",
    "InMemoryExecutionLog",
    "InMemoryProcessedEvents",
    "InMemoryStorage",
    "InMemoryStores",
    "InMemoryTickLedger",
    "MongoEgressStore",
    "MongoExecutionLog",
    "MongoProcessedEvents",
    "MongoStorage",
    "MongoStores",
    "MongoTickLedger",
    "ProcessedEvents",
    "ScriptNotFound",
    "ScriptRegistry",
    "StorageError",
    "Stores",
    "TenantMismatch",
    "TickLedger",
    "VersionConflict",
    "VersionNotFound",
]
