"""What the in-memory and the MongoDB state stores share, so that both behave the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from alloy_scripting.model.script import to_utc_ms
from alloy_scripting.model.state import (
    JsonDoc,
    QuotaExceeded,
    StateQuotas,
    StateTypeError,
    StateUsage,
    check_collection,
    check_field,
    check_increment,
    check_key,
    check_ttl,
    document_size,
    plain_document,
)

#: How many write ids a document remembers (newest last). A redelivered write is recognised
#: while fewer than this many other identified writes touched its document since.
APPLIED_WINDOW = 128
#: How long a deleted document's tombstone (which keeps its write ids) is kept.
TOMBSTONE_TTL = timedelta(days=1)
#: Compare-and-set attempts on one document before `StateContention`.
MAX_ATTEMPTS = 64
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def address(collection: Any, key: Any) -> tuple[str, str]:
    return check_collection(collection), check_key(key)


def prepared(doc: Any, quotas: StateQuotas) -> tuple[JsonDoc, int]:
    """A plain copy of ``doc`` and its size, or an error if it alone is over the quota."""
    plain = plain_document(doc)
    size = document_size(plain)
    if size > quotas.max_document_bytes:
        raise QuotaExceeded("document_bytes", quotas.max_document_bytes, size)
    return plain, size


def expiry(now: datetime, ttl_seconds: Any) -> datetime | None:
    ttl = check_ttl(ttl_seconds)
    return None if ttl is None else to_utc_ms(now + timedelta(seconds=ttl))


@dataclass(frozen=True, slots=True)
class PutArgs:
    """The checked arguments of one ``put`` (and the time it was made at)."""

    collection: str
    key: str
    doc: JsonDoc
    size: int
    now: datetime
    expires_at: datetime | None


def put_args(
    collection: Any,
    key: Any,
    doc: Any,
    ttl_seconds: Any,
    quotas: StateQuotas,
    clock: Callable[[], datetime],
) -> PutArgs:
    """Check a ``put``'s arguments the same way in every store (the clock is read after the
    document passed its checks)."""
    collection, key = address(collection, key)
    plain, size = prepared(doc, quotas)
    now = clock()
    return PutArgs(collection, key, plain, size, now, expiry(now, ttl_seconds))


def incr_args(collection: Any, key: Any, field: Any, by: Any) -> tuple[str, str, str, int | float]:
    """Check an ``incr``'s arguments the same way in every store: collection, key, field, by."""
    collection, key = address(collection, key)
    return collection, key, check_field(field), check_increment(by)


def remember(applied: list[str], write_id: str | None) -> list[str]:
    if write_id is None:
        return applied[-APPLIED_WINDOW:]
    return [*applied, write_id][-APPLIED_WINDOW:]


def check_quota(quotas: StateQuotas, usage: StateUsage, documents: int, size: int) -> None:
    """Refuse growth of ``documents`` / ``size`` bytes past the tenant's quotas."""
    if documents > 0 and usage.documents + documents > quotas.max_documents:
        raise QuotaExceeded("documents", quotas.max_documents, usage.documents + documents)
    if size > 0 and usage.bytes + size > quotas.max_total_bytes:
        raise QuotaExceeded("total_bytes", quotas.max_total_bytes, usage.bytes + size)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def added(value: Any, by: int | float, field: str) -> int | float:
    """``value + by`` as MongoDB's ``$inc`` computes it (64-bit integers do not overflow)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise StateTypeError(f"field {field!r} holds {type(value).__name__}, not a number")
    result: int | float = value + by
    if isinstance(result, int) and not _INT64_MIN <= result <= _INT64_MAX:
        raise StateTypeError(f"field {field!r} would leave the 64-bit integer range")
    return result
