"""`ctx`: the read-only run context a script sees."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from alloy_scripting.engine.entity import copy_json

_FIELDS = ("phase", "event", "entity_type", "entity_id", "tenant_id", "user_id", "script", "now")


class ScriptContext:
    """`ctx.phase`, `ctx.event`, `ctx.entity_type`, `ctx.entity_id`, `ctx.tenant_id`,
    `ctx.user_id`, `ctx.script` (the script's name), `ctx.now` (aware UTC datetime taken at
    the start of the run) and `ctx.get(key, default)` for those and any extra context keys."""

    __slots__ = ("_extra", *_FIELDS)

    SANDBOX_ATTRS = frozenset({*_FIELDS, "get"})

    phase: str
    event: str | None
    entity_type: str | None
    entity_id: str | None
    tenant_id: str | None
    user_id: str | None
    script: str | None
    now: _dt.datetime
    _extra: dict[str, Any]

    def __init__(self, values: Mapping[str, Any], now: _dt.datetime) -> None:
        extra: dict[str, Any] = {}
        for key, value in values.items():
            name = str(key)
            if name in _FIELDS and name != "now":
                object.__setattr__(self, name, None if value is None else _text(value))
            elif not name.startswith("_"):
                extra[name] = copy_json(value)
        for name in _FIELDS:
            if not hasattr(self, name):
                object.__setattr__(self, name, None)
        object.__setattr__(self, "now", now)
        object.__setattr__(self, "_extra", extra)

    def get(self, key: str, default: Any = None) -> Any:
        if key in _FIELDS:
            value = getattr(self, key)
            return default if value is None else value
        value = self._extra.get(key, default)
        return copy_json(value) if isinstance(value, (dict, list)) else value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ctx is read-only")

    def sandbox_text(self, as_repr: bool) -> str:
        return "<ctx>"

    def __repr__(self) -> str:
        return "<ctx>"


def _text(value: Any) -> str:
    return value.value if hasattr(value, "value") and isinstance(value.value, str) else str(value)
