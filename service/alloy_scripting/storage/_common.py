"""Helpers shared by the in-memory and the MongoDB stores (the lifecycle rules themselves
are in `model.lifecycle`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alloy_scripting.model.script import Script, to_utc_ms, utc_now
from alloy_scripting.storage.errors import TenantMismatch


def scoped(script: Script, tenant_id: str | None) -> Script:
    """``script`` stamped with the registry's tenant, or `TenantMismatch`."""
    if script.tenant_id == tenant_id:
        return script
    if script.tenant_id is None:
        return script.model_copy(update={"tenant_id": tenant_id})
    raise TenantMismatch(script.tenant_id, tenant_id)


def cutoff(now: datetime | None, days: int) -> datetime:
    return (now.astimezone(UTC) if now else utc_now()) - timedelta(days=days)


def tick_key(script_id: str, scheduled_at: datetime) -> tuple[str, datetime]:
    """The ledger key of a tick and its normalised instant (UTC, milliseconds)."""
    instant = to_utc_ms(scheduled_at)
    return f"{script_id}:{instant.isoformat()}", instant
