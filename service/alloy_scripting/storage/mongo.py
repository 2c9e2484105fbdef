"""MongoDB stores through PyMongo's `AsyncMongoClient` (never motor).

Written for MongoDB *and* FerretDB v1.24 (SQLite backend), whose limits shape it:

* no transactions, no change streams, no TTL indexes (``expireAfterSeconds`` is refused with
  NotImplemented): retention is enforced by ``purge_expired``; a TTL index is still created
  where the server accepts one;
* updates are not atomic: FerretDB reads, changes and rewrites the whole document without a
  transaction, so concurrent updates of one document lose writes (``$inc`` included). Only an
  insert against a unique ``_id`` is atomic. Every write to a script therefore runs under a
  per-script lease built from such inserts (`alloy_scripting.storage.lease`);
* only a filter that is exactly ``{"_id": value}`` uses an index; anything else scans the
  collection. Reads by id are bare ``_id`` lookups, and ``find_by_trigger`` goes through
  trigger-index documents keyed by ``_id`` (see `MongoStorage`).

Collections (names in `COLLECTIONS`): ``scripts`` (a `Script` per document, ``_id`` = id),
``script_versions`` (``_id`` = ``"<script_id>:<version>"``), ``script_triggers``,
``storage_leases``, ``script_executions``, ``processed_events``, ``scheduler_ticks`` and
``scheduler_last_ticks``.
Datetimes are BSON dates, read back as aware UTC datetimes whatever the client's settings
(collections are opened with ``tz_aware=True``).

Crash safety without transactions: a save writes the script (a compare-and-set on
``revision``) and only then the record of its new version, an idempotent ``$setOnInsert``
upsert keyed by ``_id`` (so a version record is never overwritten); before making version N+1
it (re)writes the record of version N from the stored script. A crash between the two writes
thus loses no version record for longer than the next save.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from bson.codec_options import CodecOptions
from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from alloy_scripting.model.enums import EventType, ScriptStatus
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.page import ExecutionPage, ExecutionQuery, ScriptPage, ScriptQuery
from alloy_scripting.model.script import (
    FailureOutcome,
    LastError,
    Script,
    ScriptVersion,
    to_utc_ms,
    utc_now,
)
from alloy_scripting.settings import Settings
from alloy_scripting.storage._common import (
    as_last_error,
    cutoff,
    disabled_reason,
    prepare_insert,
    prepare_update,
    reset_fields,
    scoped,
    tick_key,
)
from alloy_scripting.storage.errors import (
    DuplicateScriptName,
    ScriptNotFound,
    StorageError,
    VersionConflict,
    VersionNotFound,
)
from alloy_scripting.storage.lease import Leases
from alloy_scripting.storage.registry import (
    DEFAULT_PROCESSED_TTL_SECONDS,
    DEFAULT_TICK_RETENTION_DAYS,
    check_page,
)

log = logging.getLogger("alloy.storage")

Document = dict[str, Any]
Database = AsyncDatabase[Document]
Collection = AsyncCollection[Document]

COLLECTIONS = {
    "scripts": "scripts",
    "versions": "script_versions",
    "executions": "script_executions",
    "processed": "processed_events",
    "watermarks": "consumer_watermarks",
    "ticks": "scheduler_ticks",
    "last_ticks": "scheduler_last_ticks",
    "triggers": "script_triggers",
    "leases": "storage_leases",
}

#: Index names (stable: ``ensure_indexes`` relies on them being the same on every start).
IDX_TENANT_NAME = "uniq_tenant_name"
IDX_TRIGGER = "by_tenant_trigger_status_priority_name"
IDX_TRIGGER_TYPE = "by_trigger_type_status"
IDX_SCRIPT_VERSION = "uniq_script_version"
IDX_EXEC_BY_SCRIPT = "by_tenant_script_started"
IDX_EXEC_TTL = "ttl_started_at"
IDX_PROCESSED_TTL = "ttl_expires_at"
IDX_TICKS_TTL = "ttl_scheduled_at"

_CODEC: CodecOptions[Document] = CodecOptions(document_class=dict, tz_aware=True, tzinfo=UTC)
# OperationFailure codes for "an index with this name exists with other options".
_INDEX_CONFLICT_CODES = {85, 86}
_NOT_IMPLEMENTED = 238


def _client_for(settings: Settings) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(settings.mongodb_url, tz_aware=True, tzinfo=UTC)


def _collection(db: Database, key: str) -> Collection:
    return db.get_collection(COLLECTIONS[key], codec_options=_CODEC)


def _bson(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    return value


def _script_doc(script: Script) -> Document:
    doc = script.model_dump(mode="python")
    doc["_id"] = doc.pop("id")
    return doc


def _script_from(doc: Mapping[str, Any]) -> Script:
    data = dict(doc)
    data["id"] = data.pop("_id")
    return Script.model_validate(data)


def _version_id(script_id: str, version: int) -> str:
    return f"{script_id}:{version}"


def _version_doc(version: ScriptVersion) -> Document:
    doc = version.model_dump(mode="python")
    doc["_id"] = _version_id(version.script_id, version.version)
    return doc


def _version_from(doc: Mapping[str, Any]) -> ScriptVersion:
    data = dict(doc)
    data.pop("_id", None)
    return ScriptVersion.model_validate(data)


def _record_doc(record: ExecutionRecord) -> Document:
    """The stored form: empty fields (None, []) are left out, as reading restores their
    defaults; `tenant_id` stays, every query filters on it. Thousands of records are
    written per second under load, and every field costs the store."""
    doc: Document = {"_id": record.id}
    for name, value in record.model_dump(mode="python", exclude={"id"}).items():
        if (value is not None and value != []) or name == "tenant_id":
            doc[name] = value
    return doc


def _record_from(doc: Mapping[str, Any]) -> ExecutionRecord:
    data = dict(doc)
    data["id"] = data.pop("_id")
    return ExecutionRecord.model_validate(data)


async def _create_index(
    coll: Collection, keys: list[tuple[str, int]], *, name: str, **options: Any
) -> bool:
    """Create an index; on a name clash with other options, replace it. True when it exists."""
    try:
        await coll.create_index(keys, name=name, **options)
        return True
    except OperationFailure as exc:
        if exc.code not in _INDEX_CONFLICT_CODES:
            raise
    log.warning("index %s.%s changed options; recreating it", coll.name, name)
    await coll.drop_index(name)
    await coll.create_index(keys, name=name, **options)
    return True


async def _create_ttl_index(coll: Collection, field: str, seconds: int, *, name: str) -> bool:
    """A TTL index where the server has them. Never fails start-up: on refusal, log, create a
    plain index on ``field`` for ``purge_expired`` and return False."""
    try:
        return await _create_index(
            coll, [(field, ASCENDING)], name=name, expireAfterSeconds=seconds
        )
    except OperationFailure as exc:
        # FerretDB v1: code 238 NotImplemented ('Index option "expireAfterSeconds" is not
        # implemented yet'). Expected there, so not a warning.
        level = logging.INFO if exc.code == _NOT_IMPLEMENTED else logging.WARNING
        log.log(
            level,
            "server refused TTL index %s.%s (%s); relying on purge_expired",
            coll.name,
            name,
            exc.details.get("errmsg") if exc.details else exc,
        )
    try:
        await _create_index(coll, [(field, ASCENDING)], name=f"by_{field}")
    except OperationFailure as exc:  # pragma: no cover - only on very odd servers
        log.warning("cannot create index %s.by_%s: %s", coll.name, field, exc)
    return False


def is_duplicate_key(exc: OperationFailure) -> bool:
    """A unique-index violation. FerretDB reports those of updates (as opposed to inserts) as
    ``InternalError`` (code 1) with SQLite's "UNIQUE constraint failed" message, not E11000."""
    return isinstance(exc, DuplicateKeyError) or "UNIQUE constraint failed" in str(exc)


def _tenant_filter(tenant_id: str | None, **extra: Any) -> Document:
    return {"tenant_id": tenant_id, **extra}


class _Shared:
    """What every tenant view of one `MongoStorage` shares."""

    def __init__(self, db: Database, client: AsyncMongoClient[Document] | None) -> None:
        self.db = db
        self.client = client
        self.scripts = _collection(db, "scripts")
        self.versions = _collection(db, "versions")
        self.triggers = _collection(db, "triggers")
        self.leases = Leases(_collection(db, "leases"))


def trigger_key(tenant_id: str | None, entity_type: str, event: EventType | str) -> str:
    """The ``_id`` of the trigger-index document of (tenant, entity_type, event)."""
    return json.dumps([tenant_id, entity_type, EventType(event).value], separators=(",", ":"))


#: The trigger-index document of the active cron scripts of every tenant.
CRON_KEY = json.dumps(["cron"])


def _member_key(script: Script) -> str | None:
    """The trigger-index document listing ``script``, if it is an active event/cron script."""
    trigger = script.trigger
    if script.status is not ScriptStatus.ACTIVE:
        return None
    if trigger.type == "event":
        return trigger_key(script.tenant_id, trigger.entity_type, trigger.event)
    if trigger.type == "cron":
        return CRON_KEY
    return None


def _matches_trigger(script: Script, tenant_id: str | None, entity_type: str, event: str) -> bool:
    trigger = script.trigger
    return (
        script.tenant_id == tenant_id
        and script.status is ScriptStatus.ACTIVE
        and trigger.type == "event"
        and trigger.entity_type == entity_type
        and trigger.event == event
    )


class MongoStorage:
    """`ScriptRegistry` on MongoDB / FerretDB.

    Reads of one script filter on ``{"_id": ...}`` *alone* and check the tenant in Python:
    FerretDB v1 uses an index only for a ``find`` whose filter is a bare ``_id`` equality, and
    scans the collection for any other query (~8 s per ``find`` at 100,000 scripts on our CI
    machines). Writes run under a per-script lease (`alloy_scripting.storage.lease`), which is
    what makes them atomic on FerretDB, and keep guard conditions (tenant, revision, status)
    that make them atomic on MongoDB by themselves. FerretDB scans for every update and delete
    whatever the filter (~2 ms per 1,000 documents), so writes cost O(collection) there.

    ``find_by_trigger`` reads a *trigger-index* document (``script_triggers``, ``_id`` =
    `trigger_key`) listing the ids of the active scripts of one (tenant, entity_type, event),
    then those scripts by ``_id``: a handful of primary-key lookups whatever the size of the
    collection, on MongoDB and on FerretDB alike; ``find_active_cron`` does the same with the
    `CRON_KEY` document. The lists are maintained by every write that changes a script's
    membership -- added *before* the script write that makes it a member, removed *after* the
    one that ends it -- so they are always supersets; scripts fetched through them are
    re-checked, and stale extras (left by a crash) are ignored. ``rebuild_trigger_index``
    re-derives them from the scripts (after bulk loads that bypass ``save``).

    The compound indexes (unique (tenant, name); (tenant, trigger.type, trigger.entity_type,
    trigger.event, status, priority, name)) enforce name uniqueness everywhere and serve
    ``get_by_name``, ``find_paginated`` and `trigger_filter` on MongoDB; on FerretDB those
    three scan the collection (fine for hundreds of scripts, slow for 100,000).
    """

    def __init__(
        self,
        db: Database,
        *,
        tenant_id: str | None = None,
        failure_threshold: int = 3,
        _client: AsyncMongoClient[Document] | None = None,
        _shared: _Shared | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        self._shared = _shared if _shared is not None else _Shared(db, _client)
        self._tenant_id = tenant_id
        self._threshold = failure_threshold
        self._scripts = self._shared.scripts
        self._versions = self._shared.versions
        self._triggers = self._shared.triggers
        self._leases = self._shared.leases

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> MongoStorage:
        """A storage owning its client (``close()`` it), from ``ALLOY_MONGODB_*`` settings."""
        settings = settings or Settings()
        client = _client_for(settings)
        return cls(
            client[settings.mongodb_database],
            failure_threshold=settings.failure_threshold,
            _client=client,
        )

    @property
    def db(self) -> Database:
        return self._shared.db

    @property
    def tenant_id(self) -> str | None:
        return self._tenant_id

    @property
    def failure_threshold(self) -> int:
        return self._threshold

    def for_tenant(self, tenant_id: str | None) -> MongoStorage:
        return MongoStorage(
            self._shared.db,
            tenant_id=tenant_id,
            failure_threshold=self._threshold,
            _shared=self._shared,
        )

    async def close(self) -> None:
        if self._shared.client is not None:
            await self._shared.client.close()

    async def ensure_indexes(self) -> None:
        await _create_index(
            self._scripts,
            [("tenant_id", ASCENDING), ("name", ASCENDING)],
            name=IDX_TENANT_NAME,
            unique=True,
        )
        await _create_index(
            self._scripts,
            [
                ("tenant_id", ASCENDING),
                ("trigger.type", ASCENDING),
                ("trigger.entity_type", ASCENDING),
                ("trigger.event", ASCENDING),
                ("status", ASCENDING),
                ("priority", ASCENDING),
                ("name", ASCENDING),
            ],
            name=IDX_TRIGGER,
        )
        await _create_index(
            self._scripts,
            [("trigger.type", ASCENDING), ("status", ASCENDING)],
            name=IDX_TRIGGER_TYPE,
        )
        await _create_index(
            self._versions,
            [("script_id", ASCENDING), ("version", ASCENDING)],
            name=IDX_SCRIPT_VERSION,
            unique=True,
        )

    # -- helpers ------------------------------------------------------------------------

    def _lease(self, script_id: str) -> AbstractAsyncContextManager[None]:
        return self._leases.hold(f"script:{script_id}")

    async def _fetch(self, script_id: str) -> Script | None:
        """Any tenant's script by id: a bare ``_id`` lookup (indexed everywhere)."""
        doc = await self._scripts.find_one({"_id": script_id})
        return None if doc is None else _script_from(doc)

    async def _load(self, script_id: str) -> Script:
        script = await self._fetch(script_id)
        if script is None or script.tenant_id != self._tenant_id:
            raise ScriptNotFound(script_id, tenant_id=self._tenant_id)
        return script

    async def _put_version(self, version: ScriptVersion) -> None:
        doc = _version_doc(version)
        # A concurrent upsert of the same record may lose with DuplicateKeyError: records
        # are immutable, so the one stored is the one meant.
        try:
            await self._versions.update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)
        except OperationFailure as exc:
            if not is_duplicate_key(exc):
                raise

    async def _add_member(self, key: str | None, script_id: str) -> None:
        if key is None:
            return
        async with self._leases.hold(f"trigger:{key}"):
            await self._triggers.update_one(
                {"_id": key}, {"$addToSet": {"script_ids": script_id}}, upsert=True
            )

    async def _remove_member(self, key: str | None, script_id: str) -> None:
        if key is None:
            return
        async with self._leases.hold(f"trigger:{key}"):
            await self._triggers.update_one({"_id": key}, {"$pull": {"script_ids": script_id}})

    async def _name_owner(self, name: str) -> str | None:
        doc = await self._scripts.find_one(
            _tenant_filter(self._tenant_id, name=name), projection={"_id": 1}
        )
        return None if doc is None else str(doc["_id"])

    async def _update(
        self,
        stored: Script,
        incoming: Script,
        *,
        force_new_version: bool = False,
        rolled_back_from: int | None = None,
    ) -> Script:
        """Write ``incoming`` over ``stored``; the caller holds the script's lease."""
        if incoming.revision != stored.revision:
            raise VersionConflict(stored.id, incoming.revision, stored.revision)
        fields, new_version = prepare_update(stored, incoming, force_new_version=force_new_version)
        old_key = _member_key(stored)
        new_key = _member_key(stored.model_copy(update=fields))
        if new_version:
            await self._put_version(ScriptVersion.of(stored))
        if new_key != old_key:
            await self._add_member(new_key, stored.id)
        try:
            doc = await self._scripts.find_one_and_update(
                _tenant_filter(self._tenant_id, _id=stored.id, revision=stored.revision),
                {"$set": {key: _bson(value) for key, value in fields.items()}},
                return_document=ReturnDocument.AFTER,
            )
        except OperationFailure as exc:
            if not is_duplicate_key(exc):
                raise
            doc = None
            error: StorageError = DuplicateScriptName(incoming.name, tenant_id=self._tenant_id)
            cause: Exception | None = exc
        else:
            error = VersionConflict(stored.id, incoming.revision)
            cause = None
        if doc is None:
            if new_key != old_key:
                await self._remove_member(new_key, stored.id)
            raise error from cause
        saved = _script_from(doc)
        if new_key != old_key:
            await self._remove_member(old_key, stored.id)
        if new_version:
            await self._put_version(ScriptVersion.of(saved, rolled_back_from=rolled_back_from))
        return saved

    # -- ScriptRegistry -------------------------------------------------------------------

    async def save(self, script: Script) -> Script:
        script = scoped(script, self._tenant_id)
        if script.revision != 0:
            async with self._lease(script.id):
                return await self._update(await self._load(script.id), script)
        saved = prepare_insert(script)
        key = _member_key(saved)
        await self._add_member(key, saved.id)
        try:
            await self._scripts.insert_one(_script_doc(saved))
        except DuplicateKeyError as exc:
            owner = await self._name_owner(saved.name)
            if owner != saved.id:
                await self._remove_member(key, saved.id)
            if owner is not None and owner != saved.id:
                raise DuplicateScriptName(saved.name, tenant_id=self._tenant_id) from exc
            raise VersionConflict(saved.id, 0) from exc
        await self._put_version(ScriptVersion.of(saved))
        return saved

    async def get(self, script_id: str) -> Script:
        return await self._load(script_id)

    async def get_by_name(self, name: str) -> Script:
        doc = await self._scripts.find_one(_tenant_filter(self._tenant_id, name=name))
        if doc is None:
            raise ScriptNotFound(name, by="name", tenant_id=self._tenant_id)
        return _script_from(doc)

    async def delete(self, script_id: str, *, expected_revision: int | None = None) -> None:
        async with self._lease(script_id):
            stored = await self._load(script_id)
            if expected_revision is not None and expected_revision != stored.revision:
                raise VersionConflict(script_id, expected_revision, stored.revision)
            result = await self._scripts.delete_one(
                _tenant_filter(self._tenant_id, _id=script_id, revision=stored.revision)
            )
            if result.deleted_count == 0:
                raise VersionConflict(script_id, stored.revision)
            await self._remove_member(_member_key(stored), script_id)
            await self._versions.delete_many({"script_id": script_id})

    async def _members(self, key: str) -> list[Script]:
        """The scripts listed by a trigger-index document (unchecked; missing ones dropped)."""
        index = await self._triggers.find_one({"_id": key})
        ids: list[str] = list(index.get("script_ids", [])) if index else []
        fetched = await asyncio.gather(*(self._fetch(i) for i in ids))
        return [s for s in fetched if s is not None]

    async def find_by_trigger(self, entity_type: str, event: EventType | str) -> list[Script]:
        event = EventType(event).value
        members = await self._members(trigger_key(self._tenant_id, entity_type, event))
        found = [s for s in members if _matches_trigger(s, self._tenant_id, entity_type, event)]
        found.sort(key=lambda s: (s.priority, s.name))
        return found

    async def find_active_cron(self) -> list[Script]:
        members = await self._members(CRON_KEY)
        found = [s for s in members if s.is_active and s.trigger.type == "cron"]
        found.sort(key=lambda s: (s.tenant_id or "", s.name))
        return found

    def trigger_filter(self, entity_type: str, event: EventType | str) -> Document:
        """The ``find_by_trigger`` query as a plain filter (served by `IDX_TRIGGER` on
        MongoDB; sort by priority, name), for ``explain`` and comparisons."""
        return {
            "tenant_id": self._tenant_id,
            "trigger.type": "event",
            "trigger.entity_type": entity_type,
            "trigger.event": EventType(event).value,
            "status": ScriptStatus.ACTIVE.value,
        }

    async def rebuild_trigger_index(self, *, exclusive: bool = False) -> int:
        """Add every active event or cron script of every tenant to its trigger-index
        document (a scan of the collection).

        It never removes an entry, so it is safe while the service runs. ``exclusive=True``
        skips the per-key leases: only when nothing else writes scripts (a migration, a bulk
        load). Returns the number of index documents touched."""
        members: dict[str, list[str]] = {}
        cursor = self._scripts.find(
            {"status": ScriptStatus.ACTIVE.value, "trigger.type": {"$in": ["event", "cron"]}},
            projection={"_id": 1, "tenant_id": 1, "trigger": 1},
        )
        async for doc in cursor:
            trigger = doc["trigger"]
            if trigger["type"] == "cron":
                key = CRON_KEY
            else:
                key = trigger_key(doc.get("tenant_id"), trigger["entity_type"], trigger["event"])
            members.setdefault(key, []).append(str(doc["_id"]))
        limit = asyncio.Semaphore(8 if exclusive else 1)

        # One update per key, a few at a time. Not bulk_write: FerretDB v1 stalls for minutes
        # on an ``update`` batch of ~100 upserts over existing documents.
        async def add(key: str, ids: list[str]) -> None:
            async with limit:
                lease = (
                    contextlib.nullcontext() if exclusive else self._leases.hold(f"trigger:{key}")
                )
                async with lease:
                    await self._triggers.update_one(
                        {"_id": key}, {"$addToSet": {"script_ids": {"$each": ids}}}, upsert=True
                    )

        await asyncio.gather(*(add(key, ids) for key, ids in members.items()))
        return len(members)

    async def find_paginated(
        self, query: ScriptQuery | None = None, offset: int = 0, limit: int = 50
    ) -> ScriptPage:
        check_page(offset, limit)
        query = query or ScriptQuery()
        flt = _tenant_filter(self._tenant_id)
        if query.status is not None:
            flt["status"] = query.status.value
        if query.trigger_type is not None:
            flt["trigger.type"] = query.trigger_type
        if query.entity_type is not None:
            flt["trigger.entity_type"] = query.entity_type
        if query.event is not None:
            flt["trigger.event"] = query.event.value
        if query.name_prefix:
            flt["name"] = {"$regex": "^" + re.escape(query.name_prefix)}

        async def page() -> list[Script]:
            if limit == 0:
                return []
            cursor = self._scripts.find(
                flt, sort=[("name", ASCENDING), ("_id", ASCENDING)], skip=offset, limit=limit
            )
            return [_script_from(doc) async for doc in cursor]

        total, items = await asyncio.gather(self._scripts.count_documents(flt), page())
        return ScriptPage(items=items, total=total, offset=offset, limit=limit)

    async def record_success(self, script_id: str) -> None:
        current = await self._fetch(script_id)
        if current is None or current.tenant_id != self._tenant_id or current.error_count == 0:
            return  # the hot path: one primary-key read, no write
        async with self._lease(script_id):
            await self._scripts.update_one(
                _tenant_filter(self._tenant_id, _id=script_id, error_count={"$gt": 0}),
                {"$set": {"error_count": 0}},
            )

    async def record_failure(self, script_id: str, error: str | LastError) -> FailureOutcome:
        last = as_last_error(error)
        async with self._lease(script_id):
            await self._load(script_id)
            doc = await self._scripts.find_one_and_update(
                _tenant_filter(self._tenant_id, _id=script_id),
                {"$inc": {"error_count": 1}, "$set": {"last_error": _bson(last)}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                raise ScriptNotFound(script_id, tenant_id=self._tenant_id)
            script = _script_from(doc)
            if script.error_count < self._threshold or script.status is not ScriptStatus.ACTIVE:
                return FailureOutcome(script=script, disabled=False)
            # Under the lease this caller alone saw the threshold crossed while active; the
            # conditions make it so on MongoDB even if a lease was overrun.
            now = utc_now()
            disabled = await self._scripts.find_one_and_update(
                _tenant_filter(
                    self._tenant_id,
                    _id=script_id,
                    status=ScriptStatus.ACTIVE.value,
                    error_count={"$gte": self._threshold},
                ),
                {
                    "$set": {
                        "status": ScriptStatus.DISABLED.value,
                        "disabled_reason": disabled_reason(script.error_count, last),
                        "disabled_at": now,
                        "updated_at": now,
                    },
                    "$inc": {"revision": 1},
                },
                return_document=ReturnDocument.AFTER,
            )
            if disabled is None:
                return FailureOutcome(script=await self._load(script_id), disabled=False)
            await self._remove_member(_member_key(script), script_id)
            return FailureOutcome(script=_script_from(disabled), disabled=True)

    async def reset(self, script_id: str, *, updated_by: str | None = None) -> Script:
        fields = reset_fields(utc_now(), updated_by)
        async with self._lease(script_id):
            stored = await self._load(script_id)
            old_key = _member_key(stored)
            new_key = _member_key(stored.model_copy(update=fields))
            if new_key != old_key:
                await self._add_member(new_key, script_id)
            doc = await self._scripts.find_one_and_update(
                _tenant_filter(self._tenant_id, _id=script_id),
                {"$set": {k: _bson(v) for k, v in fields.items()}, "$inc": {"revision": 1}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                raise ScriptNotFound(script_id, tenant_id=self._tenant_id)
            return _script_from(doc)

    async def list_versions(self, script_id: str) -> list[ScriptVersion]:
        stored = await self._load(script_id)
        cursor = self._versions.find(
            {"script_id": script_id, "version": {"$lte": stored.version}},
            sort=[("version", ASCENDING)],
        )
        return [_version_from(doc) async for doc in cursor]

    async def get_version(self, script_id: str, version: int) -> ScriptVersion:
        stored = await self._load(script_id)
        doc = None
        if version <= stored.version:
            doc = await self._versions.find_one({"_id": _version_id(script_id, version)})
        if doc is None:
            raise VersionNotFound(script_id, version)
        return _version_from(doc)

    async def rollback(
        self,
        script_id: str,
        version: int,
        *,
        expected_revision: int | None = None,
        updated_by: str | None = None,
    ) -> Script:
        async with self._lease(script_id):
            stored = await self._load(script_id)
            target = await self.get_version(script_id, version)
            revision = stored.revision if expected_revision is None else expected_revision
            incoming = stored.model_copy(
                update={
                    "source": target.source,
                    "trigger": target.trigger,
                    "revision": revision,
                    "updated_by": updated_by,
                }
            )
            return await self._update(
                stored, incoming, force_new_version=True, rolled_back_from=version
            )


class MongoExecutionLog:
    """`ExecutionLog` on MongoDB / FerretDB (``script_executions``)."""

    def __init__(
        self,
        db: Database,
        *,
        tenant_id: str | None = None,
        retention_days: int = 30,
    ) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be >= 1")
        self._db = db
        self._tenant_id = tenant_id
        self._retention_days = retention_days
        self._records = _collection(db, "executions")
        self.ttl_supported: bool | None = None  # known after ensure_indexes()

    @property
    def tenant_id(self) -> str | None:
        return self._tenant_id

    @property
    def retention_days(self) -> int:
        return self._retention_days

    def for_tenant(self, tenant_id: str | None) -> MongoExecutionLog:
        scoped_log = MongoExecutionLog(
            self._db, tenant_id=tenant_id, retention_days=self._retention_days
        )
        scoped_log.ttl_supported = self.ttl_supported
        return scoped_log

    async def ensure_indexes(self) -> None:
        await _create_index(
            self._records,
            [("tenant_id", ASCENDING), ("script_id", ASCENDING), ("started_at", DESCENDING)],
            name=IDX_EXEC_BY_SCRIPT,
        )
        self.ttl_supported = await _create_ttl_index(
            self._records, "started_at", self._retention_days * 86400, name=IDX_EXEC_TTL
        )

    async def append(self, record: ExecutionRecord) -> None:
        try:
            await self._records.insert_one(_record_doc(record))
        except DuplicateKeyError:
            log.debug("execution record %s already logged", record.id)

    async def append_many(self, records: list[ExecutionRecord]) -> None:
        if not records:
            return
        try:
            await self._records.insert_many([_record_doc(r) for r in records], ordered=False)
        except BulkWriteError as exc:
            details = exc.details or {}
            errors = details.get("writeErrors", [])
            if details.get("writeConcernErrors") or any(e.get("code") != 11000 for e in errors):
                raise
            log.debug("%d execution records already logged", len(errors))

    async def find_by_script(
        self,
        script_id: str,
        offset: int = 0,
        limit: int = 50,
        query: ExecutionQuery | None = None,
    ) -> ExecutionPage:
        check_page(offset, limit)
        flt = _tenant_filter(self._tenant_id, script_id=script_id)
        if query is not None:
            if query.status is not None:
                flt["status"] = query.status.value
            started: Document = {}
            if query.since is not None:
                started["$gte"] = query.since
            if query.until is not None:
                started["$lt"] = query.until
            if started:
                flt["started_at"] = started
        total = await self._records.count_documents(flt)
        items: list[ExecutionRecord] = []
        if limit > 0 and offset < total:
            cursor = self._records.find(
                flt,
                sort=[("started_at", DESCENDING), ("_id", DESCENDING)],
                skip=offset,
                limit=limit,
            )
            items = [_record_from(doc) async for doc in cursor]
        return ExecutionPage(items=items, total=total, offset=offset, limit=limit)

    async def purge_expired(self, now: datetime | None = None) -> int:
        result = await self._records.delete_many(
            {"started_at": {"$lt": cutoff(now, self._retention_days)}}
        )
        return result.deleted_count


class MongoProcessedEvents:
    """`ProcessedEvents` on MongoDB / FerretDB (``processed_events``, ``_id`` = key).

    ``mark`` is a unique insert (atomic everywhere); reads are bare ``_id`` lookups with the
    expiry checked in Python. A key found expired (not purged yet) is deleted and competed for
    again; in the instant between that delete and the new insert another instance may do the
    same, so an event whose mark had *expired* may run twice -- outside the dedup window, by
    definition.
    """

    def __init__(self, db: Database) -> None:
        self._events = _collection(db, "processed")
        self._watermarks = _collection(db, "watermarks")

    async def ensure_indexes(self) -> None:
        await _create_ttl_index(self._events, "expires_at", 0, name=IDX_PROCESSED_TTL)

    async def mark_many(
        self,
        entries: Mapping[str, dict[str, Any] | None],
        *,
        ttl_seconds: float = DEFAULT_PROCESSED_TTL_SECONDS,
    ) -> None:
        if not entries:
            return
        now = utc_now()
        expires = to_utc_ms(now + timedelta(seconds=ttl_seconds))
        docs = [
            {"_id": key, "result": dict(result or {}), "expires_at": expires}
            for key, result in entries.items()
        ]
        try:
            await self._events.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            details = exc.details or {}
            errors = details.get("writeErrors", [])
            if details.get("writeConcernErrors") or not all(
                e.get("code") == 11000 or "UNIQUE constraint failed" in str(e.get("errmsg"))
                for e in errors
            ):
                raise

    async def watermark(self, partition: str) -> int | None:
        doc = await self._watermarks.find_one({"_id": partition})
        return None if doc is None else int(doc["offset"])

    async def set_watermark(self, partition: str, offset: int) -> None:
        # One document per partition, written by its single consumer at a time; `$max`
        # keeps a slower former owner from lowering it.
        await self._watermarks.update_one(
            {"_id": partition}, {"$max": {"offset": offset}}, upsert=True
        )

    async def mark(
        self,
        key: str,
        *,
        ttl_seconds: float = DEFAULT_PROCESSED_TTL_SECONDS,
        result: dict[str, Any] | None = None,
    ) -> bool:
        now = utc_now()
        doc: Document = {
            "_id": key,
            "result": dict(result or {}),
            "expires_at": to_utc_ms(now + timedelta(seconds=ttl_seconds)),
        }
        try:
            await self._events.insert_one(doc)
            return True
        except DuplicateKeyError:
            pass
        current = await self._events.find_one({"_id": key})
        if current is not None and current["expires_at"] > now:
            return False
        await self._events.delete_one({"_id": key})
        try:
            await self._events.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, key: str) -> dict[str, Any] | None:
        doc = await self._events.find_one({"_id": key})
        if doc is None or doc["expires_at"] <= utc_now():
            return None
        result = doc.get("result")
        return dict(result) if isinstance(result, Mapping) else {}

    async def release(self, key: str) -> bool:
        result = await self._events.delete_one({"_id": key})
        return result.deleted_count > 0

    async def purge_expired(self, now: datetime | None = None) -> int:
        limit = to_utc_ms(now) if now else utc_now()
        result = await self._events.delete_many({"expires_at": {"$lte": limit}})
        return result.deleted_count


class MongoTickLedger:
    """`TickLedger` on MongoDB / FerretDB.

    ``scheduler_ticks`` holds one claim per tick (``_id`` = ``"<script_id>:<UTC instant>"``, a
    unique insert: exactly one claimer everywhere). ``scheduler_last_ticks`` holds, per script
    (``_id`` = script id), the latest claimed instant, so that ``last_claimed`` is a primary-key
    read rather than a scan of all claims. That one is maintained with ``$max`` after each claim:
    under FerretDB's non-atomic updates two concurrent claims may leave the older instant there,
    which only makes the scheduler look at an already-claimed tick again (its claim fails).
    """

    def __init__(self, db: Database, *, retention_days: int = DEFAULT_TICK_RETENTION_DAYS) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be >= 1")
        self._ticks = _collection(db, "ticks")
        self._last = _collection(db, "last_ticks")
        self._retention_days = retention_days

    @property
    def retention_days(self) -> int:
        return self._retention_days

    async def ensure_indexes(self) -> None:
        await _create_ttl_index(
            self._ticks, "scheduled_at", self._retention_days * 86400, name=IDX_TICKS_TTL
        )

    async def claim(self, script_id: str, scheduled_at: datetime, instance: str) -> bool:
        key, instant = tick_key(script_id, scheduled_at)
        try:
            await self._ticks.insert_one(
                {
                    "_id": key,
                    "script_id": script_id,
                    "scheduled_at": instant,
                    "instance": instance,
                    "claimed_at": utc_now(),
                }
            )
        except DuplicateKeyError:
            return False
        try:
            await self._last.update_one(
                {"_id": script_id}, {"$max": {"scheduled_at": instant}}, upsert=True
            )
        except OperationFailure as exc:  # a concurrent first upsert; the claim stands
            if not is_duplicate_key(exc):
                raise
        return True

    async def last_claimed(self, script_id: str) -> datetime | None:
        doc = await self._last.find_one({"_id": script_id})
        value = doc.get("scheduled_at") if doc else None
        return value if isinstance(value, datetime) else None

    async def purge_expired(self, now: datetime | None = None) -> int:
        limit = cutoff(now, self._retention_days)
        result = await self._ticks.delete_many({"scheduled_at": {"$lt": limit}})
        await self._last.delete_many({"scheduled_at": {"$lt": limit}})
        return result.deleted_count


class MongoStores:
    """The four MongoDB stores over one database handle (`Stores`)."""

    def __init__(
        self,
        db: Database,
        *,
        failure_threshold: int = 3,
        retention_days: int = 30,
        tick_retention_days: int = DEFAULT_TICK_RETENTION_DAYS,
        _client: AsyncMongoClient[Document] | None = None,
    ) -> None:
        self._client = _client
        self._scripts = MongoStorage(db, failure_threshold=failure_threshold)
        self._executions = MongoExecutionLog(db, retention_days=retention_days)
        self._processed = MongoProcessedEvents(db)
        self._ticks = MongoTickLedger(db, retention_days=tick_retention_days)
        self.db = db

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> MongoStores:
        """Stores owning their client (``await stores.close()``)."""
        settings = settings or Settings()
        client = _client_for(settings)
        return cls(
            client[settings.mongodb_database],
            failure_threshold=settings.failure_threshold,
            retention_days=settings.execution_retention_days,
            _client=client,
        )

    @property
    def scripts(self) -> MongoStorage:
        return self._scripts

    @property
    def executions(self) -> MongoExecutionLog:
        return self._executions

    @property
    def processed(self) -> MongoProcessedEvents:
        return self._processed

    @property
    def ticks(self) -> MongoTickLedger:
        return self._ticks

    async def ensure_indexes(self) -> None:
        await self._scripts.ensure_indexes()
        await self._executions.ensure_indexes()
        await self._processed.ensure_indexes()
        await self._ticks.ensure_indexes()

    async def purge_expired(self, now: datetime | None = None) -> dict[str, int]:
        return {
            "executions": await self._executions.purge_expired(now),
            "processed": await self._processed.purge_expired(now),
            "ticks": await self._ticks.purge_expired(now),
        }

    async def ping(self) -> bool:
        """True when the server answers (for readiness checks)."""
        try:
            await self.db.command("ping")
        except Exception:  # any failure means not ready
            return False
        return True

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
