"""`MongoExecutionLog`: execution records on MongoDB."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.page import ExecutionPage, ExecutionQuery
from alloy_scripting.storage._common import cutoff
from alloy_scripting.storage.mongo.common import (
    IDX_EXEC_BY_SCRIPT,
    IDX_EXEC_TTL,
    Database,
    Document,
    collection,
    create_index,
    create_ttl_index,
    log,
    tenant_filter,
)
from alloy_scripting.storage.protocols import (
    check_page,
)


def record_doc(record: ExecutionRecord) -> Document:
    """The stored form: empty fields (None, []) are left out, as reading restores their
    defaults; `tenant_id` stays, every query filters on it. Thousands of records are
    written per second under load, and every field costs the store."""
    doc: Document = {"_id": record.id}
    for name, value in record.model_dump(mode="python", exclude={"id"}).items():
        if (value is not None and value != []) or name == "tenant_id":
            doc[name] = value
    return doc


def record_from(doc: Mapping[str, Any]) -> ExecutionRecord:
    data = dict(doc)
    data["id"] = data.pop("_id")
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
        check_page(offset, limit)
        flt = tenant_filter(self._tenant_id, script_id=script_id)
        if query is not None:
            if query.status is not None:
                flt["status"] = query.status.value
            started: dict[str, Any] = {}
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
            items = [record_from(doc) async for doc in cursor]
        return ExecutionPage(items=items, total=total, offset=offset, limit=limit)

    async def purge_expired(self, now: datetime | None = None) -> int:
        result = await self._records.delete_many(
            {"started_at": {"$lt": cutoff(now, self._retention_days)}}
        )
        return result.deleted_count
