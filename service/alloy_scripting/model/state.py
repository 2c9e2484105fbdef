"""The state store's vocabulary: names, documents, quotas, write ids and typed errors.

A tenant's state is a set of small JSON documents addressed by (collection, key). Both the
stores (`storage.state_*`) and the script-facing helpers (`bridge.state`) check their input
here, so that a bad name or document is refused the same way on every surface.

Sizes: a document is counted as its compact JSON, except that every number counts 8 bytes
(as BSON stores it). An ``incr`` on an existing number therefore never changes a
document's size, and quotas need no re-measuring under concurrent increments.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alloy_scripting.model.json_check import MAX_JSON_DEPTH, check_json

COLLECTION_PATTERN = r"^[a-z0-9_]{1,64}$"
MAX_KEY_LENGTH = 256
MAX_FIELD_LENGTH = 128
MAX_TTL_SECONDS = 10 * 366 * 86400
MAX_FIND_LIMIT = 100
DEFAULT_FIND_LIMIT = 20
DEFAULT_DOCUMENT_BYTES = 16 * 1024

_COLLECTION = re.compile(COLLECTION_PATTERN)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NUMBER_BYTES = 8

JsonDoc = dict[str, Any]


# -- errors ------------------------------------------------------------------------------------


class StateError(Exception):
    """Base of every state-store error; ``code`` is stable (REST problems, script errors)."""

    code = "state_error"


class InvalidStateRequest(StateError, ValueError):
    """A bad collection name, key, field, document, TTL or argument."""

    code = "invalid_request"


class InvalidStateFilter(InvalidStateRequest):
    """A filter outside the supported language (see `alloy_scripting.model.state_filter`)."""

    code = "invalid_filter"


class QuotaExceeded(StateError):
    """A write would take the tenant past one of its quotas; nothing was written."""

    code = "quota_exceeded"

    def __init__(self, quota: str, limit: int | None = None, requested: int | None = None) -> None:
        if limit is None or requested is None:  # relayed by message (worker, script)
            self.quota, self.limit, self.requested = "", 0, 0
            super().__init__(quota)
            return
        self.quota = quota
        self.limit = limit
        self.requested = requested
        super().__init__(f"state quota exceeded: {quota} would be {requested}, limit {limit}")


class StateTypeError(StateError, TypeError):
    """``incr`` on a field that is not a number, or past the 64-bit integer range."""

    code = "not_a_number"


class StateContention(StateError):
    """A write lost the race for one document too many times in a row (retry later)."""

    code = "contention"


class StateBudgetExceeded(StateError):
    """A run used up its state budget (calls or time); the run stops as ``limit_exceeded``."""

    code = "budget_exceeded"

    def __init__(self, resource: str, limit: float) -> None:
        self.resource = resource
        self.limit = limit
        unit = " ms" if resource == "time" else ""
        super().__init__(f"state budget exceeded: {resource} (limit {limit:g}{unit} per run)")


# -- quotas and results ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateQuotas:
    """Per-tenant quotas (``ALLOY_STATE_*`` settings)."""

    max_documents: int = 10_000
    max_document_bytes: int = DEFAULT_DOCUMENT_BYTES
    max_total_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StateUsage:
    documents: int
    bytes: int


@dataclass(frozen=True, slots=True)
class StateItem:
    """One stored document as the REST API and ``find`` show it."""

    collection: str
    key: str
    doc: JsonDoc
    expires_at: datetime | None
    updated_at: datetime

    def to_script(self) -> JsonDoc:
        """What a script's ``store.find`` returns per match."""
        return {"key": self.key, "doc": self.doc}


@dataclass(frozen=True, slots=True)
class StatePage:
    items: list[StateItem]
    total: int
    offset: int
    limit: int


# -- checks ------------------------------------------------------------------------------------


def check_collection(name: Any) -> str:
    if not isinstance(name, str) or not _COLLECTION.match(name):
        raise InvalidStateRequest(
            "collection names are 1-64 characters of a-z, 0-9 and _"
            + (f", not {name[:70]!r}" if isinstance(name, str) else "")
        )
    return name


def check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise InvalidStateRequest(f"a key is a string, not {type(key).__name__}")
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise InvalidStateRequest(f"keys are 1-{MAX_KEY_LENGTH} characters")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        raise InvalidStateRequest("keys must not contain control characters")
    _utf8(key, "key")
    return key


def check_field(name: Any, what: str = "field") -> str:
    """A top-level field name: no ``$`` prefix (operators), no ``.`` (paths), no NUL."""
    if not isinstance(name, str):
        raise InvalidStateRequest(f"{what} names are strings, not {type(name).__name__}")
    if not 1 <= len(name) <= MAX_FIELD_LENGTH:
        raise InvalidStateRequest(f"{what} names are 1-{MAX_FIELD_LENGTH} characters")
    if name.startswith("$"):
        raise InvalidStateRequest(f"{what} name {name[:40]!r} starts with '$' (operators only)")
    if "." in name:
        raise InvalidStateRequest(f"{what} name {name[:40]!r} contains '.' (top-level fields only)")
    if "\x00" in name:
        raise InvalidStateRequest(f"{what} names must not contain NUL")
    _utf8(name, what)
    return name


def check_ttl(ttl_seconds: Any) -> float | None:
    if ttl_seconds is None:
        return None
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int | float):
        raise InvalidStateRequest("ttl_seconds is a number of seconds or None")
    if not math.isfinite(ttl_seconds) or not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise InvalidStateRequest(f"ttl_seconds must be > 0 and <= {MAX_TTL_SECONDS}")
    return float(ttl_seconds)


def check_increment(by: Any) -> int | float:
    if isinstance(by, bool) or not isinstance(by, int | float):
        raise InvalidStateRequest("incr() takes a number to add")
    if isinstance(by, float) and not math.isfinite(by):
        raise InvalidStateRequest("incr() takes a finite number")
    if isinstance(by, int) and not _INT64_MIN <= by <= _INT64_MAX:
        raise InvalidStateRequest("incr() takes a 64-bit integer")
    return by


def check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_FIND_LIMIT:
        raise InvalidStateRequest(f"limit is an integer from 1 to {MAX_FIND_LIMIT}")
    return limit


def plain_document(doc: Any) -> JsonDoc:
    """A deep copy of ``doc`` as plain JSON (tuples become lists), or `InvalidStateRequest`.

    Field names at every level are strings without a ``$`` prefix or ``.``; values are
    None, bools, 64-bit integers, finite floats, text, lists and objects, nested at most
    `MAX_JSON_DEPTH` deep.
    """
    if not isinstance(doc, dict):
        raise InvalidStateRequest(f"a document is a JSON object (dict), not {type(doc).__name__}")
    copied = _plain(doc, "doc", 0)
    try:
        check_json(copied, "doc")
    except ValueError as exc:
        raise InvalidStateRequest(str(exc)) from None
    assert isinstance(copied, dict)
    return copied


def _plain(value: Any, where: str, depth: int) -> Any:
    if depth > MAX_JSON_DEPTH:
        raise InvalidStateRequest(f"{where}: nested deeper than {MAX_JSON_DEPTH} levels")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        out: JsonDoc = {}
        for name, item in value.items():
            if not isinstance(name, str):
                raise InvalidStateRequest(f"{where}: field names are strings")
            if name.startswith("$") or "." in name:
                raise InvalidStateRequest(
                    f"{where}: field name {name[:40]!r} must not start with '$' or contain '.'"
                )
            out[name] = _plain(item, f"{where}.{name}", depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise InvalidStateRequest(f"{where}: {type(value).__name__} is not plain JSON")


def document_size(value: Any) -> int:
    """Bytes a document counts against quotas: compact JSON, numbers at 8 bytes each."""
    if value is None:
        return 4
    if isinstance(value, bool):
        return 5
    if isinstance(value, int | float):
        return _NUMBER_BYTES
    if isinstance(value, str):
        return len(value.encode("utf-8")) + 2
    if isinstance(value, dict):
        return 2 + sum(len(k.encode("utf-8")) + 4 + document_size(v) for k, v in value.items())
    if isinstance(value, list):
        return 2 + sum(document_size(v) + 1 for v in value)
    raise InvalidStateRequest(f"{type(value).__name__} is not plain JSON")


def _utf8(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidStateRequest(f"{what} must be valid Unicode") from None


# -- idempotency -------------------------------------------------------------------------------


def write_id(base: str, index: int) -> str:
    """The idempotency key of the ``index``-th write of a run whose base is ``base``.

    ``base`` names (event, script): a redelivered event runs the same script again and makes
    the same writes in the same order, so its n-th write gets the same id and a store that
    has applied that id skips it (see the stores' docstrings for how long they remember).
    """
    return hashlib.sha256(f"{base}\x00{index}".encode()).hexdigest()[:24]


def idempotency_base(event_id: str, script_id: str) -> str:
    """The base of a run's write ids: the same event and script give the same ids, whatever
    the script's version when the event comes again."""
    return f"{event_id}\x00{script_id}"
