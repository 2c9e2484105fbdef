"""Short leases (mutexes) in a MongoDB collection, built on unique ``_id`` inserts only.

Why: FerretDB v1 (SQLite backend) applies an update by reading the document, changing it in
Go and writing the whole document back, with no transaction around the two. Concurrent
updates of one document therefore lose each other's writes, ``$inc`` included (50 concurrent
``find_one_and_update({$inc: 1})`` leave the counter around 5), and a conditional update
(``{status: "active"}`` → disabled) can succeed for many callers. The one operation it does
atomically is an insert against a unique ``_id``. So every write to a script document (and to
a trigger-index document) happens under a lease acquired by such an insert; on MongoDB the
same code is merely belt and braces around updates that are atomic anyway.

Within one process, callers queue on an `asyncio.Lock` first, so the database only sees
contention between processes (replicas).

Limits, stated plainly: a lease expires after ``ttl`` seconds so that a crashed holder does not
block its script forever; a holder stalled for longer than that may overlap with the next one,
and replicas must have roughly synchronised clocks (the TTL is seconds; the critical sections
are milliseconds).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from alloy_scripting.model.script import utc_now
from alloy_scripting.storage.errors import StorageError

log = logging.getLogger("alloy.storage")


class LeaseTimeout(StorageError):
    """The lease could not be acquired in time (another replica holds it)."""

    def __init__(self, key: str, timeout: float) -> None:
        self.key = key
        super().__init__(f"lease {key!r} not acquired within {timeout:.1f}s")


class Leases:
    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        *,
        ttl: float = 10.0,
        timeout: float = 30.0,
    ) -> None:
        self._coll = collection
        self._ttl = ttl
        self._timeout = timeout
        self._local: dict[str, tuple[asyncio.Lock, int]] = {}
        self.owner_prefix = uuid.uuid4().hex[:8]

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._local.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._local[key] = (lock, users + 1)
        try:
            async with lock:
                token = await self._acquire(key)
                try:
                    yield
                finally:
                    await asyncio.shield(self._release(key, token))
        finally:
            lock, users = self._local[key]
            if users <= 1:
                del self._local[key]
            else:
                self._local[key] = (lock, users - 1)

    async def _acquire(self, key: str) -> str:
        token = f"{self.owner_prefix}-{uuid.uuid4().hex[:12]}"
        deadline = time.monotonic() + self._timeout
        delay = 0.002
        while True:
            now = utc_now()
            try:
                await self._coll.insert_one(
                    {
                        "_id": key,
                        "owner": token,
                        "acquired_at": now,
                        "expires_at": now + timedelta(seconds=self._ttl),
                    }
                )
                return token
            except DuplicateKeyError:
                pass
            current = await self._coll.find_one({"_id": key})
            if current is not None and current["expires_at"] <= now:
                log.warning("lease %s of %s expired; taking it over", key, current.get("owner"))
                await self._coll.delete_one({"_id": key, "owner": current["owner"]})
                continue
            if time.monotonic() > deadline:
                raise LeaseTimeout(key, self._timeout)
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.05)

    async def _release(self, key: str, token: str) -> None:
        try:
            await self._coll.delete_one({"_id": key, "owner": token})
        except Exception:  # the lease expires on its own
            log.exception("cannot release lease %s", key)
