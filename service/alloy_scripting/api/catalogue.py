"""What a script author can bind to and call, generated from the code that decides it: the
helper catalogue from the helper registry (`bridge.helpers.REGISTRY`), the events from
`EventType`, so neither can drift from what the engine enforces. Shared by the MCP tools
and resources (and meant for the GraphQL schema too).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from pydantic import BaseModel, Field

from alloy_scripting.bridge.helpers import REGISTRY, HelperSpec
from alloy_scripting.model.enums import EventType, ExecutionPhase
from alloy_scripting.model.script import EventTrigger, Script

RESERVED_NOTE = (
    "Reserved for the HTTP bridge, which is not built yet: every call fails with "
    '"HTTP helpers are not configured on this service". Do not use it.'
)


class HelperInfo(BaseModel):
    name: str = Field(description="The name a script calls.")
    signature: str = Field(description="How to call it, e.g. `validate_length(value, min, max)`.")
    description: str = Field(description="What it does and returns.")
    phases: list[ExecutionPhase] = Field(
        description="The phases it is available in; elsewhere using it is a validation error."
    )
    available: bool = Field(
        description="False for a reserved name that fails on every call (not usable yet)."
    )


class EventInfo(BaseModel):
    name: EventType = Field(description="The event name, as in an event trigger.")
    phase: ExecutionPhase = Field(description="The phase scripts bound to it run in.")
    operation: str = Field(description="`create`, `update` or `delete`.")
    has_before_image: bool = Field(description="Whether scripts see `entity_before`.")


class EntityTypeInfo(BaseModel):
    entity_type: str
    events: list[EventType] = Field(description="Events scripts of this entity type are bound to.")
    scripts: int = Field(description="How many event-triggered scripts are bound to it.")


class EntityTypes(BaseModel):
    entity_types: list[EntityTypeInfo] = Field(
        description="Entity types the caller's event-triggered scripts are bound to."
    )
    events: list[EventInfo] = Field(description="Every event name the service accepts.")


def _signature(spec: HelperSpec) -> str:
    if spec.reserved:
        return f"{spec.name}(...)"
    parameters = list(inspect.signature(spec.function).parameters.values())
    if spec.needs_host:
        parameters = parameters[1:]  # the run's host, bound by the engine
    shown = [
        p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
        for p in parameters
    ]
    returns = inspect.signature(spec.function).return_annotation
    suffix = "" if returns in (inspect.Signature.empty, "Any") else f" -> {returns}"
    return f"{spec.name}({', '.join(shown)}){suffix}"


def _description(spec: HelperSpec) -> str:
    if spec.reserved:
        return RESERVED_NOTE
    doc = inspect.getdoc(spec.function) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def helper_catalogue() -> list[HelperInfo]:
    """Every registered helper, in registry order."""
    return [
        HelperInfo(
            name=spec.name,
            signature=_signature(spec),
            description=_description(spec),
            phases=[phase for phase in ExecutionPhase if phase in spec.phases],
            available=not spec.reserved,
        )
        for spec in REGISTRY.values()
    ]


def event_catalogue() -> list[EventInfo]:
    return [
        EventInfo(
            name=event,
            phase=event.phase,
            operation=event.operation,
            has_before_image=event.has_before_image,
        )
        for event in EventType
    ]


def entity_types(scripts: Iterable[Script]) -> EntityTypes:
    """The entity types `scripts` are bound to (with their events), and every event name."""
    bound: dict[str, tuple[set[EventType], list[int]]] = {}
    for script in scripts:
        trigger = script.trigger
        if isinstance(trigger, EventTrigger):
            events, count = bound.setdefault(trigger.entity_type, (set(), [0]))
            events.add(trigger.event)
            count[0] += 1
    order = list(EventType)
    return EntityTypes(
        entity_types=[
            EntityTypeInfo(
                entity_type=name, events=sorted(events, key=order.index), scripts=count[0]
            )
            for name, (events, count) in sorted(bound.items())
        ],
        events=event_catalogue(),
    )
