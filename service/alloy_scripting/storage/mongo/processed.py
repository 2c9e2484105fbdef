"""`MongoProcessedEvents`: processed-event marks and consumer watermarks on MongoDB."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import BulkWriteError, DuplicateKeyError

from alloy_scripting.model.script import (
    to_utc_ms,
    utc_now,
)
from alloy_scripting.storage.mongo.common import (
    IDX_PROCESSED_TTL,
    Database,
    Document,
    collection,
    create_ttl_index,
)
from alloy_scripting.storage.protocols import (
    DEFAULT_PROCESSED_TTL_SECONDS,
)


class MongoProcessedEvents:
    """`ProcessedEvents` on MongoDB / FerretDB (``processed_events``, ``_id`` = key).

    ``mark`` is a unique insert (atomic everywhere); reads are bare ``_id`` lookups with the
    expiry checked in Python. A key found expired (not purged yet) is deleted and competed for
    again; in the instant between that delete and the new insert another instance may do the
    same, so an event whose mark had *expired* may run twice -- outside the dedup window, by
    definition.
    """

    def __init__(self, db: Database) -> None:
        self._events = collection(db, "processed")
        self._watermarks = collection(db, "watermarks")

    async def ensure_indexes(self) -> None:
        await create_ttl_index(self._events, "expires_at", 0, name=IDX_PROCESSED_TTL)

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
