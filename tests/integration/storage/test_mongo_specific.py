"""What only the MongoDB stores do: documents, indexes, trigger index, leases, settings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import BulkWriteError

from alloy_scripting.model import Cron, Event, EventType, Manual, Script, ScriptStatus
from alloy_scripting.model.enums import ExecutionPhase, ExecutionStatus
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.script import utc_now
from alloy_scripting.settings import Settings
from alloy_scripting.storage import MongoStorage, MongoStores
from alloy_scripting.storage.mongo import (
    COLLECTIONS,
    IDX_SCRIPT_VERSION,
    IDX_TENANT_NAME,
    IDX_TRIGGER,
    trigger_key,
)
from alloy_scripting.storage.mongo.lease import Leases, LeaseTimeout
from alloy_scripting.storage.mongo.scripts import script_doc

pytestmark = pytest.mark.integration

SRC = "log('hi')\n"


@pytest.fixture
async def stores(mongo_db: Any) -> MongoStores:
    stores = MongoStores(mongo_db)
    await stores.ensure_indexes()
    return stores


async def test_documents_keep_bson_dates_and_plain_values(stores: MongoStores) -> None:
    s = await stores.scripts.save(
        Script.new("doc", SRC, Event("deal", EventType.BEFORE_CREATE)).activate()
    )
    raw = await stores.db[COLLECTIONS["scripts"]].find_one({"_id": s.id})
    assert raw is not None and "id" not in raw
    assert isinstance(raw["created_at"], datetime)
    assert raw["status"] == "active" and raw["revision"] == 1
    assert raw["trigger"] == {"type": "event", "entity_type": "deal", "event": "before_create"}
    # a client without tz_aware still reads aware datetimes through the stores
    assert (await stores.scripts.get(s.id)).created_at.tzinfo is not None


async def test_indexes(stores: MongoStores) -> None:
    info = await stores.db[COLLECTIONS["scripts"]].index_information()
    assert info[IDX_TENANT_NAME].get("unique") is True
    assert [k for k, _ in info[IDX_TRIGGER]["key"]] == [
        "tenant_id",
        "trigger.type",
        "trigger.entity_type",
        "trigger.event",
        "status",
        "priority",
        "name",
    ]
    versions = await stores.db[COLLECTIONS["versions"]].index_information()
    assert versions[IDX_SCRIPT_VERSION].get("unique") is True
    # a TTL index where the server has one (MongoDB), a plain one where it refuses (FerretDB)
    assert stores.executions.ttl_supported in (True, False)
    executions = await stores.db[COLLECTIONS["executions"]].index_information()
    started = [i for i in executions.values() if [k for k, _ in i["key"]] == ["started_at"]]
    assert len(started) == 1
    await stores.ensure_indexes()
    assert await stores.db[COLLECTIONS["scripts"]].index_information() == info


async def test_from_settings(mongodb_url: str) -> None:
    settings = Settings(
        mongodb_url=mongodb_url, mongodb_database="alloy_t_settings", failure_threshold=5
    )
    stores = MongoStores.from_settings(settings)
    storage = MongoStorage.from_settings(settings)
    try:
        assert stores.scripts.failure_threshold == 5 and storage.failure_threshold == 5
        assert stores.executions.retention_days == settings.execution_retention_days
        assert await stores.ping()
    finally:
        await stores.db.client.drop_database("alloy_t_settings")
        await stores.close()
        await storage.close()


async def test_bulk_loaded_scripts_need_rebuild(stores: MongoStores) -> None:
    reg = stores.scripts
    bulk = [
        Script.new(f"bulk-{i}", SRC, Event("deal", EventType.AFTER_CREATE), priority=i).activate()
        for i in range(3)
    ]
    bulk.append(Script.new("bulk-draft", SRC, Event("deal", EventType.AFTER_CREATE)))
    bulk.append(
        Script.new("bulk-b", SRC, Event("deal", EventType.AFTER_CREATE), tenant_id="b").activate()
    )
    bulk.append(Script.new("bulk-cron", SRC, Cron("0 * * * *"), tenant_id="c").activate())
    await stores.db[COLLECTIONS["scripts"]].insert_many(
        [script_doc(s.model_copy(update={"revision": 1})) for s in bulk]
    )
    assert await reg.find_by_trigger("deal", "after_create") == []
    assert await reg.find_active_cron() == []
    assert await reg.rebuild_trigger_index() == 3
    assert [s.name for s in await reg.find_active_cron()] == ["bulk-cron"]
    assert [s.name for s in await reg.find_by_trigger("deal", "after_create")] == [
        "bulk-0",
        "bulk-1",
        "bulk-2",
    ]
    assert [s.name for s in await reg.for_tenant("b").find_by_trigger("deal", "after_create")] == [
        "bulk-b"
    ]
    assert await reg.rebuild_trigger_index() == 3, "idempotent"
    assert await reg.rebuild_trigger_index(exclusive=True) == 3, "idempotent, in bulk too"
    assert len(await reg.find_by_trigger("deal", "after_create")) == 3


async def test_stale_trigger_index_entries_are_ignored(stores: MongoStores) -> None:
    reg = stores.scripts
    s = await reg.save(Script.new("real", SRC, Event("deal", EventType.BEFORE_CREATE)).activate())
    key = trigger_key(None, "deal", EventType.BEFORE_CREATE)
    other = await reg.save(Script.new("manual", SRC, Manual()))
    # as if a crash had left extras behind: a missing id and a script that does not match
    await stores.db[COLLECTIONS["triggers"]].update_one(
        {"_id": key}, {"$addToSet": {"script_ids": {"$each": ["ghost", other.id]}}}
    )
    assert [x.id for x in await reg.find_by_trigger("deal", "before_create")] == [s.id]


async def test_status_written_by_hand_is_rechecked(stores: MongoStores) -> None:
    reg = stores.scripts
    s = await reg.save(Script.new("x", SRC, Event("deal", EventType.BEFORE_CREATE)).activate())
    await stores.db[COLLECTIONS["scripts"]].update_one(
        {"_id": s.id}, {"$set": {"status": "archived"}}
    )
    assert await reg.find_by_trigger("deal", "before_create") == []
    assert (await reg.get(s.id)).status is ScriptStatus.ARCHIVED


async def test_lease_excludes_and_times_out(stores: MongoStores) -> None:
    coll = stores.db["storage_leases"]
    first, second = Leases(coll, ttl=10), Leases(coll, ttl=10, timeout=0.3)
    async with first.hold("k"):
        with pytest.raises(LeaseTimeout):
            async with second.hold("k"):
                pass
    async with second.hold("k"):
        assert (await coll.find_one({"_id": "k"})) is not None
    assert await coll.find_one({"_id": "k"}) is None


async def test_expired_lease_is_taken_over(stores: MongoStores) -> None:
    coll = stores.db["storage_leases"]
    now = utc_now()
    await coll.insert_one(
        {
            "_id": "stuck",
            "owner": "crashed",
            "acquired_at": now,
            "expires_at": now - timedelta(seconds=1),
        }
    )
    async with Leases(coll, timeout=2).hold("stuck"):
        held = await coll.find_one({"_id": "stuck"})
        assert held is not None and held["owner"] != "crashed"


async def test_lease_serialises_across_instances(stores: MongoStores) -> None:
    coll = stores.db["storage_leases"]
    leases = [Leases(coll), Leases(coll), Leases(coll)]
    inside = 0
    peak = 0

    async def critical(i: int) -> None:
        nonlocal inside, peak
        async with leases[i % 3].hold("shared"):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.002)
            inside -= 1

    await asyncio.gather(*(critical(i) for i in range(15)))
    assert peak == 1


async def test_replica_without_tz_aware_client(mongo_db: Any, mongodb_url: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url)  # tz_aware=False
    try:
        stores = MongoStores(client[mongo_db.name])
        s = await stores.scripts.save(Script.new("naive-client", SRC, Manual()))
        got = await stores.scripts.get(s.id)
        assert got.created_at.tzinfo is not None and got.created_at == s.created_at
        await stores.ticks.claim("s", datetime(2030, 1, 1, tzinfo=UTC), "i")
        assert await stores.ticks.last_claimed("s") == datetime(2030, 1, 1, tzinfo=UTC)
    finally:
        await client.close()


def execution_record(record_id: str, **fields: Any) -> ExecutionRecord:
    values: dict[str, Any] = {
        "id": record_id,
        "script_id": "s1",
        "script_version": 1,
        "script_name": "dup",
        "phase": ExecutionPhase.BEFORE,
        "status": ExecutionStatus.SUCCESS,
        **fields,
    }
    return ExecutionRecord(**values)


async def test_an_unordered_insert_skips_each_duplicate_id_and_keeps_the_rest(
    stores: MongoStores,
) -> None:
    """What a redelivered batch's records rely on: FerretDB, like MongoDB, answers an
    unordered `insert_many` with one duplicate-key error per document already there
    (code 11000, by index), inserts every other one, and leaves the stored ones as they
    were; `append_many` treats exactly those errors as "already logged"."""

    def record(record_id: str, operations: int) -> ExecutionRecord:
        return execution_record(record_id, operations=operations)

    log = stores.executions
    await log.append_many([record("a", 1), record("c", 1)])
    raw = stores.db[COLLECTIONS["executions"]]
    with pytest.raises(BulkWriteError) as raised:
        await raw.insert_many([{"_id": "a"}, {"_id": "b0"}, {"_id": "c"}], ordered=False)
    errors = raised.value.details["writeErrors"]
    assert [(e["index"], e["code"]) for e in errors] == [(0, 11000), (2, 11000)]
    assert await raw.count_documents({"_id": "b0"}) == 1

    await log.append_many([record(i, 2) for i in ("a", "b", "c", "d")])  # no error raised
    page = await log.find_by_script("s1")
    assert {r.id: r.operations for r in page.items} == {"a": 1, "b": 2, "c": 1, "d": 2}


async def test_records_whose_changes_and_payloads_name_fields_the_store_refuses_are_kept(
    stores: MongoStores,
) -> None:
    """Field names are the script's and its caller's: `$set`, `a.b` in an entity or an
    emitted payload. The store refuses them in a document (FerretDB: code 2), and a record
    it refuses would fail its batch's books on every redelivery; they are kept as text."""
    odd = {"$set": {"a.b": 1}, "x.y": [{"$where": "1"}], "plain": 2}
    raw = stores.db[COLLECTIONS["executions"]]
    with pytest.raises(BulkWriteError) as raised:
        await raw.insert_many([{"_id": "probe", "changes": odd}], ordered=False)
    assert raised.value.details["writeErrors"][0]["code"] != 11000
    record = execution_record(
        "odd", changes=odd, emitted=[{"event_type": "deal.$flagged", "payload": odd}]
    )
    await stores.executions.append_many([record])
    await stores.executions.append(record.model_copy(update={"id": "odd2"}))
    stored = await stores.executions.get("odd")
    assert stored is not None
    assert stored.changes == odd and stored.emitted == record.emitted
    # A record written by an earlier version (objects, not text) still reads.
    await raw.insert_one({**{k: v for k, v in stored.model_dump().items() if k != "id"},
                          "_id": "old", "changes": {"plain": 1}, "emitted": []})  # fmt: skip
    old = await stores.executions.get("old")
    assert old is not None and old.changes == {"plain": 1}


async def test_fixtures_and_template_parameters_may_name_fields_the_store_refuses(
    stores: MongoStores,
) -> None:
    """An author's fixture entities and template parameters are free JSON: `$set`, `a.b`."""
    from alloy_scripting.model.fixtures import Fixture, FixtureExpect
    from alloy_scripting.model.template_ref import TemplateRef

    odd = {"$set": {"a.b": 1}, "x.y": [{"$in": [1]}]}

    def fixtures(n: int) -> list[Fixture]:
        return [
            Fixture(
                name=f"odd {n}",
                entity={**odd, "n": n},
                expect=FixtureExpect(outcome="continue", changes={"$set": n}),
            )
        ]

    script = Script.new(
        "odd", SRC, Event("deal", EventType.BEFORE_CREATE), fixtures=fixtures(1)
    ).model_copy(update={"template": TemplateRef(id="t-odd", version=1, params=odd)})
    saved = await stores.scripts.save(script)
    loaded = await stores.scripts.get(saved.id)
    assert loaded.fixtures == fixtures(1) and loaded.template == script.template
    updated = await stores.scripts.save(loaded.model_copy(update={"fixtures": fixtures(2)}))
    assert (await stores.scripts.get(saved.id)).fixtures == fixtures(2) == updated.fixtures
