"""What the MongoDB stores share: collection names, index names and their creation, the
codec (aware UTC datetimes), tenant filters. The constraints the stores are written for
(FerretDB included) are in the package docstring."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC
from typing import Any

import pydantic_core
from bson.codec_options import CodecOptions
from pydantic import BaseModel
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from alloy_scripting.settings import Settings

log = logging.getLogger("alloy.storage")

Document = dict[str, Any]
Database = AsyncDatabase[Document]
Collection = AsyncCollection[Document]

COLLECTIONS = {
    "scripts": "scripts",
    "versions": "script_versions",
    "executions": "script_executions",
    "processed": "processed_events",
    "watermarks": "consumer_watermarks",
    "ticks": "scheduler_ticks",
    "last_ticks": "scheduler_last_ticks",
    "triggers": "script_triggers",
    "leases": "storage_leases",
    "egress": "egress_rules",
    "shadows": "script_shadows",
    "shadow_tallies": "script_shadow_tallies",
    "templates": "script_templates",
}

#: Index names (stable: ``ensure_indexes`` relies on them being the same on every start).
IDX_TENANT_NAME = "uniq_tenant_name"
IDX_TRIGGER = "by_tenant_trigger_status_priority_name"
IDX_TRIGGER_TYPE = "by_trigger_type_status"
IDX_SCRIPT_VERSION = "uniq_script_version"
IDX_EXEC_BY_SCRIPT = "by_tenant_script_started"
IDX_EXEC_BY_TENANT = "by_tenant_started"
IDX_EXEC_BY_ENTITY = "by_tenant_entity_started"
IDX_EXEC_TTL = "ttl_started_at"
IDX_PROCESSED_TTL = "ttl_expires_at"
IDX_TICKS_TTL = "ttl_scheduled_at"

_CODEC: CodecOptions[Document] = CodecOptions(document_class=dict, tz_aware=True, tzinfo=UTC)
# OperationFailure codes for "an index with this name exists with other options".
_INDEX_CONFLICT_CODES = {85, 86}
_NOT_IMPLEMENTED = 238


def client_for(settings: Settings) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(settings.mongodb_url, tz_aware=True, tzinfo=UTC)


def collection(db: Database, key: str) -> Collection:
    return db.get_collection(COLLECTIONS[key], codec_options=_CODEC)


def bson_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    if isinstance(value, list):
        return [bson_value(item) for item in value]
    return value


def as_text(value: Any) -> str | None:
    """A field as JSON text (None stays None), for data whose field names are not the
    service's (an entity's, an author's): they may hold `.` or start with `$`, which the
    store refuses in a document. Nobody queries inside such a field."""
    if value is None:
        return None
    return pydantic_core.to_json(value, inf_nan_mode="constants").decode()


def from_text(data: dict[str, Any], names: Iterable[str]) -> None:
    """The fields `as_text` wrote, read back in place (documents of earlier versions that
    hold objects there are kept as they are)."""
    for name in names:
        value = data.get(name)
        if isinstance(value, str):
            data[name] = json.loads(value)


async def create_index(
    coll: Collection, keys: list[tuple[str, int]], *, name: str, **options: Any
) -> bool:
    """Create an index; on a name clash with other options, replace it. True when it exists."""
    try:
        await coll.create_index(keys, name=name, **options)
        return True
    except OperationFailure as exc:
        if exc.code not in _INDEX_CONFLICT_CODES:
            raise
    log.warning("index %s.%s changed options; recreating it", coll.name, name)
    await coll.drop_index(name)
    await coll.create_index(keys, name=name, **options)
    return True


async def create_ttl_index(coll: Collection, field: str, seconds: int, *, name: str) -> bool:
    """A TTL index where the server has them. Never fails start-up: on refusal, log, create a
    plain index on ``field`` for ``purge_expired`` and return False."""
    try:
        return await create_index(coll, [(field, ASCENDING)], name=name, expireAfterSeconds=seconds)
    except OperationFailure as exc:
        # FerretDB v1: code 238 NotImplemented ('Index option "expireAfterSeconds" is not
        # implemented yet'). Expected there, so not a warning.
        level = logging.INFO if exc.code == _NOT_IMPLEMENTED else logging.WARNING
        log.log(
            level,
            "server refused TTL index %s.%s (%s); relying on purge_expired",
            coll.name,
            name,
            exc.details.get("errmsg") if exc.details else exc,
        )
    try:
        await create_index(coll, [(field, ASCENDING)], name=f"by_{field}")
    except OperationFailure as exc:  # pragma: no cover - only on very odd servers
        log.warning("cannot create index %s.by_%s: %s", coll.name, field, exc)
    return False


def is_duplicate_key(exc: OperationFailure) -> bool:
    """A unique-index violation. FerretDB reports those of updates (as opposed to inserts) as
    ``InternalError`` (code 1) with SQLite's "UNIQUE constraint failed" message, not E11000."""
    return isinstance(exc, DuplicateKeyError) or "UNIQUE constraint failed" in str(exc)


def tenant_filter(tenant_id: str | None, **extra: Any) -> Document:
    return {"tenant_id": tenant_id, **extra}
