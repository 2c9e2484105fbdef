"""`json`: `loads` and `dumps` bounded by the string limit and nesting, through plain data."""

from __future__ import annotations

import json as _json
from typing import Any

from alloy_scripting.engine.errors import LimitExceeded
from alloy_scripting.engine.guards import Guards
from alloy_scripting.engine.toolbox.base import Namespace
from alloy_scripting.engine.values import to_plain


class JsonNamespace(Namespace):
    SANDBOX_ATTRS = frozenset({"dumps", "loads"})
    SANDBOX_NAME = "json"

    def __init__(self, guards: Guards) -> None:
        self._guards = guards

    def dumps(
        self,
        obj: Any,
        *,
        indent: int | None = None,
        sort_keys: bool = False,
        ensure_ascii: bool = True,
        separators: tuple[str, str] | None = None,
    ) -> str:
        limit = self._guards.max_str
        plain = to_plain(
            obj,
            limit,
            "string_size",
            max_depth=self._guards.config.max_nesting,
            what="json.dumps()",
        )
        if indent is not None and (not isinstance(indent, int) or not 0 <= indent <= 8):
            raise ValueError("json.dumps() indent must be an int between 0 and 8")
        if separators is not None:
            if not (
                isinstance(separators, (tuple, list))
                and len(separators) == 2
                and all(isinstance(part, str) and len(part) <= 4 for part in separators)
            ):
                raise ValueError("json.dumps() separators must be two short strings")
            separators = (separators[0], separators[1])
        text = _json.dumps(
            plain,
            allow_nan=False,
            indent=indent,
            sort_keys=bool(sort_keys),
            ensure_ascii=bool(ensure_ascii),
            separators=separators,
        )
        if len(text) > limit:
            raise LimitExceeded("string_size", "json.dumps() output exceeds the string limit")
        return text

    def loads(self, text: str) -> Any:
        if not isinstance(text, str):
            raise TypeError("json.loads() argument must be str")
        if len(text) > self._guards.max_str:
            raise LimitExceeded("string_size", "json.loads() input exceeds the string limit")
        if not _json_nesting_ok(text, self._guards.config.max_nesting):
            raise ValueError(
                f"json.loads(): nested deeper than {self._guards.config.max_nesting} levels"
            )
        value = _json.loads(text)
        _check_sizes(value, self._guards)
        return value


def _json_nesting_ok(text: str, limit: int) -> bool:
    """Checked before parsing: the C decoder recurses once per level. One pass over the
    text (a regular expression for strings backtracks quadratically on an unterminated
    string full of escaped quotes)."""
    if text.count("[") + text.count("{") <= limit:
        return True
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "[" or char == "{":
            depth += 1
            if depth > limit:
                return False
        elif char == "]" or char == "}":
            depth -= 1
    return True


def _check_sizes(value: Any, guards: Guards) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is int:
            guards.check_int(item)
        elif isinstance(item, dict):
            guards.check_size(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            guards.check_size(item)
            stack.extend(item)
