"""`StateStore`: what the state bridge needs from a per-tenant document store; the stores
(`storage.state_memory.InMemoryStateStore`, `storage.mongo.state.MongoStateStore`) provide
it, and ``tests/state_contract.py`` holds both to it. Declared here, below storage, so that
the bridge depends on no store.

Every method takes the tenant first: the bridge passes the run's tenant, the REST API the
caller's, so nothing a script or a request body says can select another tenant. Names,
keys, documents and filters are checked with `alloy_scripting.model.state`; a write past a
quota raises `QuotaExceeded` and writes nothing.

Writes may carry a ``write_id`` (`alloy_scripting.model.state.write_id`): a store applies
each id at most once per document, so a redelivered event does not apply its writes
twice. Expired documents are invisible at once; ``purge_expired`` removes them (and frees
their quota) when called periodically.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from alloy_scripting.model.state import JsonDoc, StateItem, StatePage, StateQuotas, StateUsage
from alloy_scripting.model.state_filter import SortField, StateFilter


class StateStore(Protocol):
    @property
    def quotas(self) -> StateQuotas: ...

    async def ensure_indexes(self) -> None: ...

    async def get(self, tenant_id: str | None, collection: str, key: str) -> StateItem | None:
        """The document if it exists and has not expired."""
        ...

    async def find(
        self,
        tenant_id: str | None,
        collection: str,
        where: StateFilter,
        *,
        limit: int,
        sort: tuple[SortField, ...] = (),
    ) -> list[StateItem]:
        """Matching live documents, sorted by ``sort`` then by key."""
        ...

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
        """Create or replace; False when ``write_id`` was applied already (nothing done)."""
        ...

    async def delete(
        self,
        tenant_id: str | None,
        collection: str,
        key: str,
        *,
        write_id: str | None = None,
    ) -> bool:
        """True when a live document was deleted."""
        ...

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
        """Add ``by`` to a top-level number (a missing document or field counts as 0)
        atomically; the new value. A ``write_id`` applied already returns the current one."""
        ...

    async def list_documents(
        self, tenant_id: str | None, collection: str, *, offset: int = 0, limit: int = 50
    ) -> StatePage:
        """Live documents of one collection by key (the REST listing)."""
        ...

    async def usage(self, tenant_id: str | None) -> StateUsage: ...

    async def purge_expired(self, now: datetime | None = None) -> int:
        """Delete expired documents (and old tombstones); how many were removed."""
        ...
