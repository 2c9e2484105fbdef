"""What a script author can use and bind to: the helper catalogue and the entity types.

`helper_catalogue()` is generated from the helper registry (`bridge.helpers.REGISTRY`):
names, signatures, descriptions and phases come from the functions themselves, so the
catalogue cannot drift from what the engine binds. Reserved helpers (no backing service
yet) are listed as not available.

`entity_types(scripts)` lists the entity types the tenant's scripts are bound to, with their
events, beside every event name the service accepts.
"""

from __future__ import annotations

import inspect
from collections import defaultdict

from pydantic import BaseModel, Field

from alloy_scripting.bridge.helpers import REGISTRY, HelperSpec, is_reserved
from alloy_scripting.model.enums import EventType, ExecutionPhase, ScriptStatus
from alloy_scripting.model.page import ScriptQuery
from alloy_scripting.model.script import EventTrigger
from alloy_scripting.storage.registry import MAX_PAGE_LIMIT, ScriptRegistry

#: Most scripts `entity_types` reads; a tenant with more sees the first ones by name.
MAX_SCANNED_SCRIPTS = 20_000

RESERVED_DESCRIPTION = (
    "Reserved: not configured on this service (the HTTP bridge is not built yet); "
    "a call fails with 'HTTP helpers are not configured on this service'."
)


class HelperInfo(BaseModel):
    name: str
    signature: str = Field(description="How a script calls it, e.g. `validate_length(value, …)`.")
    description: str
    phases: list[ExecutionPhase] = Field(description="The phases in which it may be called.")
    available: bool = Field(description="False for reserved helpers with no backing service.")


class EntityTypeInfo(BaseModel):
    name: str
    events: list[EventType] = Field(description="Events scripts are bound to, in event order.")
    scripts: int = Field(description="Scripts bound to this entity type.")
    active_scripts: int = Field(description="Of those, the active ones.")


class EntityTypeListing(BaseModel):
    entity_types: list[EntityTypeInfo] = Field(description="Sorted by name.")
    accepted_events: list[EventType] = Field(description="Every event the service accepts.")


def _signature(spec: HelperSpec) -> str:
    if is_reserved(spec):
        return f"{spec.name}(...)"
    parameters = list(inspect.signature(spec.function).parameters.values())
    if spec.needs_host:
        parameters = parameters[1:]  # the host is bound by the engine, not passed by scripts
    shown = [p.replace(annotation=inspect.Parameter.empty) for p in parameters]
    return spec.name + str(inspect.Signature(shown))


def _description(spec: HelperSpec) -> str:
    if is_reserved(spec):
        return RESERVED_DESCRIPTION
    doc = inspect.getdoc(spec.function) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def helper_catalogue() -> list[HelperInfo]:
    """Every helper of the registry, in registry order."""
    return [
        HelperInfo(
            name=spec.name,
            signature=_signature(spec),
            description=_description(spec),
            phases=[phase for phase in ExecutionPhase if phase in spec.phases],
            available=not is_reserved(spec),
        )
        for spec in REGISTRY.values()
    ]


async def entity_types(scripts: ScriptRegistry) -> EntityTypeListing:
    """The entity types the (tenant-scoped) registry's event scripts are bound to."""
    events: dict[str, set[EventType]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    active: dict[str, int] = defaultdict(int)
    query = ScriptQuery(trigger_type="event")
    offset = 0
    while offset < MAX_SCANNED_SCRIPTS:
        page = await scripts.find_paginated(query, offset, MAX_PAGE_LIMIT)
        for script in page.items:
            trigger = script.trigger
            if isinstance(trigger, EventTrigger):
                events[trigger.entity_type].add(trigger.event)
                counts[trigger.entity_type] += 1
                active[trigger.entity_type] += script.status is ScriptStatus.ACTIVE
        offset += MAX_PAGE_LIMIT
        if offset >= page.total or not page.items:
            break
    return EntityTypeListing(
        entity_types=[
            EntityTypeInfo(
                name=name,
                events=[event for event in EventType if event in events[name]],
                scripts=counts[name],
                active_scripts=active[name],
            )
            for name in sorted(events)
        ],
        accepted_events=list(EventType),
    )
