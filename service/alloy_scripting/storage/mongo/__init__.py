"""MongoDB stores through PyMongo's `AsyncMongoClient` (never motor), one module per store.

Written for MongoDB *and* FerretDB v1.24 (SQLite backend), whose limits shape it:

* no transactions, no change streams, no TTL indexes (``expireAfterSeconds`` is refused with
  NotImplemented): retention is enforced by ``purge_expired``; a TTL index is still created
  where the server accepts one;
* updates are not atomic: FerretDB reads, changes and rewrites the whole document without a
  transaction, so concurrent updates of one document lose writes (``$inc`` included). Only an
  insert against a unique ``_id`` is atomic. Every write to a script therefore runs under a
  per-script lease built from such inserts (`alloy_scripting.storage.mongo.lease`);
* only a filter that is exactly ``{"_id": value}`` uses an index; anything else scans the
  collection. Reads by id are bare ``_id`` lookups, and ``find_by_trigger`` goes through
  trigger-index documents keyed by ``_id`` (see `MongoStorage`).

Collections (names in `COLLECTIONS`): ``scripts`` (a `Script` per document, ``_id`` = id),
``script_versions`` (``_id`` = ``"<script_id>:<version>"``), ``script_triggers``,
``storage_leases``, ``script_executions``, ``processed_events``, ``scheduler_ticks``,
``scheduler_last_ticks`` and ``egress_rules``.
Datetimes are BSON dates, read back as aware UTC datetimes whatever the client's settings
(collections are opened with ``tz_aware=True``).

Crash safety without transactions: a save writes the script (a compare-and-set on
``revision``) and only then the record of its new version, an idempotent ``$setOnInsert``
upsert keyed by ``_id`` (so a version record is never overwritten); before making version N+1
it (re)writes the record of version N from the stored script. A crash between the two writes
thus loses no version record for longer than the next save.
"""

from alloy_scripting.storage.mongo.common import (
    COLLECTIONS,
    IDX_EXEC_BY_SCRIPT,
    IDX_EXEC_TTL,
    IDX_PROCESSED_TTL,
    IDX_SCRIPT_VERSION,
    IDX_TENANT_NAME,
    IDX_TICKS_TTL,
    IDX_TRIGGER,
    IDX_TRIGGER_TYPE,
    is_duplicate_key,
)
from alloy_scripting.storage.mongo.egress import MongoEgressStore
from alloy_scripting.storage.mongo.executions import MongoExecutionLog
from alloy_scripting.storage.mongo.processed import MongoProcessedEvents
from alloy_scripting.storage.mongo.scripts import MongoStorage, script_doc, trigger_key
from alloy_scripting.storage.mongo.stores import MongoStores
from alloy_scripting.storage.mongo.ticks import MongoTickLedger

__all__ = [
    "COLLECTIONS",
    "IDX_EXEC_BY_SCRIPT",
    "IDX_EXEC_TTL",
    "IDX_PROCESSED_TTL",
    "IDX_SCRIPT_VERSION",
    "IDX_TENANT_NAME",
    "IDX_TICKS_TTL",
    "IDX_TRIGGER",
    "IDX_TRIGGER_TYPE",
    "MongoEgressStore",
    "MongoExecutionLog",
    "MongoProcessedEvents",
    "MongoStorage",
    "MongoStores",
    "MongoTickLedger",
    "is_duplicate_key",
    "script_doc",
    "trigger_key",
]
