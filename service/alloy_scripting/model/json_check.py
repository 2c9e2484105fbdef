"""What JSON parsers accept but storage, scripts and answers cannot carry.

Checked at every edge that takes free-form JSON: REST bodies and the `data`/`before` of
entity events from Kafka (whose parser, like most, accepts `NaN` and `Infinity`).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

#: Deepest nesting accepted in free-form JSON (``params``, ``entity``, event data).
MAX_JSON_DEPTH = 32
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

__all__ = ["MAX_JSON_DEPTH", "CheckedJsonModel", "check_json"]


def check_json(value: Any, path: str = "", depth: int = 0) -> None:
    """Refuse what JSON parsers accept but storage, scripts or responses cannot carry:
    NUL characters, lone surrogates, non-finite floats, integers beyond 64 bits, deep nesting."""
    where = path or "body"
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"{where}: nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"{where}: integer out of the 64-bit range")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: number must be finite")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                _check_text(key, f"{where} key")
            check_json(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_json(item, f"{where}[{index}]", depth + 1)


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise ValueError(f"{where}: text must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{where}: text must be valid Unicode (no lone surrogates)") from None


class CheckedJsonModel(BaseModel):
    """A pydantic model whose input is checked by `check_json` first; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _safe_json(cls, data: Any) -> Any:
        check_json(data)
        return data
