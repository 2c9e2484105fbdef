"""`MongoStateStore`: per-tenant state documents on MongoDB / FerretDB (PyMongo async).

Collections:

* ``state_documents``, one document per (tenant, collection, key): ``_id`` is
  ``json([tenant, collection, key])`` (FerretDB v1 uses an index only for a bare ``_id``
  equality, so ``get`` is a primary-key lookup); ``tenant_id``, ``collection``, ``key``
  (unique index, whose (tenant, collection) prefix serves ``find`` and the listing on
  MongoDB; FerretDB v1 scans the collection for them, and for every update), ``doc``
  (the user's JSON; filters address ``doc.<field>`` only), ``size``, ``expires_at``
  (null: never; indexed for the purge), ``updated_at``, ``rev`` (compare-and-set
  counter), ``applied`` (recent write ids) and ``deleted`` (tombstones);
* ``state_usage``, one document per tenant (``_id`` = ``json([tenant])``) with the
  ``documents`` and ``bytes`` its live and not yet purged documents count.

Atomicity without transactions. ``put`` and ``delete`` read the document, then write it
with a compare-and-set on ``rev`` (a replace or delete whose filter names the revision
read, or an insert against the unique ``_id``), retrying when another writer won.
``incr`` of an existing number is a single ``find_one_and_update`` with ``$inc``;
creating the document or the field goes through the compare-and-set path. These are
atomic on MongoDB, and on FerretDB because our wire front (`scripts/ferretdb`) runs
update/findAndModify/delete commands on one collection one at a time.

Quotas. Growth is reserved *before* the write with one conditional ``$inc`` on the
tenant's usage document (``documents <= max - n``, ``bytes <= max - size``: atomic, so
concurrent writers cannot overshoot together) and given back when the write loses its
compare-and-set; shrinkage is booked after the write succeeded. A crash between the
reservation and the write leaves the usage too high by that write (never too low):
`recount_usage` recomputes a tenant's figures from its documents.

Idempotency of redelivered writes. A write carrying a ``write_id`` (derived from event,
script and the write's index in the run: `alloy_scripting.model.state.write_id`) is
applied together with that id, in the same single-document write: the id joins the
document's ``applied`` list (the newest `APPLIED_WINDOW`), and the compare-and-set or the
``$inc`` filter (``applied: {$ne: id}``) refuses a document that already lists it. Since
id and effect land in one atomic write, a crash can never separate them: the redelivered
write is skipped exactly when the first one happened. A delete with an id leaves a
tombstone (no ``doc``, not counted against quotas, invisible) that keeps the ids for
`TOMBSTONE_TTL`. Limits, stated plainly: a document remembers its last 128 ids, so a
redelivery that comes after 128 other identified writes to the same document is applied
again; purged (expired) documents forget theirs.

Expiry. ``expires_at`` hides a document from every read at once (reads filter on it, or
check it after a primary-key lookup); ``purge_expired`` deletes expired documents (FerretDB
has no TTL indexes) and books the freed quota.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bson import Int64
from bson.codec_options import CodecOptions
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from alloy_scripting.model.script import utc_now
from alloy_scripting.model.state import (
    JsonDoc,
    StateContention,
    StateItem,
    StatePage,
    StateQuotas,
    StateTypeError,
    StateUsage,
    check_limit,
)
from alloy_scripting.model.state_filter import Condition, SortField, StateFilter
from alloy_scripting.storage.state_common import (
    APPLIED_WINDOW,
    MAX_ATTEMPTS,
    TOMBSTONE_TTL,
    address,
    check_quota,
    incr_args,
    is_number,
    prepared,
    put_args,
    remember,
)

log = logging.getLogger("alloy.storage.state")

Document = dict[str, Any]
Collection = AsyncCollection[Document]

DOCUMENTS = "state_documents"
USAGE = "state_usage"
IDX_ADDRESS = "uniq_tenant_collection_key"
IDX_EXPIRES = "by_expires_at"

_CODEC: CodecOptions[Document] = CodecOptions(document_class=dict, tz_aware=True, tzinfo=UTC)
_MONGO_OPS = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}
_TYPE_MISMATCH = 14
_PURGE_BATCH = 500


def document_id(tenant_id: str | None, collection: str, key: str) -> str:
    return json.dumps([tenant_id, collection, key], separators=(",", ":"), ensure_ascii=False)


def _usage_id(tenant_id: str | None) -> str:
    return json.dumps([tenant_id], separators=(",", ":"), ensure_ascii=False)


def _live(now: datetime) -> Document:
    """The part of a query that keeps live documents only."""
    return {"deleted": {"$ne": True}, "$or": [{"expires_at": None}, {"expires_at": {"$gt": now}}]}


def mongo_filter(where: StateFilter) -> Document:
    """The MongoDB query of a validated filter tree: one clause per condition, each on a
    ``doc.<field>`` path and each with an explicit operator (equality is ``$eq``), so a
    value can never be read as an operator document."""
    if not where.conditions:
        return {}
    return {"$and": [_clause(condition) for condition in where.conditions]}


def _clause(condition: Condition) -> Document:
    path = f"doc.{condition.field}"
    if condition.op == "eq":
        return {path: {"$eq": condition.value}}
    if condition.op == "in":
        return {path: {"$in": list(condition.value)}}
    if condition.op == "exists":
        return {path: {"$exists": bool(condition.value)}}
    return {path: {_MONGO_OPS[condition.op]: condition.value}}


class MongoStateStore:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        quotas: StateQuotas | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._db = db
        self._docs: Collection = db.get_collection(DOCUMENTS, codec_options=_CODEC)
        self._usage: Collection = db.get_collection(USAGE, codec_options=_CODEC)
        self._quotas = quotas or StateQuotas()
        self._clock = clock
        self._known_tenants: set[str | None] = set()

    @property
    def quotas(self) -> StateQuotas:
        return self._quotas

    async def ensure_indexes(self) -> None:
        await self._docs.create_index(
            [("tenant_id", ASCENDING), ("collection", ASCENDING), ("key", ASCENDING)],
            name=IDX_ADDRESS,
            unique=True,
        )
        await self._docs.create_index([("expires_at", ASCENDING)], name=IDX_EXPIRES)

    # -- reads ------------------------------------------------------------------------------

    async def get(self, tenant_id: str | None, collection: str, key: str) -> StateItem | None:
        """One document by its `_id`, as a single-batch `find` command: a script's
        `store.get` is on a hook's path, and PyMongo's `find_one` builds and drives a
        cursor for it (~30 us more per call, measured on FerretDB). Without the ids of
        the writes applied to it, which only writes need."""
        reply = await self._db.command(
            {
                "find": DOCUMENTS,
                "filter": {"_id": document_id(tenant_id, *address(collection, key))},
                "projection": {"applied": 0},
                "limit": 1,
                "singleBatch": True,
            },
            codec_options=_CODEC,
        )
        batch = reply["cursor"]["firstBatch"]
        if not batch or not _is_live(batch[0], self._clock()):
            return None
        return _item(batch[0])

    async def find(
        self,
        tenant_id: str | None,
        collection: str,
        where: StateFilter,
        *,
        limit: int,
        sort: tuple[SortField, ...] = (),
    ) -> list[StateItem]:
        collection, _ = address(collection, "-")
        limit = check_limit(limit)
        query = {
            "tenant_id": tenant_id,
            "collection": collection,
            **_live(self._clock()),
            **mongo_filter(where),
        }
        order = [(f"doc.{s.field}", DESCENDING if s.descending else ASCENDING) for s in sort]
        cursor = self._docs.find(query, sort=[*order, ("key", ASCENDING)], limit=limit)
        return [_item(found) async for found in cursor]

    async def list_documents(
        self, tenant_id: str | None, collection: str, *, offset: int = 0, limit: int = 50
    ) -> StatePage:
        collection, _ = address(collection, "-")
        query = {"tenant_id": tenant_id, "collection": collection, **_live(self._clock())}
        total = await self._docs.count_documents(query)
        items: list[StateItem] = []
        if limit > 0 and offset < total:
            cursor = self._docs.find(query, sort=[("key", ASCENDING)], skip=offset, limit=limit)
            items = [_item(found) async for found in cursor]
        return StatePage(items=items, total=total, offset=offset, limit=limit)

    async def usage(self, tenant_id: str | None) -> StateUsage:
        found = await self._usage.find_one({"_id": _usage_id(tenant_id)})
        if found is None:
            return StateUsage(0, 0)
        return StateUsage(int(found["documents"]), int(found["bytes"]))

    # -- writes -----------------------------------------------------------------------------

    async def put(
        self,
        tenant_id: str | None,
        collection: str,
        key: str,
        doc: JsonDoc,
        *,
        ttl_seconds: float | None = None,
        write_id: str | None = None,
    ) -> bool:
        put = put_args(collection, key, doc, ttl_seconds, self._quotas, self._clock)
        collection, key = put.collection, put.key
        at = document_id(tenant_id, collection, key)
        for attempt in range(MAX_ATTEMPTS):
            current = await self._docs.find_one({"_id": at})
            if _applied(current, write_id):
                return False
            new = _record(
                tenant_id, collection, key, put.doc, put.size, put.expires_at, put.now, current
            )
            new["applied"] = remember(_ids(current), write_id)
            if await self._swap(tenant_id, at, current, new):
                return True
            await _backoff(attempt)
        raise StateContention(f"put {collection}/{key}: too many concurrent writers")

    async def delete(
        self,
        tenant_id: str | None,
        collection: str,
        key: str,
        *,
        write_id: str | None = None,
    ) -> bool:
        collection, key = address(collection, key)
        at = document_id(tenant_id, collection, key)
        for attempt in range(MAX_ATTEMPTS):
            current = await self._docs.find_one({"_id": at})
            if current is None or _applied(current, write_id):
                return False
            if current.get("deleted") and write_id is None:
                return False
            now = self._clock()
            was_live = _is_live(current, now)
            tombstone: Document | None = None
            if write_id is not None:
                tombstone = _record(
                    tenant_id, collection, key, None, 0, now + TOMBSTONE_TTL, now, current
                )
                tombstone["applied"] = remember(_ids(current), write_id)
            if await self._swap(tenant_id, at, current, tombstone):
                return was_live
            await _backoff(attempt)
        raise StateContention(f"delete {collection}/{key}: too many concurrent writers")

    async def incr(
        self,
        tenant_id: str | None,
        collection: str,
        key: str,
        field: str,
        by: int | float = 1,
        *,
        write_id: str | None = None,
    ) -> int | float:
        collection, key, field, by = incr_args(collection, key, field, by)
        at = document_id(tenant_id, collection, key)
        path = f"doc.{field}"
        for attempt in range(MAX_ATTEMPTS):
            now = self._clock()
            query: Document = {"_id": at, **_live(now), path: {"$exists": True}}
            update: Document = {
                "$inc": {path: Int64(by) if isinstance(by, int) else by, "rev": 1},
                "$set": {"updated_at": now},
            }
            if write_id is not None:
                query["applied"] = {"$ne": write_id}
                update["$push"] = {"applied": {"$each": [write_id], "$slice": -APPLIED_WINDOW}}
            try:
                after = await self._docs.find_one_and_update(
                    query, update, return_document=ReturnDocument.AFTER
                )
            except OperationFailure as exc:
                raise _incr_error(exc, field) from None
            if after is not None:
                await self._trim(after)
                return _number(after["doc"][field])
            # Not an existing number of a live document, or this write id is applied already.
            current = await self._docs.find_one({"_id": at})
            live = current is not None and _is_live(current, now)
            if _applied(current, write_id):
                value = current["doc"].get(field) if live and current is not None else None
                return _number(value) if is_number(value) else 0
            if live and current is not None and field in current["doc"]:
                await _backoff(attempt)  # created between our two reads: $inc it now
                continue
            base = dict(current["doc"]) if live and current is not None else {}
            plain, size = prepared({**base, field: by}, self._quotas)
            expires_at = current.get("expires_at") if live and current is not None else None
            new = _record(tenant_id, collection, key, plain, size, expires_at, now, current)
            new["applied"] = remember(_ids(current), write_id)
            if await self._swap(tenant_id, at, current, new):
                return by
            await _backoff(attempt)
        raise StateContention(f"incr {collection}/{key}: too many concurrent writers")

    async def purge_expired(self, now: datetime | None = None) -> int:
        now = now or self._clock()
        removed = 0
        for _ in range(100):
            batch = await self._docs.find(
                {"expires_at": {"$lte": now}},
                projection=["tenant_id", "rev", "size", "deleted"],
                limit=_PURGE_BATCH,
            ).to_list()
            for found in batch:
                gone = await self._docs.delete_one({"_id": found["_id"], "rev": found["rev"]})
                if gone.deleted_count:
                    removed += 1
                    if not found.get("deleted"):
                        await self._book(found["tenant_id"], -1, -int(found["size"]))
            if len(batch) < _PURGE_BATCH:
                break
        return removed

    async def recount_usage(self, tenant_id: str | None) -> StateUsage:
        """Recompute a tenant's usage from its documents (a repair after a crash between a
        reservation and its write; concurrent writes during the recount may skew it)."""
        documents = size = 0
        cursor = self._docs.find(
            {"tenant_id": tenant_id, "deleted": {"$ne": True}}, projection=["size"]
        )
        async for found in cursor:
            documents += 1
            size += int(found["size"])
        await self._usage.update_one(
            {"_id": _usage_id(tenant_id)},
            {"$set": {"documents": documents, "bytes": size, "tenant_id": tenant_id}},
            upsert=True,
        )
        return StateUsage(documents, size)

    # -- compare-and-set with quota bookkeeping ---------------------------------------------

    async def _swap(
        self, tenant_id: str | None, at: str, current: Document | None, new: Document | None
    ) -> bool:
        """Replace ``current`` (None: absent) by ``new`` (None: remove) if nobody changed it
        since it was read; quota growth reserved first, given back if the swap lost."""
        documents = _counts(new) - _counts(current)
        size = _size(new) - _size(current)
        await self._reserve(tenant_id, max(documents, 0), max(size, 0))
        if current is None:
            assert new is not None
            try:
                await self._docs.insert_one(new)
                won = True
            except DuplicateKeyError:
                won = False
        elif new is None:
            gone = await self._docs.delete_one({"_id": at, "rev": current["rev"]})
            won = gone.deleted_count == 1
        else:
            done = await self._docs.replace_one({"_id": at, "rev": current["rev"]}, new)
            won = done.matched_count == 1
        if won:
            await self._book(tenant_id, min(documents, 0), min(size, 0))
        else:
            await self._book(tenant_id, -max(documents, 0), -max(size, 0))
        return won

    async def _reserve(self, tenant_id: str | None, documents: int, size: int) -> None:
        if documents <= 0 and size <= 0:
            return
        await self._ensure_usage(tenant_id)
        query: Document = {"_id": _usage_id(tenant_id)}
        if documents > 0:
            query["documents"] = {"$lte": self._quotas.max_documents - documents}
        if size > 0:
            query["bytes"] = {"$lte": self._quotas.max_total_bytes - size}
        for attempt in range(MAX_ATTEMPTS):
            reserved = await self._usage.find_one_and_update(
                query, {"$inc": {"documents": documents, "bytes": size}}
            )
            if reserved is not None:
                return
            usage = await self.usage(tenant_id)  # which quota, or did usage just drop?
            check_quota(self._quotas, usage, documents, size)
            await _backoff(attempt)
        raise StateContention("state usage: too many concurrent writers")

    async def _book(self, tenant_id: str | None, documents: int, size: int) -> None:
        if documents or size:
            await self._usage.update_one(
                {"_id": _usage_id(tenant_id)}, {"$inc": {"documents": documents, "bytes": size}}
            )

    async def _ensure_usage(self, tenant_id: str | None) -> None:
        if tenant_id in self._known_tenants:
            return
        try:
            await self._usage.update_one(
                {"_id": _usage_id(tenant_id)},
                {"$setOnInsert": {"documents": 0, "bytes": 0, "tenant_id": tenant_id}},
                upsert=True,
            )
        except OperationFailure as exc:  # a concurrent first upsert (MongoDB)
            if not _duplicate(exc):
                raise
        self._known_tenants.add(tenant_id)

    async def _trim(self, found: Document) -> None:
        """Keep ``applied`` bounded where ``$slice`` is ignored (FerretDB); best effort."""
        applied = found.get("applied") or []
        if len(applied) > 2 * APPLIED_WINDOW:
            await self._docs.update_one(
                {"_id": found["_id"], "rev": found["rev"]},
                {"$set": {"applied": applied[-APPLIED_WINDOW:]}},
            )


def _record(
    tenant_id: str | None,
    collection: str,
    key: str,
    doc: JsonDoc | None,
    size: int,
    expires_at: datetime | None,
    now: datetime,
    current: Document | None,
) -> Document:
    return {
        "_id": document_id(tenant_id, collection, key),
        "tenant_id": tenant_id,
        "collection": collection,
        "key": key,
        "doc": doc,
        "deleted": doc is None,
        "size": size,
        "expires_at": expires_at,
        "updated_at": now,
        "rev": int(current["rev"]) + 1 if current is not None else 1,
    }


def _is_live(found: Mapping[str, Any], now: datetime) -> bool:
    expires_at = found.get("expires_at")
    return not found.get("deleted") and (expires_at is None or expires_at > now)


def _counts(found: Mapping[str, Any] | None) -> int:
    return 0 if found is None or found.get("deleted") else 1


def _size(found: Mapping[str, Any] | None) -> int:
    return 0 if found is None or found.get("deleted") else int(found["size"])


def _ids(found: Mapping[str, Any] | None) -> list[str]:
    return list(found.get("applied") or []) if found is not None else []


def _applied(found: Mapping[str, Any] | None, write_id: str | None) -> bool:
    return write_id is not None and found is not None and write_id in (found.get("applied") or [])


def _number(value: Any) -> int | float:
    return int(value) if isinstance(value, int) else float(value)


def _plain(value: Any) -> Any:
    """BSON's types back to plain JSON ones (64-bit integers come back as `Int64`)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _item(found: Mapping[str, Any]) -> StateItem:
    return StateItem(
        collection=found["collection"],
        key=found["key"],
        doc=_plain(found["doc"]),
        expires_at=found.get("expires_at"),
        updated_at=found["updated_at"],
    )


def _incr_error(exc: OperationFailure, field: str) -> Exception:
    if exc.code == _TYPE_MISMATCH:
        return StateTypeError(f"field {field!r} does not hold a number")
    message = str(exc.details.get("errmsg") if exc.details else exc)
    if "$inc" in message or "overflow" in message.lower():
        return StateTypeError(f"field {field!r} would leave the 64-bit integer range")
    return exc


def _duplicate(exc: OperationFailure) -> bool:
    return isinstance(exc, DuplicateKeyError) or "UNIQUE constraint failed" in str(exc)


async def _backoff(attempt: int) -> None:
    await asyncio.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
