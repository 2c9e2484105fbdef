"""What a script author can use and bind to: the helper catalogue, the events, the entity types.

`helper_catalogue()` is generated from the helper registry (`bridge.registry.REGISTRY`):
names, signatures, descriptions and phases come from the functions themselves, so the
catalogue cannot drift from what the engine binds. Reserved helpers (`HelperSpec.reserved`)
are listed as not available. `event_catalogue()` is generated from `EventType`.

`entity_types(find_page)` lists the entity types the caller's scripts are bound to, with their
events, beside every event name the service accepts. Shared by the GraphQL schema and the MCP
tools (each renders it its own way).
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from pydantic import BaseModel, Field

from alloy_scripting.bridge.host import HelperSpec
from alloy_scripting.bridge.registry import REGISTRY
from alloy_scripting.model.enums import EventType, ExecutionPhase, ScriptStatus
from alloy_scripting.model.page import ScriptQuery
from alloy_scripting.model.script import EventTrigger, Script

#: Most scripts `entity_types` reads; a tenant with more sees the first ones by name.
MAX_SCANNED_SCRIPTS = 20_000
#: Page size of that scan (within the REST bound, so a remote lister accepts it too).
SCAN_PAGE = 200

RESERVED_DESCRIPTION = (
    "Reserved for the HTTP bridge, which is not built yet: every call fails with "
    '"HTTP helpers are not configured on this service". Do not use it.'
)


class HelperInfo(BaseModel):
    name: str = Field(description="The name a script calls.")
    signature: str = Field(description="How a script calls it, e.g. `validate_length(value, …)`.")
    returns: str | None = Field(
        default=None, description="What it returns (its annotation), when declared."
    )
    description: str = Field(description="What it does and returns.")
    phases: list[ExecutionPhase] = Field(
        description="The phases it is available in; elsewhere using it is a validation error."
    )
    available: bool = Field(description="False for reserved helpers with no backing service.")

    @property
    def typed_signature(self) -> str:
        """The signature with its return type, e.g. `validate_pattern(value, pattern) -> bool`."""
        return self.signature if self.returns is None else f"{self.signature} -> {self.returns}"


class EventInfo(BaseModel):
    name: EventType = Field(description="The event name, as in an event trigger.")
    phase: ExecutionPhase = Field(description="The phase scripts bound to it run in.")
    operation: str = Field(description="`create`, `update` or `delete`.")
    has_before_image: bool = Field(description="Whether scripts see `entity_before`.")


class EntityTypeInfo(BaseModel):
    name: str
    events: list[EventType] = Field(description="Events scripts are bound to, in event order.")
    scripts: int = Field(description="Scripts bound to this entity type.")
    active_scripts: int = Field(description="Of those, the active ones.")


class EntityTypeListing(BaseModel):
    entity_types: list[EntityTypeInfo] = Field(description="Sorted by name.")
    accepted_events: list[EventType] = Field(description="Every event the service accepts.")


def _signature(spec: HelperSpec) -> str:
    if spec.reserved:
        return f"{spec.name}(...)"
    parameters = list(inspect.signature(spec.function).parameters.values())
    if spec.needs_host:
        parameters = parameters[1:]  # the host is bound by the engine, not passed by scripts
    shown = [p.replace(annotation=inspect.Parameter.empty) for p in parameters]
    return spec.name + str(inspect.Signature(shown))


def _returns(spec: HelperSpec) -> str | None:
    returns = inspect.signature(spec.function).return_annotation
    if spec.reserved or returns in (inspect.Signature.empty, "Any"):
        return None
    return str(returns)


def _description(spec: HelperSpec) -> str:
    if spec.reserved:
        return RESERVED_DESCRIPTION
    doc = inspect.getdoc(spec.function) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def helper_catalogue() -> list[HelperInfo]:
    """Every helper of the registry, in registry order."""
    return [
        HelperInfo(
            name=spec.name,
            signature=_signature(spec),
            returns=_returns(spec),
            description=_description(spec),
            phases=[phase for phase in ExecutionPhase if phase in spec.phases],
            available=not spec.reserved,
        )
        for spec in REGISTRY.values()
    ]


def event_catalogue() -> list[EventInfo]:
    """Every event the service accepts, in event order."""
    return [
        EventInfo(
            name=event,
            phase=event.phase,
            operation=event.operation,
            has_before_image=event.has_before_image,
        )
        for event in EventType
    ]


class ScriptPageLike(Protocol):
    @property
    def items(self) -> Sequence[Script]: ...

    @property
    def total(self) -> int: ...


FindScripts = Callable[[ScriptQuery, int, int], Awaitable[ScriptPageLike]]
"""Lists the caller's scripts: `(query, offset, limit)`, e.g. a tenant registry's
`find_paginated` or an MCP backend's `list_scripts`."""


async def entity_types(find_page: FindScripts) -> EntityTypeListing:
    """The entity types the caller's event scripts (read through `find_page`) are bound to."""
    events: dict[str, set[EventType]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    active: dict[str, int] = defaultdict(int)
    query = ScriptQuery(trigger_type="event")
    offset = 0
    while offset < MAX_SCANNED_SCRIPTS:
        page = await find_page(query, offset, SCAN_PAGE)
        for script in page.items:
            trigger = script.trigger
            if isinstance(trigger, EventTrigger):
                events[trigger.entity_type].add(trigger.event)
                counts[trigger.entity_type] += 1
                active[trigger.entity_type] += script.status is ScriptStatus.ACTIVE
        offset += SCAN_PAGE
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
