"""The storage contract: one suite, run against every implementation.

Subclasses provide two fixtures:

* ``stores``: a fresh, empty `Stores` bundle (indexes ensured), failure threshold 3;
* ``replica``: an async factory returning *another* `Stores` over the same data, as a second
  service instance would see it (for the in-memory stores, the same object).

See ``tests/unit/storage/test_memory_contract.py`` and
``tests/integration/storage/test_mongo_contract.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from alloy_scripting.model import (
    Cron,
    Event,
    EventType,
    ExecutionPhase,
    ExecutionRecord,
    ExecutionStatus,
    Manual,
    OnErrorPolicy,
    Script,
    ScriptQuery,
    ScriptStatus,
)
from alloy_scripting.model.execution import MAX_CHANGES_BYTES, TRUNCATED_MARKER
from alloy_scripting.model.page import ExecutionQuery
from alloy_scripting.storage import (
    DuplicateScriptName,
    ScriptNotFound,
    ScriptRegistry,
    Stores,
    TenantMismatch,
    VersionConflict,
    VersionNotFound,
)

Replica = Callable[[], Awaitable[Stores]]

BEFORE_CREATE = EventType.BEFORE_CREATE
SRC = 'if entity["amount"] < 100:\n    abort("Minimum deal amount is 100")\n'


def deal_script(name: str = "validate_deal", **kw: Any) -> Script:
    trigger = kw.pop("trigger", Event("deal", BEFORE_CREATE))
    return Script.new(name, kw.pop("source", SRC), trigger, **kw)


async def add_active(reg: ScriptRegistry, name: str, **kw: Any) -> Script:
    return await reg.save(deal_script(name, **kw).activate())


def run_record(script: Script, status: ExecutionStatus, **kw: Any) -> ExecutionRecord:
    return ExecutionRecord(
        script_id=script.id,
        script_version=script.version,
        script_name=script.name,
        tenant_id=script.tenant_id,
        phase=ExecutionPhase.BEFORE,
        event=BEFORE_CREATE,
        entity_type="deal",
        status=status,
        **kw,
    )


class StorageContract:
    # -- fixtures the subclasses override ----------------------------------------------------

    @pytest.fixture
    async def stores(self) -> Stores:
        raise NotImplementedError

    @pytest.fixture
    async def replica(self) -> Replica:
        raise NotImplementedError

    @pytest.fixture
    def reg(self, stores: Stores) -> ScriptRegistry:
        return stores.scripts

    # -- save / get / delete -------------------------------------------------------------------

    async def test_insert_and_get(self, reg: ScriptRegistry) -> None:
        draft = deal_script(description="deals", priority=5, created_by="ann")
        saved = await reg.save(draft)
        assert draft.revision == 0, "the argument is not modified"
        assert (saved.revision, saved.version, saved.status) == (1, 1, ScriptStatus.DRAFT)
        assert saved.id == draft.id
        got = await reg.get(saved.id)
        assert got == saved
        assert got.created_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)
        assert got.trigger == Event("deal", BEFORE_CREATE)
        assert (await reg.get_by_name("validate_deal")) == saved

    async def test_missing_script(self, reg: ScriptRegistry) -> None:
        with pytest.raises(ScriptNotFound):
            await reg.get("nope")
        with pytest.raises(ScriptNotFound):
            await reg.get_by_name("nope")
        with pytest.raises(ScriptNotFound):
            await reg.delete("nope")
        with pytest.raises(ScriptNotFound):
            await reg.record_failure("nope", "boom")
        with pytest.raises(ScriptNotFound):
            await reg.reset("nope")
        await reg.record_success("nope")  # silently nothing

    async def test_duplicate_name(self, reg: ScriptRegistry) -> None:
        await reg.save(deal_script("same"))
        with pytest.raises(DuplicateScriptName):
            await reg.save(deal_script("same"))
        other = await reg.save(deal_script("other"))
        other.name = "same"
        with pytest.raises(DuplicateScriptName):
            await reg.save(other)
        # the same name in another tenant is fine
        await reg.for_tenant("t-b").save(deal_script("same"))

    async def test_double_insert_conflicts(self, reg: ScriptRegistry) -> None:
        draft = deal_script()
        await reg.save(draft)
        with pytest.raises(VersionConflict):
            await reg.save(draft)

    async def test_update_versions_and_revisions(self, reg: ScriptRegistry) -> None:
        s = await reg.save(deal_script())
        s.description = "only metadata"
        s.priority = 7
        s = await reg.save(s)
        assert (s.revision, s.version, s.priority) == (2, 1, 7)
        s.source = SRC + "# v2\n"
        s = await reg.save(s)
        assert (s.revision, s.version) == (3, 2)
        s.trigger = Event("deal", EventType.BEFORE_UPDATE)
        s = await reg.save(s)
        assert (s.revision, s.version) == (4, 3)
        assert [v.version for v in await reg.list_versions(s.id)] == [1, 2, 3]
        assert (await reg.get(s.id)) == s

    async def test_stale_save_conflicts(self, reg: ScriptRegistry) -> None:
        s = await reg.save(deal_script())
        a = await reg.get(s.id)
        b = await reg.get(s.id)
        a.description = "a"
        await reg.save(a)
        b.description = "b"
        with pytest.raises(VersionConflict) as err:
            await reg.save(b)
        assert err.value.expected == 1
        assert (await reg.get(s.id)).description == "a"

    async def test_storage_owns_counters(self, reg: ScriptRegistry) -> None:
        s = await reg.save(deal_script().activate())
        await reg.record_failure(s.id, "x")
        s.version = 99
        s.error_count = 0
        s.description = "edited"
        saved = await reg.save(s)
        assert saved.version == 1, "version is the storage's"
        assert saved.error_count == 1, "save does not overwrite runtime counters"

    async def test_delete(self, reg: ScriptRegistry) -> None:
        s = await add_active(reg, "gone")
        with pytest.raises(VersionConflict):
            await reg.delete(s.id, expected_revision=s.revision + 1)
        await reg.delete(s.id, expected_revision=s.revision)
        with pytest.raises(ScriptNotFound):
            await reg.get(s.id)
        assert await reg.find_by_trigger("deal", BEFORE_CREATE) == []
        # the name is free again
        await reg.save(deal_script("gone"))

    # -- find_by_trigger / cron ------------------------------------------------------------------

    async def test_find_by_trigger_order_and_filters(self, reg: ScriptRegistry) -> None:
        await add_active(reg, "b", priority=1)
        await add_active(reg, "a", priority=1)
        await add_active(reg, "z", priority=0)
        await reg.save(deal_script("draft"))
        await add_active(reg, "update", trigger=Event("deal", EventType.BEFORE_UPDATE))
        await add_active(reg, "contact", trigger=Event("contact", BEFORE_CREATE))
        await add_active(reg.for_tenant("t-b"), "other-tenant")
        found = await reg.find_by_trigger("deal", BEFORE_CREATE)
        assert [s.name for s in found] == ["z", "a", "b"]
        assert [s.name for s in await reg.find_by_trigger("deal", "before_update")] == ["update"]
        assert await reg.find_by_trigger("deal", EventType.AFTER_CREATE) == []
        assert [
            s.name for s in await reg.for_tenant("t-b").find_by_trigger("deal", BEFORE_CREATE)
        ] == ["other-tenant"]

    async def test_find_by_trigger_follows_changes(self, reg: ScriptRegistry) -> None:
        s = await add_active(reg, "moving")
        assert [x.name for x in await reg.find_by_trigger("deal", BEFORE_CREATE)] == ["moving"]
        s = await reg.save(s.disable("maintenance"))
        assert s.disabled_reason == "maintenance" and s.disabled_at is not None
        assert await reg.find_by_trigger("deal", BEFORE_CREATE) == []
        s = await reg.save(s.activate())
        assert s.disabled_reason is None
        assert len(await reg.find_by_trigger("deal", BEFORE_CREATE)) == 1
        s.trigger = Event("deal", EventType.AFTER_CREATE)
        s = await reg.save(s)
        assert await reg.find_by_trigger("deal", BEFORE_CREATE) == []
        assert [x.name for x in await reg.find_by_trigger("deal", "after_create")] == ["moving"]
        s.trigger = Manual()
        await reg.save(s)
        assert await reg.find_by_trigger("deal", "after_create") == []

    async def test_find_active_cron_spans_tenants(self, reg: ScriptRegistry) -> None:
        await add_active(reg, "tick", trigger=Cron("*/5 * * * *"))
        await add_active(reg.for_tenant("t-b"), "tock", trigger=Cron("0 9 * * *", "Europe/Paris"))
        await reg.save(deal_script("idle", trigger=Cron("* * * * *")))  # draft
        await add_active(reg, "evt")
        found = await reg.for_tenant("t-c").find_active_cron()
        assert [(s.tenant_id, s.name) for s in found] == [(None, "tick"), ("t-b", "tock")]

    # -- find_paginated --------------------------------------------------------------------------

    async def test_find_paginated(self, reg: ScriptRegistry) -> None:
        for i in range(7):
            await add_active(reg, f"deal.check-{i}")
        await reg.save(deal_script("dealXcheck-draft"))
        await add_active(reg, "contact_rule", trigger=Event("contact", EventType.AFTER_UPDATE))
        await add_active(reg, "nightly", trigger=Cron("0 2 * * *"))
        await add_active(reg.for_tenant("t-b"), "deal.check-b")

        page = await reg.find_paginated(ScriptQuery(), 0, 4)
        assert page.total == 10 and len(page.items) == 4 and page.has_more
        names = [s.name for s in page.items]
        assert names == sorted(names)

        page = await reg.find_paginated(ScriptQuery(name_prefix="deal.check"), 5, 4)
        assert page.total == 7, "'.' in the prefix is literal"
        assert [s.name for s in page.items] == ["deal.check-5", "deal.check-6"]
        assert not page.has_more

        async def total(**kw: Any) -> int:
            return (await reg.find_paginated(ScriptQuery(**kw), 0, 100)).total

        assert await total(status=ScriptStatus.DRAFT) == 1
        assert await total(status=ScriptStatus.ACTIVE) == 9
        assert await total(trigger_type="cron") == 1
        assert await total(trigger_type="event", entity_type="deal") == 8
        assert await total(entity_type="contact") == 1
        assert await total(event=EventType.AFTER_UPDATE) == 1
        assert await total(event=BEFORE_CREATE, status=ScriptStatus.ACTIVE) == 7
        assert await total(name_prefix="^") == 0
        assert await total(name_prefix="zzz") == 0
        assert (await reg.find_paginated(None, 100, 10)).items == []
        assert (await reg.find_paginated(None, 0, 0)).total == 10
        with pytest.raises(ValueError):
            await reg.find_paginated(None, -1, 10)

    # -- failures, lifecycle ---------------------------------------------------------------------

    async def test_lifecycle_with_execution_log(self, stores: Stores) -> None:
        reg, log = stores.scripts, stores.executions
        script = await reg.save(deal_script())
        assert script.status is ScriptStatus.DRAFT
        script = await reg.save(script.activate())
        assert script.status is ScriptStatus.ACTIVE

        outcomes = []
        for i in range(3):
            await log.append(
                run_record(
                    script, ExecutionStatus.ERROR, error={"type": "KeyError", "message": f"#{i}"}
                )
            )
            outcomes.append(await reg.record_failure(script.id, f"KeyError: #{i}"))
        assert [o.error_count for o in outcomes] == [1, 2, 3]
        assert [o.disabled for o in outcomes] == [False, False, True]
        disabled = outcomes[-1].script
        assert disabled.status is ScriptStatus.DISABLED
        assert disabled.disabled_at is not None
        assert "3 consecutive failures" in (disabled.disabled_reason or "")
        assert disabled.last_error is not None and disabled.last_error.message == "KeyError: #2"
        assert await reg.find_by_trigger("deal", BEFORE_CREATE) == []

        reset = await reg.reset(script.id, updated_by="ops")
        assert (reset.status, reset.error_count, reset.disabled_reason) == (
            ScriptStatus.ACTIVE,
            0,
            None,
        )
        assert reset.updated_by == "ops"
        assert [s.id for s in await reg.find_by_trigger("deal", BEFORE_CREATE)] == [script.id]
        await log.append(run_record(reset, ExecutionStatus.SUCCESS, duration_ms=1.5))
        await reg.record_success(script.id)

        page = await log.find_by_script(script.id)
        assert page.total == 4
        assert [r.status for r in page.items] == [ExecutionStatus.SUCCESS] + [
            ExecutionStatus.ERROR
        ] * 3
        assert [r.error for r in page.items[1:]] == [
            {"type": "KeyError", "message": f"#{i}"} for i in (2, 1, 0)
        ]

    async def test_success_resets_consecutive_failures(self, reg: ScriptRegistry) -> None:
        s = await add_active(reg, "flaky")
        await reg.record_failure(s.id, "a")
        await reg.record_failure(s.id, "b")
        await reg.record_success(s.id)
        assert (await reg.get(s.id)).error_count == 0
        outcome = await reg.record_failure(s.id, "c")
        assert (outcome.error_count, outcome.disabled) == (1, False)
        assert outcome.script.status is ScriptStatus.ACTIVE

    async def test_failures_of_inactive_script_count_but_do_not_disable(
        self, reg: ScriptRegistry
    ) -> None:
        s = await reg.save(deal_script())
        for _ in range(4):
            outcome = await reg.record_failure(s.id, "x")
        assert (outcome.error_count, outcome.disabled) == (4, False)
        assert outcome.script.status is ScriptStatus.DRAFT

    async def test_auto_disable_bumps_revision(self, reg: ScriptRegistry) -> None:
        s = await add_active(reg, "edited")
        await reg.record_failure(s.id, "x")
        assert (await reg.get(s.id)).revision == s.revision, "counters keep the ETag"
        await reg.record_failure(s.id, "x")
        await reg.record_failure(s.id, "x")
        s.description = "stale editor"
        with pytest.raises(VersionConflict):
            await reg.save(s)
        fresh = await reg.get(s.id)
        reactivated = await reg.save(fresh.activate())
        assert (reactivated.status, reactivated.error_count) == (ScriptStatus.ACTIVE, 0)

    async def test_concurrent_failures(self, reg: ScriptRegistry) -> None:
        s = await add_active(reg, "hot")
        outcomes = await asyncio.gather(*(reg.record_failure(s.id, f"e{i}") for i in range(50)))
        assert sorted(o.error_count for o in outcomes) == list(range(1, 51))
        assert sum(o.disabled for o in outcomes) == 1
        [winner] = [o for o in outcomes if o.disabled]
        assert winner.error_count == 3
        final = await reg.get(s.id)
        assert (final.error_count, final.status) == (50, ScriptStatus.DISABLED)

    async def test_concurrent_failures_across_replicas(
        self, stores: Stores, replica: Replica
    ) -> None:
        s = await add_active(stores.scripts, "hot", tenant_id=None)
        regs = [stores.scripts, *[(await replica()).scripts for _ in range(2)]]
        # warm every replica's connection pool so that the calls really overlap
        await asyncio.gather(*(r.get(s.id) for r in regs for _ in range(8)))
        outcomes = await asyncio.gather(
            *(regs[i % 3].record_failure(s.id, f"e{i}") for i in range(45))
        )
        assert sorted(o.error_count for o in outcomes) == list(range(1, 46))
        assert sum(o.disabled for o in outcomes) == 1
        final = await stores.scripts.get(s.id)
        assert (final.error_count, final.status) == (45, ScriptStatus.DISABLED)

    async def test_threshold_is_configurable(self, stores: Stores) -> None:
        assert stores.scripts.failure_threshold == 3
        assert stores.scripts.for_tenant("x").failure_threshold == 3

    # -- versions -----------------------------------------------------------------------------

    async def test_versions_and_rollback(self, reg: ScriptRegistry) -> None:
        s = await reg.save(deal_script(created_by="ann"))
        s.source, s.updated_by = "log('v2')\n", "bob"
        s = await reg.save(s)
        s.trigger, s.updated_by = Event("deal", EventType.AFTER_CREATE), "cid"
        s = await reg.save(s)
        versions = await reg.list_versions(s.id)
        assert [(v.version, v.created_by) for v in versions] == [(1, "ann"), (2, "bob"), (3, "cid")]
        v1 = await reg.get_version(s.id, 1)
        assert (v1.source, v1.trigger) == (SRC, Event("deal", BEFORE_CREATE))
        with pytest.raises(VersionNotFound):
            await reg.get_version(s.id, 4)
        with pytest.raises(VersionNotFound):
            await reg.rollback(s.id, 9)

        with pytest.raises(VersionConflict):
            await reg.rollback(s.id, 1, expected_revision=s.revision - 1)
        rolled = await reg.rollback(s.id, 1, expected_revision=s.revision, updated_by="ops")
        assert (rolled.version, rolled.revision) == (4, s.revision + 1)
        assert (rolled.source, rolled.trigger) == (SRC, Event("deal", BEFORE_CREATE))
        v4 = await reg.get_version(s.id, 4)
        assert (v4.source, v4.rolled_back_from, v4.created_by) == (SRC, 1, "ops")
        assert [v.version for v in await reg.list_versions(s.id)] == [1, 2, 3, 4]
        # version records are immutable
        assert (await reg.get_version(s.id, 2)).source == "log('v2')\n"

    async def test_rollback_to_current_still_makes_a_version(self, reg: ScriptRegistry) -> None:
        s = await reg.save(deal_script())
        rolled = await reg.rollback(s.id, 1)
        assert rolled.version == 2
        assert (await reg.get_version(s.id, 2)).rolled_back_from == 1

    async def test_rollback_moves_trigger_membership(self, reg: ScriptRegistry) -> None:
        s = await add_active(reg, "r")
        s.trigger = Event("deal", EventType.AFTER_DELETE)
        s = await reg.save(s)
        assert await reg.find_by_trigger("deal", BEFORE_CREATE) == []
        await reg.rollback(s.id, 1)
        assert [x.name for x in await reg.find_by_trigger("deal", BEFORE_CREATE)] == ["r"]
        assert await reg.find_by_trigger("deal", EventType.AFTER_DELETE) == []

    # -- tenancy ------------------------------------------------------------------------------

    async def test_tenant_isolation(self, reg: ScriptRegistry) -> None:
        a, b = reg.for_tenant("tenant-a"), reg.for_tenant("tenant-b")
        assert (a.tenant_id, b.tenant_id, reg.tenant_id) == ("tenant-a", "tenant-b", None)
        sa = await add_active(a, "shared-name")
        assert sa.tenant_id == "tenant-a", "the registry stamps its tenant"
        sa.source = "log('v2')\n"
        sa = await a.save(sa)
        sb = await add_active(b, "shared-name")

        for other in (b, reg):
            with pytest.raises(ScriptNotFound):
                await other.get(sa.id)
            with pytest.raises(ScriptNotFound):
                await other.delete(sa.id)
            with pytest.raises(ScriptNotFound):
                await other.reset(sa.id)
            with pytest.raises(ScriptNotFound):
                await other.rollback(sa.id, 1)
            with pytest.raises(ScriptNotFound):
                await other.record_failure(sa.id, "x")
            with pytest.raises(ScriptNotFound):
                await other.list_versions(sa.id)
            with pytest.raises(ScriptNotFound):
                await other.get_version(sa.id, 1)
            await other.record_success(sa.id)
        with pytest.raises(ScriptNotFound):
            await reg.get_by_name("shared-name")
        assert (await b.get_by_name("shared-name")).id == sb.id
        assert (await a.get_by_name("shared-name")).id == sa.id

        # updating through the wrong tenant: not found, whatever the script says
        stolen = sa.model_copy(update={"description": "mine now"})
        with pytest.raises(ScriptNotFound):
            await b.save(stolen.model_copy(update={"tenant_id": None}))
        with pytest.raises((ScriptNotFound, TenantMismatch)):
            await b.save(stolen)
        # inserting another tenant's script
        with pytest.raises(TenantMismatch):
            await b.save(deal_script("x", tenant_id="tenant-a"))

        assert [s.id for s in (await b.find_paginated()).items] == [sb.id]
        assert (await reg.find_paginated()).total == 0
        assert [s.id for s in await b.find_by_trigger("deal", BEFORE_CREATE)] == [sb.id]
        assert await reg.find_by_trigger("deal", BEFORE_CREATE) == []

        # tenant A's script is untouched by all of the above
        final = await a.get(sa.id)
        assert (final.revision, final.error_count, final.description) == (sa.revision, 0, "")
        assert [v.version for v in await a.list_versions(sa.id)] == [1, 2]

    # -- indexes ------------------------------------------------------------------------------

    async def test_ensure_indexes_is_idempotent(self, stores: Stores) -> None:
        await stores.ensure_indexes()
        await stores.ensure_indexes()
        await stores.scripts.ensure_indexes()
        s = await add_active(stores.scripts, "after-indexes")
        assert (await stores.scripts.get(s.id)).name == "after-indexes"

    # -- execution log ------------------------------------------------------------------------

    async def test_execution_log_pages_newest_first(self, stores: Stores) -> None:
        log = stores.executions
        s = await add_active(stores.scripts, "logged")
        base = datetime(2030, 1, 1, tzinfo=UTC)
        for i in range(5):
            await log.append(
                run_record(
                    s, ExecutionStatus.SUCCESS, started_at=base + timedelta(seconds=i), operations=i
                )
            )
        await log.append(run_record(s.model_copy(update={"id": "other"}), ExecutionStatus.SUCCESS))
        page = await log.find_by_script(s.id, offset=1, limit=2)
        assert page.total == 5 and (page.offset, page.limit) == (1, 2)
        assert [r.operations for r in page.items] == [3, 2]
        assert page.items[0].started_at == base + timedelta(seconds=3)
        assert (await log.find_by_script(s.id, 4, 10)).items[0].operations == 0
        assert (await log.find_by_script(s.id, 10, 10)).items == []

    async def test_execution_log_filters_by_status_and_time(self, stores: Stores) -> None:
        log = stores.executions
        s = await add_active(stores.scripts, "filtered")
        base = datetime(2030, 1, 1, tzinfo=UTC)
        statuses = [ExecutionStatus.SUCCESS, ExecutionStatus.ERROR, ExecutionStatus.SUCCESS]
        for i, status in enumerate(statuses):
            await log.append(
                run_record(s, status, started_at=base + timedelta(hours=i), operations=i)
            )

        async def ops(**filters: Any) -> tuple[int, list[int]]:
            page = await log.find_by_script(s.id, 0, 10, ExecutionQuery(**filters))
            return page.total, [r.operations for r in page.items]

        assert await ops() == (3, [2, 1, 0])
        assert await ops(status=ExecutionStatus.SUCCESS) == (2, [2, 0])
        assert await ops(status=ExecutionStatus.TIMEOUT) == (0, [])
        assert await ops(since=base + timedelta(hours=1)) == (2, [2, 1])  # since is inclusive
        assert await ops(until=base + timedelta(hours=1)) == (1, [0])  # until is exclusive
        paris = timezone(timedelta(hours=1))
        window = {
            "since": datetime(2030, 1, 1, 0, 30, tzinfo=paris),
            "until": base + timedelta(hours=2),
        }
        assert await ops(**window) == (2, [1, 0])
        assert await ops(status=ExecutionStatus.SUCCESS, **window) == (1, [0])

    async def test_execution_log_append_many_is_idempotent(self, stores: Stores) -> None:
        log = stores.executions
        s = await add_active(stores.scripts, "batched")
        records = [run_record(s, ExecutionStatus.SUCCESS, operations=i) for i in range(5)]
        await log.append_many(records[:3])
        await log.append_many(records)  # a re-flush after a partial failure
        await log.append(records[0])
        await log.append_many([])
        page = await log.find_by_script(s.id)
        assert page.total == 5
        assert sorted(r.operations for r in page.items) == [0, 1, 2, 3, 4]

    async def test_execution_log_tenancy(self, stores: Stores) -> None:
        log = stores.executions
        rec = run_record(
            Script.new("t", SRC, Manual(), tenant_id="tenant-a").model_copy(update={"id": "s1"}),
            ExecutionStatus.ABORTED,
            reason="no",
        )
        await log.append(rec)
        assert (await log.find_by_script("s1")).total == 0
        assert (await log.for_tenant("tenant-b").find_by_script("s1")).total == 0
        [got] = (await log.for_tenant("tenant-a").find_by_script("s1")).items
        assert got == rec

    async def test_execution_record_round_trip_bounded(self, stores: Stores) -> None:
        s = await add_active(stores.scripts, "big")
        big = {"blob": "x" * (MAX_CHANGES_BYTES + 10), "small": 1}
        rec = run_record(
            s,
            ExecutionStatus.SUCCESS,
            changes=big,
            logs=["l" * 5000] * 500,
            correlation_id="c-1",
            user_id="u-1",
            entity_id="42",
        )
        assert rec.changes_truncated and rec.changes is not None
        assert rec.changes[TRUNCATED_MARKER] is True and rec.changes["keys"] == ["blob", "small"]
        await stores.executions.append(rec)
        [got] = (await stores.executions.find_by_script(s.id)).items
        assert got == rec
        small = run_record(s, ExecutionStatus.SUCCESS, changes={"status": "needs_approval"})
        assert small.changes == {"status": "needs_approval"}

    async def test_execution_log_purge(self, stores: Stores) -> None:
        log = stores.executions
        assert log.retention_days == 30
        s = await add_active(stores.scripts, "old")
        now = datetime(2030, 6, 1, tzinfo=UTC)
        for days in (40, 31, 29, 1):
            await log.append(
                run_record(s, ExecutionStatus.SUCCESS, started_at=now - timedelta(days=days))
            )
        assert await log.purge_expired(now) == 2
        assert (await log.find_by_script(s.id)).total == 2
        assert await log.purge_expired(now) == 0
        assert isinstance(await log.purge_expired(), int)

    # -- processed events ---------------------------------------------------------------------

    async def test_processed_events(self, stores: Stores, replica: Replica) -> None:
        processed = stores.processed
        assert await processed.get("evt-1") is None
        assert await processed.mark("evt-1", ttl_seconds=3600) is True
        assert await processed.mark("evt-1", ttl_seconds=3600) is False
        assert await (await replica()).processed.mark("evt-1") is False
        assert await processed.get("evt-1") == {}
        outcome = {"outcome": "rejected", "reason": "Minimum deal amount is 100", "n": 1}
        assert await processed.mark("req-1", result=outcome) is True
        assert await processed.mark("req-1", result={"outcome": "continue"}) is False
        assert await processed.get("req-1") == outcome
        assert await processed.release("req-1") is True
        assert await processed.release("req-1") is False
        assert await processed.get("req-1") is None

    async def test_processed_events_mark_many(self, stores: Stores) -> None:
        processed = stores.processed
        assert await processed.mark("old", result={"v": 0}) is True
        await processed.mark_many({"a": {"v": 1}, "b": None, "old": {"v": 9}}, ttl_seconds=3600)
        assert await processed.get("a") == {"v": 1}
        assert await processed.get("b") == {}
        assert await processed.get("old") == {"v": 0}  # present keys are left alone
        await processed.mark_many({})

    async def test_partition_watermarks_only_rise(self, stores: Stores, replica: Replica) -> None:
        processed = stores.processed
        assert await processed.watermark("g:t:0") is None
        await processed.set_watermark("g:t:0", 100)
        await processed.set_watermark("g:t:0", 40)
        await processed.set_watermark("g:t:1", 7)
        assert await processed.watermark("g:t:0") == 100
        assert await processed.watermark("g:t:1") == 7
        await (await replica()).processed.set_watermark("g:t:0", 150)
        assert await processed.watermark("g:t:0") == 150

    async def test_processed_events_concurrent_marks(
        self, stores: Stores, replica: Replica
    ) -> None:
        others = [await replica() for _ in range(2)]
        marks = await asyncio.gather(
            *([stores, *others][i % 3].processed.mark("evt-x") for i in range(20))
        )
        assert marks.count(True) == 1

    async def test_processed_events_expire(self, stores: Stores) -> None:
        processed = stores.processed
        assert await processed.mark("short", ttl_seconds=0.05, result={"a": 1}) is True
        assert await processed.mark("long", ttl_seconds=3600) is True
        await asyncio.sleep(0.1)
        assert await processed.get("short") is None
        assert await processed.mark("short", ttl_seconds=3600, result={"a": 2}) is True
        assert await processed.get("short") == {"a": 2}
        later = datetime.now(UTC) + timedelta(days=1)
        assert await processed.purge_expired(later) == 2
        assert await processed.get("long") is None

    # -- tick ledger --------------------------------------------------------------------------

    async def test_tick_claims_once_across_instances(
        self, stores: Stores, replica: Replica
    ) -> None:
        at = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
        ledgers = [stores.ticks, *[(await replica()).ticks for _ in range(2)]]
        claims = await asyncio.gather(
            *(ledgers[i % 3].claim("s1", at, f"instance-{i % 3}") for i in range(12))
        )
        assert claims.count(True) == 1
        # the same instant in another zone is the same tick
        paris = at.astimezone(timezone(timedelta(hours=1)))
        assert await stores.ticks.claim("s1", paris, "x") is False
        assert await stores.ticks.claim("s1", at + timedelta(minutes=1), "x") is True
        assert await stores.ticks.claim("s2", at, "x") is True
        assert await stores.ticks.last_claimed("s1") == at + timedelta(minutes=1)
        assert await stores.ticks.last_claimed("nope") is None
        with pytest.raises(ValueError):
            await stores.ticks.claim("s1", datetime(2030, 3, 1, 9, 0), "x")  # naive

    async def test_tick_purge(self, stores: Stores) -> None:
        ticks = stores.ticks
        now = datetime(2030, 3, 10, tzinfo=UTC)
        await ticks.claim("s1", now - timedelta(days=30), "x")
        await ticks.claim("s1", now - timedelta(hours=1), "x")
        assert await ticks.purge_expired(now) == 1
        assert await ticks.last_claimed("s1") == now - timedelta(hours=1)

    async def test_stores_purge_all(self, stores: Stores) -> None:
        counts = await stores.purge_expired(datetime.now(UTC) + timedelta(days=365))
        assert set(counts) == {"executions", "processed", "ticks"}

    async def test_on_error_policy_round_trips(self, reg: ScriptRegistry) -> None:
        s = await reg.save(deal_script(on_error="continue"))
        assert (await reg.get(s.id)).on_error is OnErrorPolicy.CONTINUE
