"""`MongoTickLedger`: the scheduler's claimed cron ticks on MongoDB."""

from __future__ import annotations

from datetime import datetime

from pymongo.errors import DuplicateKeyError, OperationFailure

from alloy_scripting.model.script import (
    utc_now,
)
from alloy_scripting.storage._common import cutoff, tick_key
from alloy_scripting.storage.mongo.common import (
    IDX_TICKS_TTL,
    Database,
    collection,
    create_ttl_index,
    is_duplicate_key,
)
from alloy_scripting.storage.protocols import (
    DEFAULT_TICK_RETENTION_DAYS,
)


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
        self._ticks = collection(db, "ticks")
        self._last = collection(db, "last_ticks")
        self._retention_days = retention_days

    @property
    def retention_days(self) -> int:
        return self._retention_days

    async def ensure_indexes(self) -> None:
        await create_ttl_index(
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
