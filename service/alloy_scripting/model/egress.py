"""A tenant's egress rules: the hosts its scripts' HTTP calls may reach.

Entries are kept as strings in canonical form; their grammar, parsing and matching belong to
the HTTP bridge (`alloy_scripting.bridge.http.allowlist`). No entries: deny everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class EgressRules:
    tenant_id: str | None
    allow: tuple[str, ...] = ()
    updated_at: datetime | None = None
    updated_by: str | None = None
