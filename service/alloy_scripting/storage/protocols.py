"""The storage protocols. `memory` and `mongo` implement each of them; one contract suite
(``tests/storage_contract.py``) holds both to the same behaviour.

Tenancy: every store except the tick ledger and the processed-event set is *scoped* to a
tenant. The unscoped store is the default tenant (``tenant_id is None``); ``for_tenant``
returns a view on the same data scoped to another tenant. Every query and every write
filters by the scope's tenant: another tenant's script is indistinguishable from a missing
one (`ScriptNotFound`). The one deliberate exception is `ScriptRegistry.find_active_cron`,
which lists the cron scripts of *all* tenants for the (global) scheduler; run them through
``registry.for_tenant(script.tenant_id)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from alloy_scripting.model.egress import EgressRules
from alloy_scripting.model.enums import EventType
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.page import ExecutionPage, ExecutionQuery, ScriptPage, ScriptQuery
from alloy_scripting.model.script import FailureOutcome, LastError, Script, ScriptVersion
from alloy_scripting.model.shadow import Shadow, ShadowTally
from alloy_scripting.model.stats import ScriptStats, StatsWindow
from alloy_scripting.model.templates import Template

#: Largest page a single ``find_paginated`` / ``find_by_script`` call returns.
MAX_PAGE_LIMIT = 1000
DEFAULT_PROCESSED_TTL_SECONDS = 7 * 24 * 3600
DEFAULT_TICK_RETENTION_DAYS = 7


@runtime_checkable
class ScriptRegistry(Protocol):
    """Scripts of one tenant.

    Concurrency: ``save`` is optimistic on `Script.revision` (see `alloy_scripting.model.script`):
    the caller's revision must equal the stored one, else `VersionConflict`. A script with
    ``revision == 0`` (never saved, e.g. from `Script.new`) is inserted. ``save`` writes the
    definition and lifecycle fields (name, description, source, trigger, status, priority,
    on_error, disabled_*, updated_by); it never writes the runtime counters ``error_count`` /
    ``last_error`` (owned by ``record_*``) except that a transition to ``active`` resets
    ``error_count``. It returns the stored script; the argument is not modified.
    """

    @property
    def tenant_id(self) -> str | None: ...

    @property
    def failure_threshold(self) -> int: ...

    def for_tenant(self, tenant_id: str | None) -> ScriptRegistry:
        """The same storage scoped to ``tenant_id`` (None = the default tenant)."""
        ...

    async def ensure_indexes(self) -> None:
        """Create the indexes the queries need; idempotent."""
        ...

    async def save(self, script: Script) -> Script:
        """Insert (``revision == 0``) or update with optimistic concurrency.

        Raises `DuplicateScriptName`, `VersionConflict`, `ScriptNotFound` (updating a script
        that is not in this tenant), `TenantMismatch` (inserting another tenant's script).
        A change of source or trigger bumps ``version`` and records a `ScriptVersion`.
        """
        ...

    async def get(self, script_id: str) -> Script:
        """Raises `ScriptNotFound`."""
        ...

    async def get_by_name(self, name: str) -> Script:
        """Raises `ScriptNotFound`."""
        ...

    async def delete(self, script_id: str, *, expected_revision: int | None = None) -> None:
        """Delete the script and its version records. Raises `ScriptNotFound`,
        `VersionConflict` (when ``expected_revision`` is given and stale)."""
        ...

    async def find_by_trigger(self, entity_type: str, event: EventType | str) -> list[Script]:
        """Active scripts of this tenant bound to (entity_type, event), by priority then name."""
        ...

    async def find_active_cron(self) -> list[Script]:
        """Active cron scripts of **every** tenant (for the scheduler), by tenant then name."""
        ...

    async def find_paginated(
        self, query: ScriptQuery | None = None, offset: int = 0, limit: int = 50
    ) -> ScriptPage:
        """Scripts matching ``query``, sorted by name, with the total count."""
        ...

    async def record_success(self, script_id: str) -> None:
        """Reset the consecutive-failure counter (no write when it is already 0;
        silently nothing for an unknown script)."""
        ...

    async def record_failure(self, script_id: str, error: str | LastError) -> FailureOutcome:
        """Atomically count one more consecutive failure. At ``failure_threshold`` an active
        script is disabled; exactly one concurrent caller sees ``disabled=True``.
        Raises `ScriptNotFound`."""
        ...

    async def reset(self, script_id: str, *, updated_by: str | None = None) -> Script:
        """Re-enable: ``status=active``, ``error_count=0``, clears the disable. Raises
        `ScriptNotFound`."""
        ...

    async def list_versions(self, script_id: str) -> list[ScriptVersion]:
        """Every version record of the script, oldest first. Raises `ScriptNotFound`."""
        ...

    async def get_version(self, script_id: str, version: int) -> ScriptVersion:
        """Raises `ScriptNotFound`, `VersionNotFound`."""
        ...

    async def rollback(
        self,
        script_id: str,
        version: int,
        *,
        expected_revision: int | None = None,
        updated_by: str | None = None,
    ) -> Script:
        """Make the definition of ``version`` current again, as a new version.
        Raises `ScriptNotFound`, `VersionNotFound`, `VersionConflict`."""
        ...


@runtime_checkable
class ExecutionLog(Protocol):
    """The audit trail of script runs (``script_executions``), scoped to a tenant for reads.

    ``append`` stores the record as given (its own ``tenant_id`` decides who can read it).
    Records older than ``retention_days`` are removed by a TTL index where the server has
    one, and by ``purge_expired`` everywhere (call it periodically).
    """

    @property
    def tenant_id(self) -> str | None: ...

    @property
    def retention_days(self) -> int: ...

    def for_tenant(self, tenant_id: str | None) -> ExecutionLog: ...

    async def ensure_indexes(self) -> None: ...

    async def append(self, record: ExecutionRecord) -> None:
        """Store one record; appending a record id that is already stored is a no-op."""
        ...

    async def append_many(self, records: list[ExecutionRecord]) -> None:
        """Store several records in one round trip (same idempotency as ``append``)."""
        ...

    async def find_by_script(
        self,
        script_id: str,
        offset: int = 0,
        limit: int = 50,
        query: ExecutionQuery | None = None,
    ) -> ExecutionPage:
        """This tenant's records of one script matching `query`, newest first, with the
        total count: `find` with `query.script_id` set to `script_id`."""
        ...

    async def find(self, query: ExecutionQuery, offset: int = 0, limit: int = 50) -> ExecutionPage:
        """This tenant's records matching `query`, newest first, with the total count."""
        ...

    async def get(self, record_id: str) -> ExecutionRecord | None:
        """This tenant's record `record_id` (None if absent or another tenant's)."""
        ...

    async def stats(
        self, script_id: str, window: StatsWindow, now: datetime | None = None
    ) -> ScriptStats:
        """Run statistics of one script over `window` ending at `now`."""
        ...

    async def purge_expired(self, now: datetime | None = None) -> int:
        """Delete the records started before ``now - retention_days``; returns how many."""
        ...


@runtime_checkable
class ProcessedEvents(Protocol):
    """Keys of events already handled (Kafka redelivery dedup), each with an optional small
    result (e.g. the `HookOutcome` of a before-request, to answer a redelivery identically).
    Global (not tenant-scoped): put the tenant in the key if keys may collide."""

    async def ensure_indexes(self) -> None: ...

    async def mark(
        self,
        key: str,
        *,
        ttl_seconds: float = DEFAULT_PROCESSED_TTL_SECONDS,
        result: dict[str, Any] | None = None,
    ) -> bool:
        """Record ``key``; True when it was new (or expired), False when already present."""
        ...

    async def get(self, key: str) -> dict[str, Any] | None:
        """The result stored with ``key`` (``{}`` when marked without one), or None when the
        key is absent or expired."""
        ...

    async def release(self, key: str) -> bool:
        """Forget ``key`` (e.g. processing failed and a redelivery must run again)."""
        ...

    async def mark_many(
        self,
        entries: Mapping[str, dict[str, Any] | None],
        *,
        ttl_seconds: float = DEFAULT_PROCESSED_TTL_SECONDS,
    ) -> None:
        """Record many keys (each with its optional result) in one round; keys already
        present are left as they are."""
        ...

    async def watermark(self, partition: str) -> int | None:
        """The highest offset of ``partition`` ("<group>:<topic>:<n>") that a consumer may
        have started to handle, or None. Records above it were never seen by anyone."""
        ...

    async def set_watermark(self, partition: str, offset: int) -> None:
        """Raise the watermark of ``partition`` to ``offset`` (never lowers it)."""
        ...

    async def purge_expired(self, now: datetime | None = None) -> int: ...


@runtime_checkable
class TickLedger(Protocol):
    """Claims of scheduler ticks: each (script, scheduled time) is claimed once across all
    instances. Scheduled times are compared as instants (normalised to UTC)."""

    @property
    def retention_days(self) -> int: ...

    async def ensure_indexes(self) -> None: ...

    async def claim(self, script_id: str, scheduled_at: datetime, instance: str) -> bool:
        """True for exactly one caller per (script_id, scheduled_at)."""
        ...

    async def last_claimed(self, script_id: str) -> datetime | None:
        """The latest scheduled time claimed for the script (for misfire handling)."""
        ...

    async def purge_expired(self, now: datetime | None = None) -> int:
        """Delete the claims of ticks scheduled before ``now - retention_days``."""
        ...


@runtime_checkable
class EgressStore(Protocol):
    """Per-tenant egress rules (the HTTP bridge's allow-lists), stored as given: the API
    checks and canonicalises entries before a `put`."""

    async def get(self, tenant_id: str | None) -> EgressRules:
        """The tenant's rules; no entries when none are stored (deny by default)."""
        ...

    async def put(
        self, tenant_id: str | None, allow: Sequence[str], *, updated_by: str | None = None
    ) -> EgressRules:
        """Replace the tenant's entries; returns what is stored."""
        ...


class ShadowStore(Protocol):
    """Shadow runs (`model.shadow`): at most one per script, tenant-scoped (another
    tenant's is absent), and the tallies each instance writes for it (one document per
    (shadow, instance): a single writer each, so no update is lost without transactions)."""

    async def ensure_indexes(self) -> None: ...

    async def put(self, shadow: Shadow) -> None:
        """Start (or replace) the shadow of ``shadow.script_id``."""
        ...

    async def get(self, tenant_id: str | None, script_id: str) -> Shadow | None: ...

    async def delete(self, tenant_id: str | None, script_id: str) -> Shadow | None:
        """End it; returns what was stored (None when there was none)."""
        ...

    async def of_tenant(self, tenant_id: str | None) -> list[Shadow]:
        """Every shadow of the tenant (expired ones included)."""
        ...

    async def save_tally(self, shadow_id: str, instance: str, tally: ShadowTally) -> None: ...

    async def tallies(self, shadow_id: str) -> dict[str, ShadowTally]:
        """By instance."""
        ...

    async def drop_tallies(self, shadow_id: str) -> None: ...


@runtime_checkable
class TemplateStore(Protocol):
    """Templates published by tenants (the built-in ones ship with the package). Every call
    names the tenant: another tenant's template is not found, and listing is per tenant."""

    async def ensure_indexes(self) -> None: ...

    async def list_templates(self, tenant_id: str) -> list[Template]:
        """The tenant's templates, by id."""
        ...

    async def get(self, tenant_id: str, template_id: str) -> Template | None: ...

    async def publish(self, template: Template) -> Template:
        """Store `template` for its owner: version 1 when new, else the stored version + 1
        (``created_at`` kept). Raises `TemplateConflict` when another publication of the same
        id got there first."""
        ...

    async def delete(self, tenant_id: str, template_id: str) -> bool:
        """True when the tenant had that template."""
        ...


class Stores(Protocol):
    """The stores over one database, as the service wires them."""

    @property
    def scripts(self) -> ScriptRegistry: ...

    @property
    def executions(self) -> ExecutionLog: ...

    @property
    def processed(self) -> ProcessedEvents: ...

    @property
    def ticks(self) -> TickLedger: ...

    @property
    def egress(self) -> EgressStore: ...

    @property
    def shadows(self) -> ShadowStore: ...

    @property
    def templates(self) -> TemplateStore: ...

    async def ensure_indexes(self) -> None: ...

    async def purge_expired(self, now: datetime | None = None) -> dict[str, int]:
        """Purge every store; returns the deleted counts by store name."""
        ...

    async def close(self) -> None: ...


def check_page(offset: int, limit: int) -> None:
    if offset < 0:
        raise ValueError("offset must be >= 0")
    if limit < 0 or limit > MAX_PAGE_LIMIT:
        raise ValueError(f"limit must be between 0 and {MAX_PAGE_LIMIT}")
