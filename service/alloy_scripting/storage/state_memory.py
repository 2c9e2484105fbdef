"""`InMemoryStateStore`: the state store's twin for fast tests (one process, no I/O).

It follows `storage.mongo.state.MongoStateStore` rule for rule, filter semantics included
(MongoDB's: a number never equals a bool, ranges compare numbers with numbers and texts
with texts, a list field matches when one of its items does, ``None`` matches a missing
field); both run ``tests/state_contract.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alloy_scripting.model.script import utc_now
from alloy_scripting.model.state import (
    JsonDoc,
    StateItem,
    StatePage,
    StateQuotas,
    StateUsage,
    check_limit,
)
from alloy_scripting.model.state_filter import Condition, SortField, StateFilter
from alloy_scripting.storage.state_common import (
    TOMBSTONE_TTL,
    added,
    address,
    check_quota,
    incr_args,
    is_number,
    prepared,
    put_args,
    remember,
)

Address = tuple[str | None, str, str]


@dataclass
class _Record:
    doc: JsonDoc | None  # None: a tombstone (deleted, remembering its write ids)
    size: int
    expires_at: datetime | None
    updated_at: datetime
    applied: list[str] = field(default_factory=list)

    def live(self, now: datetime) -> bool:
        return self.doc is not None and (self.expires_at is None or self.expires_at > now)

    @property
    def counted(self) -> bool:
        return self.doc is not None


class InMemoryStateStore:
    def __init__(
        self,
        quotas: StateQuotas | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._quotas = quotas or StateQuotas()
        self._clock = clock
        self._records: dict[Address, _Record] = {}
        self._usage: dict[str | None, StateUsage] = {}

    @property
    def quotas(self) -> StateQuotas:
        return self._quotas

    async def ensure_indexes(self) -> None:
        return None

    # -- reads ------------------------------------------------------------------------------

    async def get(self, tenant_id: str | None, collection: str, key: str) -> StateItem | None:
        collection, key = address(collection, key)
        record = self._records.get((tenant_id, collection, key))
        if record is None or not record.live(self._clock()):
            return None
        return _item(collection, key, record)

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
        found = [
            (key, record)
            for key, record in self._live(tenant_id, collection)
            if record.doc is not None and all(_holds(c, record.doc) for c in where.conditions)
        ]
        found.sort(key=lambda pair: pair[0])
        for spec in reversed(sort):
            found.sort(
                key=lambda pair: _sort_key(pair[1].doc, spec.field, spec.descending),
                reverse=spec.descending,
            )
        return [_item(collection, key, record) for key, record in found[:limit]]

    async def list_documents(
        self, tenant_id: str | None, collection: str, *, offset: int = 0, limit: int = 50
    ) -> StatePage:
        collection, _ = address(collection, "-")
        live = sorted(self._live(tenant_id, collection), key=lambda pair: pair[0])
        items = [_item(collection, k, r) for k, r in live[offset : offset + limit]]
        return StatePage(items=items, total=len(live), offset=offset, limit=limit)

    async def usage(self, tenant_id: str | None) -> StateUsage:
        return self._usage.get(tenant_id, StateUsage(0, 0))

    def _live(self, tenant_id: str | None, collection: str) -> list[tuple[str, _Record]]:
        now = self._clock()
        return [
            (key, record)
            for (tenant, coll, key), record in self._records.items()
            if tenant == tenant_id and coll == collection and record.live(now)
        ]

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
        at = (tenant_id, put.collection, put.key)
        current = self._records.get(at)
        if write_id is not None and current is not None and write_id in current.applied:
            return False
        self._replace(tenant_id, at, current, put.doc, put.size, put.expires_at, put.now, write_id)
        return True

    async def delete(
        self,
        tenant_id: str | None,
        collection: str,
        key: str,
        *,
        write_id: str | None = None,
    ) -> bool:
        collection, key = address(collection, key)
        at = (tenant_id, collection, key)
        current = self._records.get(at)
        if current is None or (write_id is not None and write_id in current.applied):
            return False
        now = self._clock()
        was_live = current.live(now)
        if write_id is None and not current.counted:
            return False
        if current.counted:
            self._account(tenant_id, -1, -current.size)
        if write_id is None:
            del self._records[at]
        else:
            self._records[at] = _Record(
                None, 0, now + TOMBSTONE_TTL, now, remember(current.applied, write_id)
            )
        return was_live

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
        now = self._clock()
        at = (tenant_id, collection, key)
        current = self._records.get(at)
        live = current is not None and current.live(now)
        if write_id is not None and current is not None and write_id in current.applied:
            stored = current.doc.get(field) if live and current.doc is not None else None
            return stored if isinstance(stored, int | float) and is_number(stored) else 0
        if live and current is not None and current.doc is not None and field in current.doc:
            value = added(current.doc[field], by, field)
            current.doc[field] = value
            current.updated_at = now
            current.applied = remember(current.applied, write_id)
            return value
        base = dict(current.doc) if live and current is not None and current.doc else {}
        plain, size = prepared({**base, field: by}, self._quotas)
        expires_at = current.expires_at if live and current is not None else None
        self._replace(tenant_id, at, current, plain, size, expires_at, now, write_id)
        return by

    def _replace(
        self,
        tenant_id: str | None,
        at: Address,
        current: _Record | None,
        doc: JsonDoc,
        size: int,
        expires_at: datetime | None,
        now: datetime,
        write_id: str | None,
    ) -> None:
        counted = current is not None and current.counted
        documents = 0 if counted else 1
        grows = size - (current.size if current is not None and counted else 0)
        check_quota(self._quotas, self._usage.get(tenant_id, StateUsage(0, 0)), documents, grows)
        self._account(tenant_id, documents, grows)
        applied = remember(current.applied if current is not None else [], write_id)
        self._records[at] = _Record(doc, size, expires_at, now, applied)

    def _account(self, tenant_id: str | None, documents: int, size: int) -> None:
        usage = self._usage.get(tenant_id, StateUsage(0, 0))
        self._usage[tenant_id] = StateUsage(usage.documents + documents, usage.bytes + size)

    async def purge_expired(self, now: datetime | None = None) -> int:
        now = now or self._clock()
        expired = [
            at
            for at, r in self._records.items()
            if r.expires_at is not None and r.expires_at <= now
        ]
        for at in expired:
            record = self._records.pop(at)
            if record.counted:
                self._account(at[0], -1, -record.size)
        return len(expired)


def _item(collection: str, key: str, record: _Record) -> StateItem:
    assert record.doc is not None
    return StateItem(
        collection=collection,
        key=key,
        doc=copy.deepcopy(record.doc),
        expires_at=record.expires_at,
        updated_at=record.updated_at,
    )


# -- MongoDB's comparison rules, for the fields a filter names ------------------------------------


def _bracket(value: Any) -> int:
    """MongoDB's order of types: null, numbers, texts, objects, lists, bools."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 5
    if isinstance(value, int | float):
        return 1
    if isinstance(value, str):
        return 2
    if isinstance(value, dict):
        return 3
    return 4


def _candidates(doc: JsonDoc, name: str) -> list[Any]:
    """The values a condition on ``name`` is tried against: the field, and a list's items."""
    if name not in doc:
        return [None]
    value = doc[name]
    return [value, *value] if isinstance(value, list) else [value]


def _equal(a: Any, b: Any) -> bool:
    return _bracket(a) == _bracket(b) and a == b


def _holds(condition: Condition, doc: JsonDoc) -> bool:
    op, wanted = condition.op, condition.value
    if op == "exists":
        return (condition.field in doc) is wanted
    values = _candidates(doc, condition.field)
    if op == "eq":
        return any(_equal(v, wanted) for v in values)
    if op == "in":
        return any(_equal(v, w) for v in values for w in wanted)
    present = [v for v in values if condition.field in doc and _bracket(v) == _bracket(wanted)]
    if op == "gt":
        return any(v > wanted for v in present)
    if op == "gte":
        return any(v >= wanted for v in present)
    if op == "lt":
        return any(v < wanted for v in present)
    return any(v <= wanted for v in present)


def _sort_key(doc: JsonDoc | None, name: str, descending: bool) -> tuple[int, Any]:
    value = (doc or {}).get(name)
    if isinstance(value, list):
        if not value:
            return (-1, 0)
        keys = [_scalar_key(v) for v in value]
        return max(keys) if descending else min(keys)
    return _scalar_key(value)


def _scalar_key(value: Any) -> tuple[int, Any]:
    bracket = _bracket(value)
    if bracket in (1, 2, 5):
        return (bracket, value)
    if bracket == 0:
        return (0, 0)
    return (bracket, repr(value))
