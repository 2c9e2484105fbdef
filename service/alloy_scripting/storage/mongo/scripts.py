"""`MongoStorage`: the script registry (scripts, their versions, the trigger index) on MongoDB."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError, OperationFailure

from alloy_scripting.model.enums import EventType, ScriptStatus
from alloy_scripting.model.lifecycle import (
    as_last_error,
    disabled_reason,
    prepare_insert,
    prepare_update,
    reset_fields,
    rollback_of,
)
from alloy_scripting.model.page import ScriptPage, ScriptQuery
from alloy_scripting.model.script import (
    FailureOutcome,
    LastError,
    Script,
    ScriptVersion,
    utc_now,
)
from alloy_scripting.settings import Settings
from alloy_scripting.storage._common import scoped
from alloy_scripting.storage.errors import (
    DuplicateScriptName,
    ScriptNotFound,
    StorageError,
    VersionConflict,
    VersionNotFound,
)
from alloy_scripting.storage.mongo.common import (
    IDX_SCRIPT_VERSION,
    IDX_TENANT_NAME,
    IDX_TRIGGER,
    IDX_TRIGGER_TYPE,
    Database,
    Document,
    as_text,
    bson_value,
    client_for,
    collection,
    create_index,
    from_text,
    is_duplicate_key,
    tenant_filter,
)
from alloy_scripting.storage.mongo.lease import Leases
from alloy_scripting.storage.protocols import (
    check_page,
)


def script_doc(script: Script) -> Document:
    doc = script.model_dump(mode="python", exclude=set(_AS_TEXT))
    doc["_id"] = doc.pop("id")
    for name in _AS_TEXT:
        doc[name] = as_text(getattr(script, name))
    return doc


def script_from(doc: Mapping[str, Any]) -> Script:
    data = dict(doc)
    data["id"] = data.pop("_id")
    from_text(data, _AS_TEXT)
    return Script.model_validate(data)


_AS_TEXT = ("fixtures", "template")
"""Fields whose field names are the author's (fixture entities, template parameters),
kept as JSON text (`as_text`)."""


def stored_field(name: str, value: Any) -> Any:
    """A script field as stored (`$set` of an update, like `script_doc`)."""
    return as_text(value) if name in _AS_TEXT else bson_value(value)


def version_id(script_id: str, version: int) -> str:
    return f"{script_id}:{version}"


def version_doc(version: ScriptVersion) -> Document:
    doc = version.model_dump(mode="python")
    doc["_id"] = version_id(version.script_id, version.version)
    return doc


def version_from(doc: Mapping[str, Any]) -> ScriptVersion:
    data = dict(doc)
    data.pop("_id", None)
    return ScriptVersion.model_validate(data)


class _Shared:
    """What every tenant view of one `MongoStorage` shares."""

    def __init__(self, db: Database, client: AsyncMongoClient[Document] | None) -> None:
        self.db = db
        self.client = client
        self.scripts = collection(db, "scripts")
        self.versions = collection(db, "versions")
        self.triggers = collection(db, "triggers")
        self.leases = Leases(collection(db, "leases"))


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
        client = client_for(settings)
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
        await create_index(
            self._scripts,
            [("tenant_id", ASCENDING), ("name", ASCENDING)],
            name=IDX_TENANT_NAME,
            unique=True,
        )
        await create_index(
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
        await create_index(
            self._scripts,
            [("trigger.type", ASCENDING), ("status", ASCENDING)],
            name=IDX_TRIGGER_TYPE,
        )
        await create_index(
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
        return None if doc is None else script_from(doc)

    async def _load(self, script_id: str) -> Script:
        script = await self._fetch(script_id)
        if script is None or script.tenant_id != self._tenant_id:
            raise ScriptNotFound(script_id, tenant_id=self._tenant_id)
        return script

    async def _put_version(self, version: ScriptVersion) -> None:
        doc = version_doc(version)
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
            tenant_filter(self._tenant_id, name=name), projection={"_id": 1}
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
                tenant_filter(self._tenant_id, _id=stored.id, revision=stored.revision),
                {"$set": {key: stored_field(key, value) for key, value in fields.items()}},
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
        saved = script_from(doc)
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
            await self._scripts.insert_one(script_doc(saved))
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
        doc = await self._scripts.find_one(tenant_filter(self._tenant_id, name=name))
        if doc is None:
            raise ScriptNotFound(name, by="name", tenant_id=self._tenant_id)
        return script_from(doc)

    async def delete(self, script_id: str, *, expected_revision: int | None = None) -> None:
        async with self._lease(script_id):
            stored = await self._load(script_id)
            if expected_revision is not None and expected_revision != stored.revision:
                raise VersionConflict(script_id, expected_revision, stored.revision)
            result = await self._scripts.delete_one(
                tenant_filter(self._tenant_id, _id=script_id, revision=stored.revision)
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
        flt = tenant_filter(self._tenant_id)
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
            return [script_from(doc) async for doc in cursor]

        total, items = await asyncio.gather(self._scripts.count_documents(flt), page())
        return ScriptPage(items=items, total=total, offset=offset, limit=limit)

    async def record_success(self, script_id: str) -> None:
        current = await self._fetch(script_id)
        if current is None or current.tenant_id != self._tenant_id or current.error_count == 0:
            return  # the hot path: one primary-key read, no write
        async with self._lease(script_id):
            await self._scripts.update_one(
                tenant_filter(self._tenant_id, _id=script_id, error_count={"$gt": 0}),
                {"$set": {"error_count": 0}},
            )

    async def record_failure(self, script_id: str, error: str | LastError) -> FailureOutcome:
        last = as_last_error(error)
        async with self._lease(script_id):
            await self._load(script_id)
            doc = await self._scripts.find_one_and_update(
                tenant_filter(self._tenant_id, _id=script_id),
                {"$inc": {"error_count": 1}, "$set": {"last_error": bson_value(last)}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                raise ScriptNotFound(script_id, tenant_id=self._tenant_id)
            script = script_from(doc)
            if script.error_count < self._threshold or script.status is not ScriptStatus.ACTIVE:
                return FailureOutcome(script=script, disabled=False)
            # Under the lease this caller alone saw the threshold crossed while active; the
            # conditions make it so on MongoDB even if a lease was overrun.
            now = utc_now()
            disabled = await self._scripts.find_one_and_update(
                tenant_filter(
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
            return FailureOutcome(script=script_from(disabled), disabled=True)

    async def reset(self, script_id: str, *, updated_by: str | None = None) -> Script:
        fields = reset_fields(utc_now(), updated_by)
        async with self._lease(script_id):
            stored = await self._load(script_id)
            old_key = _member_key(stored)
            new_key = _member_key(stored.model_copy(update=fields))
            if new_key != old_key:
                await self._add_member(new_key, script_id)
            doc = await self._scripts.find_one_and_update(
                tenant_filter(self._tenant_id, _id=script_id),
                {
                    "$set": {k: stored_field(k, v) for k, v in fields.items()},
                    "$inc": {"revision": 1},
                },
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                raise ScriptNotFound(script_id, tenant_id=self._tenant_id)
            return script_from(doc)

    async def list_versions(self, script_id: str) -> list[ScriptVersion]:
        stored = await self._load(script_id)
        cursor = self._versions.find(
            {"script_id": script_id, "version": {"$lte": stored.version}},
            sort=[("version", ASCENDING)],
        )
        return [version_from(doc) async for doc in cursor]

    async def get_version(self, script_id: str, version: int) -> ScriptVersion:
        stored = await self._load(script_id)
        doc = None
        if version <= stored.version:
            doc = await self._versions.find_one({"_id": version_id(script_id, version)})
        if doc is None:
            raise VersionNotFound(script_id, version)
        return version_from(doc)

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
            incoming = rollback_of(
                stored, target, expected_revision=expected_revision, updated_by=updated_by
            )
            return await self._update(
                stored, incoming, force_new_version=True, rolled_back_from=version
            )
