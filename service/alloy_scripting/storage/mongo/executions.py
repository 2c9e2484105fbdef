"""`MongoExecutionLog`: execution records on MongoDB."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from alloy_scripting.model.enums import ExecutionStatus
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.page import ExecutionPage, ExecutionQuery
from alloy_scripting.model.script import utc_now
from alloy_scripting.model.stats import (
    FAILURE_STATUSES,
    PERCENTILES,
    FailedRun,
    ScriptStats,
    StatsWindow,
    rank,
)
from alloy_scripting.storage._common import cutoff
from alloy_scripting.storage.mongo.common import (
    IDX_EXEC_BY_ENTITY,
    IDX_EXEC_BY_SCRIPT,
    IDX_EXEC_BY_TENANT,
    IDX_EXEC_TTL,
    Database,
    Document,
    as_text,
    collection,
    create_index,
    create_ttl_index,
    from_text,
    log,
    tenant_filter,
)
from alloy_scripting.storage.protocols import (
    check_page,
)


def record_doc(record: ExecutionRecord) -> Document:
    """The stored form: empty fields (None, [], False) are left out, as reading restores
    their defaults; `tenant_id` stays, every query filters on it. Thousands of records are
    written per second under load, and every field costs the store."""
    doc: Document = {"_id": record.id}
    for name, value in record.model_dump(mode="python", exclude=_NOT_DUMPED).items():
        if (value is not None and value != [] and value is not False) or name == "tenant_id":
            doc[name] = value
    if record.input is not None:
        doc["input"] = record.input_json()
    # JSON text, as `input`: an entity's field names (the changes) and an emitted payload's
    # are the script's and its caller's; they may hold `.` or start with `$`, which the store
    # refuses in a document (a record it refuses would fail its batch's books on every
    # redelivery), and nobody queries inside them.
    for name in _AS_TEXT:
        if name in doc:
            doc[name] = as_text(doc[name])
    return doc


_NOT_DUMPED = {"id", "input"}
_AS_TEXT = ("changes", "emitted")


_NEWEST_FIRST = [("started_at", DESCENDING), ("_id", DESCENDING)]


def query_filter(tenant_id: str | None, query: ExecutionQuery) -> Document:
    """The MongoDB filter of `query` in `tenant_id`'s log. Each filter leads with the tenant
    and an equality the indexes start with (script, entity, else the tenant alone), then
    `started_at`, so every query is an index range read in the order it is returned."""
    flt = tenant_filter(tenant_id)
    for name in ("script_id", "entity_type", "entity_id"):
        value = getattr(query, name)
        if value is not None:
            flt[name] = value
    if query.status is not None:
        flt["status"] = query.status.value
    if query.phase is not None:
        flt["phase"] = query.phase.value
    started: dict[str, Any] = {}
    if query.since is not None:
        started["$gte"] = query.since
    if query.until is not None:
        started["$lt"] = query.until
    if started:
        flt["started_at"] = started
    return flt


def record_from(doc: Mapping[str, Any]) -> ExecutionRecord:
    data = dict(doc)
    data["id"] = data.pop("_id")
    from_text(data, ("input", *_AS_TEXT))
    return ExecutionRecord.model_validate(data)


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
        self._records = collection(db, "executions")
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
        await create_index(
            self._records,
            [("tenant_id", ASCENDING), ("script_id", ASCENDING), ("started_at", DESCENDING)],
            name=IDX_EXEC_BY_SCRIPT,
        )
        await create_index(
            self._records,
            [("tenant_id", ASCENDING), ("started_at", DESCENDING)],
            name=IDX_EXEC_BY_TENANT,
        )
        await create_index(
            self._records,
            [
                ("tenant_id", ASCENDING),
                ("entity_type", ASCENDING),
                ("entity_id", ASCENDING),
                ("started_at", DESCENDING),
            ],
            name=IDX_EXEC_BY_ENTITY,
        )
        self.ttl_supported = await create_ttl_index(
            self._records, "started_at", self._retention_days * 86400, name=IDX_EXEC_TTL
        )

    async def append(self, record: ExecutionRecord) -> None:
        try:
            await self._records.insert_one(record_doc(record))
        except DuplicateKeyError:
            log.debug("execution record %s already logged", record.id)

    async def append_many(self, records: list[ExecutionRecord]) -> None:
        if not records:
            return
        try:
            await self._records.insert_many([record_doc(r) for r in records], ordered=False)
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
        scoped = (query or ExecutionQuery()).model_copy(update={"script_id": script_id})
        return await self.find(scoped, offset, limit)

    async def find(self, query: ExecutionQuery, offset: int = 0, limit: int = 50) -> ExecutionPage:
        check_page(offset, limit)
        flt = query_filter(self._tenant_id, query)
        total = await self._records.count_documents(flt)
        items: list[ExecutionRecord] = []
        if limit > 0 and offset < total:
            cursor = self._records.find(flt, sort=_NEWEST_FIRST, skip=offset, limit=limit)
            items = [record_from(doc) async for doc in cursor]
        return ExecutionPage(items=items, total=total, offset=offset, limit=limit)

    async def get(self, record_id: str) -> ExecutionRecord | None:
        doc = await self._records.find_one(tenant_filter(self._tenant_id, _id=record_id))
        return None if doc is None else record_from(doc)

    async def stats(
        self, script_id: str, window: StatsWindow, now: datetime | None = None
    ) -> ScriptStats:
        """Counted, ranked and found by the server (FerretDB 1.24 has `$match` and `$group`
        with `$sum`, but no `$percentile`: each percentile is one sorted read of a single
        duration at its rank). Every read is bounded by the (tenant, script, started_at)
        index."""
        until = now or utc_now()
        since = until - window.span
        scope = tenant_filter(self._tenant_id, script_id=script_id)
        flt = {**scope, "started_at": {"$gte": since, "$lt": until}}
        by_status = dict.fromkeys(ExecutionStatus, 0)
        pipeline = [{"$match": flt}, {"$group": {"_id": "$status", "runs": {"$sum": 1}}}]
        async for row in await self._records.aggregate(pipeline):
            by_status[ExecutionStatus(row["_id"])] = int(row["runs"])
        runs = sum(by_status.values())
        failures = sum(n for s, n in by_status.items() if s.is_failure)
        durations: dict[str, float | None] = {f"p{p}": None for p in PERCENTILES}
        if runs:
            for p in PERCENTILES:
                doc = await self._records.find_one(
                    flt,
                    projection={"duration_ms": 1},
                    sort=[("duration_ms", ASCENDING), ("_id", ASCENDING)],
                    skip=rank(p, runs),
                )
                durations[f"p{p}"] = float(doc.get("duration_ms", 0.0)) if doc else None
        last_error = None
        if failures:
            doc = await self._records.find_one(
                {**flt, "status": {"$in": list(FAILURE_STATUSES)}}, sort=_NEWEST_FIRST
            )
            if doc is not None:
                last_error = FailedRun(
                    execution_id=doc["_id"],
                    status=ExecutionStatus(doc["status"]),
                    error=doc.get("error"),
                    started_at=doc["started_at"],
                )
        newest_ok = await self._records.find_one(
            {**scope, "status": {"$nin": list(FAILURE_STATUSES)}},
            projection={"started_at": 1},
            sort=_NEWEST_FIRST,
        )
        streak = {**scope, "status": {"$in": list(FAILURE_STATUSES)}}
        if newest_ok is not None:
            streak["started_at"] = {"$gt": newest_ok["started_at"]}
        return ScriptStats(
            script_id=script_id,
            window=window,
            since=since,
            until=until,
            runs=runs,
            by_status=by_status,
            error_rate=failures / runs if runs else 0.0,
            duration_ms=durations,
            last_error=last_error,
            consecutive_failures=await self._records.count_documents(streak),
        )

    async def purge_expired(self, now: datetime | None = None) -> int:
        result = await self._records.delete_many(
            {"started_at": {"$lt": cutoff(now, self._retention_days)}}
        )
        return result.deleted_count
