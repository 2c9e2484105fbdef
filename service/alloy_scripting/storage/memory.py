"""In-memory twins of the MongoDB stores, for unit tests and local experiments.

Each operation runs without awaiting anything in between its read and its write, so on one
event loop it is as atomic as its MongoDB counterpart. Stored values are copied in and out:
callers never share objects with the store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from alloy_scripting.model.egress import EgressRules
from alloy_scripting.model.enums import EventType, ExecutionStatus, ScriptStatus
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.lifecycle import (
    as_last_error,
    disabled_reason,
    prepare_insert,
    prepare_update,
    reset_fields,
    rollback_of,
)
from alloy_scripting.model.page import ExecutionPage, ExecutionQuery, ScriptPage, ScriptQuery
from alloy_scripting.model.script import (
    FailureOutcome,
    LastError,
    Script,
    ScriptVersion,
    to_utc_ms,
    utc_now,
)
from alloy_scripting.model.stats import (
    PERCENTILES,
    FailedRun,
    ScriptStats,
    StatsWindow,
    rank,
)
from alloy_scripting.storage._common import cutoff, scoped, tick_key
from alloy_scripting.storage.errors import (
    DuplicateScriptName,
    ScriptNotFound,
    VersionConflict,
    VersionNotFound,
)
from alloy_scripting.storage.protocols import (
    DEFAULT_PROCESSED_TTL_SECONDS,
    DEFAULT_TICK_RETENTION_DAYS,
    check_page,
)
from alloy_scripting.storage.shadow_memory import InMemoryShadowStore
from alloy_scripting.storage.template_memory import InMemoryTemplateStore


@dataclass
class _ScriptState:
    scripts: dict[str, Script] = field(default_factory=dict)
    versions: dict[tuple[str, int], ScriptVersion] = field(default_factory=dict)


class InMemoryStorage:
    """`ScriptRegistry` in a dict. ``for_tenant`` views share the data."""

    def __init__(
        self,
        *,
        tenant_id: str | None = None,
        failure_threshold: int = 3,
        _state: _ScriptState | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        self._tenant_id = tenant_id
        self._threshold = failure_threshold
        self._state = _state if _state is not None else _ScriptState()

    @property
    def tenant_id(self) -> str | None:
        return self._tenant_id

    @property
    def failure_threshold(self) -> int:
        return self._threshold

    def for_tenant(self, tenant_id: str | None) -> InMemoryStorage:
        return InMemoryStorage(
            tenant_id=tenant_id, failure_threshold=self._threshold, _state=self._state
        )

    async def ensure_indexes(self) -> None:
        return None

    # -- helpers ------------------------------------------------------------------------

    def _owned(self, script_id: str) -> Script:
        script = self._state.scripts.get(script_id)
        if script is None or script.tenant_id != self._tenant_id:
            raise ScriptNotFound(script_id, tenant_id=self._tenant_id)
        return script

    def _name_taken(self, name: str, except_id: str) -> bool:
        return any(
            s.tenant_id == self._tenant_id and s.name == name and s.id != except_id
            for s in self._state.scripts.values()
        )

    def _put_version(self, version: ScriptVersion) -> None:
        self._state.versions.setdefault((version.script_id, version.version), version)

    def _update(
        self,
        stored: Script,
        incoming: Script,
        *,
        force_new_version: bool = False,
        rolled_back_from: int | None = None,
    ) -> Script:
        if incoming.revision != stored.revision:
            raise VersionConflict(stored.id, incoming.revision, stored.revision)
        if incoming.name != stored.name and self._name_taken(incoming.name, stored.id):
            raise DuplicateScriptName(incoming.name, tenant_id=self._tenant_id)
        fields, new_version = prepare_update(stored, incoming, force_new_version=force_new_version)
        saved = stored.model_copy(update=fields, deep=True)
        if new_version:
            self._put_version(ScriptVersion.of(stored))
            self._put_version(ScriptVersion.of(saved, rolled_back_from=rolled_back_from))
        self._state.scripts[saved.id] = saved
        return saved.model_copy(deep=True)

    # -- ScriptRegistry -------------------------------------------------------------------

    async def save(self, script: Script) -> Script:
        script = scoped(script, self._tenant_id)
        if script.revision == 0:
            existing = self._state.scripts.get(script.id)
            if existing is not None:
                raise VersionConflict(script.id, 0, existing.revision)
            if self._name_taken(script.name, script.id):
                raise DuplicateScriptName(script.name, tenant_id=self._tenant_id)
            saved = prepare_insert(script).model_copy(deep=True)
            self._state.scripts[saved.id] = saved
            self._put_version(ScriptVersion.of(saved))
            return saved.model_copy(deep=True)
        return self._update(self._owned(script.id), script)

    async def get(self, script_id: str) -> Script:
        return self._owned(script_id).model_copy(deep=True)

    async def get_by_name(self, name: str) -> Script:
        for script in self._state.scripts.values():
            if script.tenant_id == self._tenant_id and script.name == name:
                return script.model_copy(deep=True)
        raise ScriptNotFound(name, by="name", tenant_id=self._tenant_id)

    async def delete(self, script_id: str, *, expected_revision: int | None = None) -> None:
        stored = self._owned(script_id)
        if expected_revision is not None and expected_revision != stored.revision:
            raise VersionConflict(script_id, expected_revision, stored.revision)
        del self._state.scripts[script_id]
        for key in [k for k in self._state.versions if k[0] == script_id]:
            del self._state.versions[key]

    async def find_by_trigger(self, entity_type: str, event: EventType | str) -> list[Script]:
        event = EventType(event)
        found = [
            s
            for s in self._state.scripts.values()
            if s.tenant_id == self._tenant_id
            and s.status is ScriptStatus.ACTIVE
            and s.trigger.type == "event"
            and s.trigger.entity_type == entity_type
            and s.trigger.event == event
        ]
        found.sort(key=lambda s: (s.priority, s.name))
        return [s.model_copy(deep=True) for s in found]

    async def find_active_cron(self) -> list[Script]:
        found = [
            s
            for s in self._state.scripts.values()
            if s.status is ScriptStatus.ACTIVE and s.trigger.type == "cron"
        ]
        found.sort(key=lambda s: (s.tenant_id or "", s.name))
        return [s.model_copy(deep=True) for s in found]

    async def find_paginated(
        self, query: ScriptQuery | None = None, offset: int = 0, limit: int = 50
    ) -> ScriptPage:
        check_page(offset, limit)
        query = query or ScriptQuery()
        prefix = re.compile("^" + re.escape(query.name_prefix)) if query.name_prefix else None

        def matches(s: Script) -> bool:
            trigger = s.trigger
            return (
                s.tenant_id == self._tenant_id
                and (query.status is None or s.status is query.status)
                and (query.trigger_type is None or trigger.type == query.trigger_type)
                and (
                    query.entity_type is None
                    or (trigger.type == "event" and trigger.entity_type == query.entity_type)
                )
                and (
                    query.event is None
                    or (trigger.type == "event" and trigger.event == query.event)
                )
                and (prefix is None or prefix.match(s.name) is not None)
            )

        found = sorted(
            (s for s in self._state.scripts.values() if matches(s)), key=lambda s: (s.name, s.id)
        )
        items = [s.model_copy(deep=True) for s in found[offset : offset + limit]]
        return ScriptPage(items=items, total=len(found), offset=offset, limit=limit)

    async def record_success(self, script_id: str) -> None:
        stored = self._state.scripts.get(script_id)
        if stored is not None and stored.tenant_id == self._tenant_id and stored.error_count > 0:
            self._state.scripts[script_id] = stored.model_copy(update={"error_count": 0})

    async def record_failure(self, script_id: str, error: str | LastError) -> FailureOutcome:
        stored = self._owned(script_id)
        last = as_last_error(error)
        count = stored.error_count + 1
        update: dict[str, Any] = {"error_count": count, "last_error": last}
        disabled = count >= self._threshold and stored.status is ScriptStatus.ACTIVE
        if disabled:
            now = utc_now()
            update.update(
                status=ScriptStatus.DISABLED,
                disabled_reason=disabled_reason(count, last),
                disabled_at=now,
                updated_at=now,
                revision=stored.revision + 1,
            )
        saved = stored.model_copy(update=update)
        self._state.scripts[script_id] = saved
        return FailureOutcome(script=saved.model_copy(deep=True), disabled=disabled)

    async def reset(self, script_id: str, *, updated_by: str | None = None) -> Script:
        stored = self._owned(script_id)
        update = reset_fields(utc_now(), updated_by)
        update["revision"] = stored.revision + 1
        saved = stored.model_copy(update=update)
        self._state.scripts[script_id] = saved
        return saved.model_copy(deep=True)

    async def list_versions(self, script_id: str) -> list[ScriptVersion]:
        stored = self._owned(script_id)
        versions = [
            v
            for (sid, n), v in self._state.versions.items()
            if sid == script_id and n <= stored.version
        ]
        return sorted(versions, key=lambda v: v.version)

    async def get_version(self, script_id: str, version: int) -> ScriptVersion:
        stored = self._owned(script_id)
        found = self._state.versions.get((script_id, version))
        if found is None or version > stored.version:
            raise VersionNotFound(script_id, version)
        return found

    async def rollback(
        self,
        script_id: str,
        version: int,
        *,
        expected_revision: int | None = None,
        updated_by: str | None = None,
    ) -> Script:
        stored = self._owned(script_id)
        target = await self.get_version(script_id, version)
        incoming = rollback_of(
            stored, target, expected_revision=expected_revision, updated_by=updated_by
        )
        return self._update(stored, incoming, force_new_version=True, rolled_back_from=version)


class InMemoryExecutionLog:
    """`ExecutionLog` in a list."""

    def __init__(
        self,
        *,
        tenant_id: str | None = None,
        retention_days: int = 30,
        _records: dict[str, ExecutionRecord] | None = None,
    ) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be >= 1")
        self._tenant_id = tenant_id
        self._retention_days = retention_days
        self._records: dict[str, ExecutionRecord] = _records if _records is not None else {}

    @property
    def tenant_id(self) -> str | None:
        return self._tenant_id

    @property
    def retention_days(self) -> int:
        return self._retention_days

    def for_tenant(self, tenant_id: str | None) -> InMemoryExecutionLog:
        return InMemoryExecutionLog(
            tenant_id=tenant_id, retention_days=self._retention_days, _records=self._records
        )

    async def ensure_indexes(self) -> None:
        return None

    async def append(self, record: ExecutionRecord) -> None:
        self._records.setdefault(record.id, record.model_copy(deep=True))

    async def append_many(self, records: list[ExecutionRecord]) -> None:
        for record in records:
            await self.append(record)

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
        found = self._newest_first(query)
        items = [r.model_copy(deep=True) for r in found[offset : offset + limit]]
        return ExecutionPage(items=items, total=len(found), offset=offset, limit=limit)

    def _newest_first(self, query: ExecutionQuery) -> list[ExecutionRecord]:
        found = [
            r for r in self._records.values() if r.tenant_id == self._tenant_id and query.matches(r)
        ]
        found.sort(key=lambda r: (r.started_at, r.id), reverse=True)
        return found

    async def get(self, record_id: str) -> ExecutionRecord | None:
        record = self._records.get(record_id)
        if record is None or record.tenant_id != self._tenant_id:
            return None
        return record.model_copy(deep=True)

    async def stats(
        self, script_id: str, window: StatsWindow, now: datetime | None = None
    ) -> ScriptStats:
        until = now or utc_now()
        since = until - window.span
        every = self._newest_first(ExecutionQuery(script_id=script_id))
        runs = [r for r in every if since <= r.started_at < until]
        by_status = dict.fromkeys(ExecutionStatus, 0)
        for r in runs:
            by_status[r.status] += 1
        failures = [r for r in runs if r.is_failure]
        ranked = sorted(runs, key=lambda r: (r.duration_ms, r.id))
        durations: dict[str, float | None] = {
            f"p{p}": ranked[rank(p, len(ranked))].duration_ms if ranked else None
            for p in PERCENTILES
        }
        streak = 0
        for r in every:
            if not r.is_failure:
                break
            streak += 1
        newest = failures[0] if failures else None
        return ScriptStats(
            script_id=script_id,
            window=window,
            since=since,
            until=until,
            runs=len(runs),
            by_status=by_status,
            error_rate=len(failures) / len(runs) if runs else 0.0,
            duration_ms=durations,
            last_error=None
            if newest is None
            else FailedRun(
                execution_id=newest.id,
                status=newest.status,
                error=newest.error,
                started_at=newest.started_at,
            ),
            consecutive_failures=streak,
        )

    async def purge_expired(self, now: datetime | None = None) -> int:
        limit = cutoff(now, self._retention_days)
        old = [key for key, r in self._records.items() if r.started_at < limit]
        for key in old:
            del self._records[key]
        return len(old)


class InMemoryProcessedEvents:
    """`ProcessedEvents` in a dict."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[datetime, dict[str, Any]]] = {}
        self._watermarks: dict[str, int] = {}

    async def ensure_indexes(self) -> None:
        return None

    async def mark_many(
        self,
        entries: Mapping[str, dict[str, Any] | None],
        *,
        ttl_seconds: float = DEFAULT_PROCESSED_TTL_SECONDS,
    ) -> None:
        for key, result in entries.items():
            await self.mark(key, ttl_seconds=ttl_seconds, result=result)

    async def watermark(self, partition: str) -> int | None:
        return self._watermarks.get(partition)

    async def set_watermark(self, partition: str, offset: int) -> None:
        self._watermarks[partition] = max(offset, self._watermarks.get(partition, offset))

    async def mark(
        self,
        key: str,
        *,
        ttl_seconds: float = DEFAULT_PROCESSED_TTL_SECONDS,
        result: dict[str, Any] | None = None,
    ) -> bool:
        now = utc_now()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return False
        expires = now + timedelta(seconds=ttl_seconds)
        self._entries[key] = (expires, dict(result or {}))
        return True

    async def get(self, key: str) -> dict[str, Any] | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= utc_now():
            return None
        return dict(entry[1])

    async def release(self, key: str) -> bool:
        return self._entries.pop(key, None) is not None

    async def purge_expired(self, now: datetime | None = None) -> int:
        limit = to_utc_ms(now) if now else utc_now()
        expired = [k for k, (expires, _) in self._entries.items() if expires <= limit]
        for key in expired:
            del self._entries[key]
        return len(expired)


class InMemoryTickLedger:
    """`TickLedger` in a dict."""

    def __init__(self, *, retention_days: int = DEFAULT_TICK_RETENTION_DAYS) -> None:
        self._retention_days = retention_days
        self._claims: dict[str, tuple[str, datetime, str]] = {}

    @property
    def retention_days(self) -> int:
        return self._retention_days

    async def ensure_indexes(self) -> None:
        return None

    async def claim(self, script_id: str, scheduled_at: datetime, instance: str) -> bool:
        key, instant = tick_key(script_id, scheduled_at)
        if key in self._claims:
            return False
        self._claims[key] = (script_id, instant, instance)
        return True

    async def last_claimed(self, script_id: str) -> datetime | None:
        times = [at for sid, at, _ in self._claims.values() if sid == script_id]
        return max(times, default=None)

    async def purge_expired(self, now: datetime | None = None) -> int:
        limit = cutoff(now, self._retention_days)
        old = [k for k, (_, at, _) in self._claims.items() if at < limit]
        for key in old:
            del self._claims[key]
        return len(old)


class InMemoryEgressStore:
    """Per-tenant egress rules in a dict (`EgressStore`)."""

    def __init__(self) -> None:
        self._rules: dict[str | None, EgressRules] = {}

    async def get(self, tenant_id: str | None) -> EgressRules:
        return self._rules.get(tenant_id, EgressRules(tenant_id))

    async def put(
        self, tenant_id: str | None, allow: Sequence[str], *, updated_by: str | None = None
    ) -> EgressRules:
        rules = EgressRules(tenant_id, tuple(allow), utc_now(), updated_by)
        self._rules[tenant_id] = rules
        return rules


class InMemoryStores:
    """The four in-memory stores (`Stores`)."""

    def __init__(
        self,
        *,
        failure_threshold: int = 3,
        retention_days: int = 30,
        tick_retention_days: int = DEFAULT_TICK_RETENTION_DAYS,
    ) -> None:
        self._scripts = InMemoryStorage(failure_threshold=failure_threshold)
        self._executions = InMemoryExecutionLog(retention_days=retention_days)
        self._processed = InMemoryProcessedEvents()
        self._ticks = InMemoryTickLedger(retention_days=tick_retention_days)
        self._egress = InMemoryEgressStore()
        self._shadows = InMemoryShadowStore()
        self._templates = InMemoryTemplateStore()

    @property
    def scripts(self) -> InMemoryStorage:
        return self._scripts

    @property
    def executions(self) -> InMemoryExecutionLog:
        return self._executions

    @property
    def processed(self) -> InMemoryProcessedEvents:
        return self._processed

    @property
    def ticks(self) -> InMemoryTickLedger:
        return self._ticks

    @property
    def egress(self) -> InMemoryEgressStore:
        return self._egress

    @property
    def shadows(self) -> InMemoryShadowStore:
        return self._shadows

    @property
    def templates(self) -> InMemoryTemplateStore:
        return self._templates

    async def ensure_indexes(self) -> None:
        return None

    async def purge_expired(self, now: datetime | None = None) -> dict[str, int]:
        return {
            "executions": await self._executions.purge_expired(now),
            "processed": await self._processed.purge_expired(now),
            "ticks": await self._ticks.purge_expired(now),
        }

    async def close(self) -> None:
        return None
